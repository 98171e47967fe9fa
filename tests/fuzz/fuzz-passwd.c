/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* passwd_find: the input is "USER\0PASSWD-TEXT". */
#include "machines/passwd.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *pieces[2], *buf;
        size_t n = fuzz_split(data, size, pieces, 2, &buf);
        const char *user = pieces[0], *text = n > 1 ? pieces[1] : "";
        GuestUser u;
        memset(&u, 0xaa, sizeof u);
        if (passwd_find(text, user, &u) >= 0) {
                FUZZ_CHECK(memchr(u.name, 0, sizeof u.name) && memchr(u.home, 0, sizeof u.home) &&
                           memchr(u.shell, 0, sizeof u.shell));
                FUZZ_CHECK(u.name[0] && u.home[0] == '/' && u.shell[0] == '/');
                FUZZ_CHECK(!strchr(u.name, ':') && !strchr(u.home, '\n') && !strchr(u.shell, '\n'));
        }
        free(buf);
        return 0;
}
