/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* path_is_safe_absolute / path_is_absolute: a path that passes has no "." or ".." component. */
#include "nspawnlite/basic/path-util.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_string(data, size);
        bool abs = path_is_absolute(s);
        FUZZ_CHECK(abs == (s[0] == '/'));
        if (path_is_safe_absolute(s)) {
                FUZZ_CHECK(abs && strlen(s) < 4096);
                /* Independent check: walk the components with strtok. */
                char *copy = strdup(s), *save = NULL;
                int components = 0;
                for (char *w = strtok_r(copy, "/", &save); w; w = strtok_r(NULL, "/", &save)) {
                        FUZZ_CHECK(strcmp(w, ".") != 0 && strcmp(w, "..") != 0);
                        components++;
                }
                FUZZ_CHECK(components > 0);
                free(copy);
        }
        free(s);
        return 0;
}
