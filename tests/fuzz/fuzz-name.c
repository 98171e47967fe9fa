/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* machine_name_is_valid, hostname_is_valid, ifname_is_valid and the names derived from a machine name. */
#include "nspawnlite/basic/name.h"
#include "network/ifname.h"
#include "tests/fuzz/fuzz.h"

static int alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_string(data, size);
        size_t n = strlen(s);
        if (machine_name_is_valid(s)) {
                /* Everything built from a name relies on these. */
                FUZZ_CHECK(n >= 1 && n <= MACHINE_NAME_MAX && alnum(s[0]));
                for (size_t i = 0; i < n; i++)
                        FUZZ_CHECK(alnum(s[i]) || strchr("._-", s[i]));
                FUZZ_CHECK(!strchr(s, '/'));
                for (unsigned attempt = 0; attempt < 3; attempt++) {
                        char ifn[IFNAME_MAX + 1];
                        memset(ifn, 'X', sizeof ifn);
                        veth_host_ifname(s, attempt, ifn);
                        FUZZ_CHECK(memchr(ifn, 0, sizeof ifn));
                        FUZZ_CHECK(ifname_is_valid(ifn));
                }
        }
        if (hostname_is_valid(s)) {
                FUZZ_CHECK(n >= 1 && n <= 64);
                FUZZ_CHECK(s[0] != '.' && s[n - 1] != '.' && !strstr(s, ".."));
                for (size_t i = 0; i < n; i++)
                        FUZZ_CHECK(alnum(s[i]) || strchr(".-_", s[i]));
        }
        if (ifname_is_valid(s)) {
                FUZZ_CHECK(n >= 1 && n <= IFNAME_MAX);
                FUZZ_CHECK(!strchr(s, '/') && !strchr(s, ':') && strcmp(s, ".") && strcmp(s, ".."));
        }
        free(s);
        return 0;
}
