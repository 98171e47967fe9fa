/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* limit_parse_assignment / limit_parse_value, and the formats of what they accept: the human form
 * parses back (exactly, or within the rounding of its one decimal for sizes), the cgroup forms are
 * one line of what the kernel files take. */
#include <inttypes.h>

#include "machines/cgroup-limits.h"
#include "tests/fuzz/fuzz.h"

static void check_value(LimitKey k, uint64_t v) {
        const LimitInfo *i = limit_info(k);
        FUZZ_CHECK(i);
        FUZZ_CHECK((v >= i->min && v <= i->max) || (v == LIMIT_INFINITY && i->allow_infinity));

        char human[64], back[64];
        limit_format_human(k, v, human, sizeof human);
        uint64_t w;
        FUZZ_CHECK(limit_parse_value(k, human, &w) >= 0);
        if (i->is_size && v != LIMIT_INFINITY) {
                /* "%.1f" of a K/M/G/T multiple: off by at most 0.05 of the unit. */
                uint64_t diff = w > v ? w - v : v - w;
                FUZZ_CHECK(diff <= v / 20 + 1);
        } else
                FUZZ_CHECK(w == v);

        /* An assignment of the human form gives the same key and value. */
        snprintf(back, sizeof back, "%s=%s", i->name, human);
        LimitKey k2;
        uint64_t w2;
        FUZZ_CHECK(limit_parse_assignment(back, &k2, &w2) >= 0 && k2 == k && w2 == w);

        char v2[64], v1[64];
        FUZZ_CHECK(limit_format_v2(k, v, v2, sizeof v2) >= 0);
        FUZZ_CHECK(limit_format_v1(k, v, v1, sizeof v1) >= 0);
        FUZZ_CHECK(v2[0] && !strchr(v2, '\n') && v1[0] && !strchr(v1, '\n'));
        if (v == LIMIT_INFINITY)
                return;
        /* The numbers written are what the kernel takes for each file. */
        char *end;
        unsigned long long x = strtoull(v1, &end, 10);
        FUZZ_CHECK(*end == 0);
        switch (k) {
        case LIMIT_CPU_WEIGHT:
                FUZZ_CHECK(x >= 2 && x <= 262144);
                break;
        case LIMIT_IO_WEIGHT:
                FUZZ_CHECK(x >= 10 && x <= 1000);
                break;
        case LIMIT_CPU_QUOTA:
                FUZZ_CHECK(x >= 1000); /* cfs_quota_us is at least 1 ms */
                break;
        default:
                FUZZ_CHECK(x == v);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_string(data, size);
        LimitKey k;
        uint64_t v;
        if (limit_parse_assignment(s, &k, &v) >= 0)
                check_value(k, v);
        for (int key = 0; key < _LIMIT_MAX; key++)
                if (limit_parse_value((LimitKey) key, s, &v) >= 0)
                        check_value((LimitKey) key, v);
        /* Keys out of range are refused, not looked up. */
        FUZZ_CHECK(limit_parse_value(_LIMIT_MAX, s, &v) < 0);
        FUZZ_CHECK(limit_parse_value((LimitKey) -1, s, &v) < 0);
        free(s);
        return 0;
}
