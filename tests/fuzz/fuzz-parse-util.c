/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* parse_signal, parse_sec, parse_size, parse_uint64_range, parse_boolean on one string. */
#include <signal.h>

#include "nspawnlite/basic/parse-util.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_string(data, size);
        int sig;
        if (parse_signal(s, &sig) >= 0) {
                FUZZ_CHECK(sig >= 1 && sig <= SIGRTMAX);
                /* What we print for a signal parses back to it. */
                int again;
                FUZZ_CHECK(parse_signal(signal_to_string(sig), &again) >= 0 && again == sig);
        }
        usec_t u;
        (void) parse_sec(s, &u);
        uint64_t v;
        (void) parse_size(s, &v);
        if (parse_uint64_range(s, 1, 4096, &v) >= 0)
                FUZZ_CHECK(v >= 1 && v <= 4096);
        if (parse_uint64_range(s, 0, UINT64_MAX, &v) >= 0) {
                char buf[32];
                snprintf(buf, sizeof buf, "%llu", (unsigned long long) v);
                /* Only digits are accepted: the number printed back is the input but for leading zeros. */
                const char *t = s;
                while (t[0] == '0' && t[1])
                        t++;
                FUZZ_CHECK(strcmp(buf, t) == 0);
        }
        int b = parse_boolean(s);
        FUZZ_CHECK(b == 0 || b == 1 || b < 0);
        free(s);
        return 0;
}
