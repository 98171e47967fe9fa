/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The lease database's lines, both ways:
 *   - input whose first byte is even is a line: what lease_parse_line accepts formats and parses
 *     back the same;
 *   - input whose first byte is odd fills a Lease with arbitrary bytes (any but NUL): format
 *     either refuses it or writes one line that parses back the same. */
#include <errno.h>

#include "nspawnlite/basic/name.h"
#include "network/lease.h"
#include "tests/fuzz/fuzz.h"

static void check_round_trip(const Lease *a, bool must_format) {
        char line[256];
        int r = lease_format_line(a, line, sizeof line);
        if (!must_format && r == -EINVAL)
                return;
        FUZZ_CHECK(r > 0 && (size_t) r == strlen(line) && line[r - 1] == '\n');
        FUZZ_CHECK(strchr(line, '\n') == line + r - 1);
        FUZZ_CHECK(lease_format_line(a, line, (size_t) r) < 0);
        FUZZ_CHECK(lease_format_line(a, line, sizeof line) == r);
        line[r - 1] = 0;
        Lease b;
        memset(&b, 0x55, sizeof b);
        FUZZ_CHECK(lease_parse_line(line, &b) >= 0);
        FUZZ_CHECK(strcmp(a->machine, b.machine) == 0 && a->address == b.address &&
                   strcmp(a->ifname, b.ifname) == 0 && strcmp(a->bridge, b.bridge) == 0);
}

static void fill(char *dst, size_t size, const uint8_t **p, size_t *left) {
        size_t len = *left ? **p % size : 0;
        if (*left)
                (*p)++, (*left)--;
        size_t i = 0;
        for (; i < len && *left; i++, (*p)++, (*left)--)
                dst[i] = (char) (**p ? **p : 0xff);
        dst[i] = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 0 && (data[0] & 1)) {
                const uint8_t *p = data + 1;
                size_t left = size - 1;
                Lease a = {};
                for (int i = 0; i < 4 && left; i++, p++, left--)
                        a.address = a.address << 8 | *p;
                fill(a.machine, sizeof a.machine, &p, &left);
                fill(a.ifname, sizeof a.ifname, &p, &left);
                fill(a.bridge, sizeof a.bridge, &p, &left);
                check_round_trip(&a, false);
                return 0;
        }
        char *s = fuzz_string(data, size);
        Lease a;
        memset(&a, 0xaa, sizeof a);
        if (lease_parse_line(s, &a) >= 0) {
                FUZZ_CHECK(memchr(a.machine, 0, sizeof a.machine) && memchr(a.ifname, 0, sizeof a.ifname) &&
                           memchr(a.bridge, 0, sizeof a.bridge));
                FUZZ_CHECK(machine_name_is_valid(a.machine) && ifname_is_valid(a.ifname));
                FUZZ_CHECK(strcmp(a.bridge, "-") == 0 || ifname_is_valid(a.bridge));
                check_round_trip(&a, true);
        }
        free(s);
        return 0;
}
