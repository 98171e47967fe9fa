/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "network/address.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ipv4_parse(const char *s, uint32_t *ret) {
        struct in_addr a;
        /* inet_pton takes only the dotted quad: no "010", no "1.2.3". */
        if (!s || inet_pton(AF_INET, s, &a) != 1)
                return -EINVAL;
        *ret = ntohl(a.s_addr);
        return 0;
}

void ipv4_format(uint32_t a, char *buf, size_t n) {
        snprintf(buf, n, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

static uint32_t mask_of(unsigned prefix) {
        return prefix == 0 ? 0 : UINT32_MAX << (32 - prefix);
}

uint32_t ipv4_subnet_network(const Ipv4Subnet *s) {
        return s->address & mask_of(s->prefix);
}

uint32_t ipv4_subnet_broadcast(const Ipv4Subnet *s) {
        return ipv4_subnet_network(s) | ~mask_of(s->prefix);
}

int ipv4_subnet_parse(const char *s, Ipv4Subnet *ret) {
        char buf[32];
        const char *slash = s ? strchr(s, '/') : NULL;
        if (!slash || (size_t) (slash - s) >= sizeof buf)
                return -EINVAL;
        memcpy(buf, s, (size_t) (slash - s));
        buf[slash - s] = 0;
        Ipv4Subnet n;
        if (ipv4_parse(buf, &n.address) < 0)
                return -EINVAL;
        char *end;
        if (slash[1] < '0' || slash[1] > '9')
                return -EINVAL;
        unsigned long p = strtoul(slash + 1, &end, 10);
        if (*end || p < 8 || p > 30)
                return -EINVAL;
        n.prefix = (unsigned) p;
        if (n.address == ipv4_subnet_network(&n) || n.address == ipv4_subnet_broadcast(&n))
                return -EINVAL;
        *ret = n;
        return 0;
}

uint32_t ipv4_subnet_guest_count(const Ipv4Subnet *s) {
        /* Hosts are network+1 … broadcast-1; one of them is the gateway. */
        return (ipv4_subnet_broadcast(s) - ipv4_subnet_network(s) - 1) - 1;
}

uint32_t ipv4_subnet_guest_address(const Ipv4Subnet *s, uint32_t i) {
        uint32_t a = ipv4_subnet_network(s) + 1 + i;
        return a >= s->address ? a + 1 : a;
}

bool ipv4_subnet_contains(const Ipv4Subnet *s, uint32_t a) {
        return (a & mask_of(s->prefix)) == ipv4_subnet_network(s);
}
