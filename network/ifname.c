/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "network/ifname.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

bool ifname_is_valid(const char *s) {
        if (!s || !*s || strlen(s) > IFNAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (const char *p = s; *p; p++)
                if (*p == '/' || *p == ':' || *p <= ' ' || *p == 0x7f)
                        return false;
        return true;
}

/* FNV-1a, 64 bit, folded: stable across versions and hosts, which a seeded hash would not be. */
static uint32_t name_hash(const char *s, unsigned attempt) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                h = (h ^ *p) * UINT64_C(0x100000001b3);
        for (unsigned i = 0; i < 4; i++)
                h = (h ^ ((attempt >> (8 * i)) & 0xff)) * UINT64_C(0x100000001b3);
        return (uint32_t) (h ^ (h >> 32));
}

void veth_host_ifname(const char *machine, unsigned attempt, char ret[static IFNAME_MAX + 1]) {
        if (attempt == 0 && strlen(machine) + 3 <= IFNAME_MAX) {
                snprintf(ret, IFNAME_MAX + 1, "ve-%s", machine);
                return;
        }
        snprintf(ret, IFNAME_MAX + 1, "ve-%.3s-%08x", machine, name_hash(machine, attempt));
}
