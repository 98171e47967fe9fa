/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lease_parse_line on one line of the lease database; accepted leases format and parse back the same. */
#include "machines/name.h"
#include "network/lease.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_string(data, size);
        Lease a, b;
        memset(&a, 0xaa, sizeof a);
        if (lease_parse_line(s, &a) >= 0) {
                FUZZ_CHECK(memchr(a.machine, 0, sizeof a.machine) && memchr(a.ifname, 0, sizeof a.ifname) &&
                           memchr(a.bridge, 0, sizeof a.bridge));
                FUZZ_CHECK(machine_name_is_valid(a.machine) && ifname_is_valid(a.ifname));
                FUZZ_CHECK(strcmp(a.bridge, "-") == 0 || ifname_is_valid(a.bridge));
                char line[256];
                int r = lease_format_line(&a, line, sizeof line);
                FUZZ_CHECK(r > 0 && (size_t) r == strlen(line) && line[r - 1] == '\n');
                FUZZ_CHECK(!strchr(line, '\n') || strchr(line, '\n') == line + r - 1);
                memset(&b, 0x55, sizeof b);
                FUZZ_CHECK(lease_parse_line(line, &b) >= 0);
                FUZZ_CHECK(strcmp(a.machine, b.machine) == 0 && a.address == b.address &&
                           strcmp(a.ifname, b.ifname) == 0 && strcmp(a.bridge, b.bridge) == 0);
                FUZZ_CHECK(lease_format_line(&a, line, (size_t) r) < 0);
        }
        free(s);
        return 0;
}
