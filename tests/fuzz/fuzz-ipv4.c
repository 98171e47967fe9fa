/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ipv4_parse, ipv4_subnet_parse and the arithmetic on what they accept. */
#include "network/address.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_string(data, size);
        uint32_t a;
        if (ipv4_parse(s, &a) >= 0) {
                char buf[16];
                ipv4_format(a, buf, sizeof buf);
                uint32_t b;
                FUZZ_CHECK(ipv4_parse(buf, &b) >= 0 && a == b);
                FUZZ_CHECK(strcmp(buf, s) == 0); /* inet_pton takes only the canonical dotted quad */
        }
        Ipv4Subnet n;
        if (ipv4_subnet_parse(s, &n) >= 0) {
                FUZZ_CHECK(n.prefix >= 8 && n.prefix <= 30);
                uint32_t net = ipv4_subnet_network(&n), bc = ipv4_subnet_broadcast(&n);
                FUZZ_CHECK(net < n.address && n.address < bc);
                FUZZ_CHECK(ipv4_subnet_contains(&n, n.address) && ipv4_subnet_contains(&n, net) &&
                           ipv4_subnet_contains(&n, bc));
                uint32_t count = ipv4_subnet_guest_count(&n);
                FUZZ_CHECK(count == bc - net - 2);
                /* The first, last and a middle guest address: inside, not the gateway, network or broadcast. */
                uint32_t idx[] = { 0, count / 2, count - 1 };
                for (size_t i = 0; i < 3; i++) {
                        uint32_t g = ipv4_subnet_guest_address(&n, idx[i]);
                        FUZZ_CHECK(ipv4_subnet_contains(&n, g));
                        FUZZ_CHECK(g != n.address && g != net && g != bc);
                }
                char buf[32];
                ipv4_format(n.address, buf, sizeof buf);
                snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "/%u", n.prefix);
                Ipv4Subnet m;
                FUZZ_CHECK(ipv4_subnet_parse(buf, &m) >= 0 && m.address == n.address && m.prefix == n.prefix);
        }
        free(s);
        return 0;
}
