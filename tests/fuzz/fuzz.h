/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared helpers of the libFuzzer targets (tests/fuzz/run.sh builds and runs them). A failed check
 * aborts, which libFuzzer reports as a crash with the input that caused it. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(expr)                                                                           \
        do {                                                                                       \
                if (!(expr)) {                                                                     \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr);   \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

/* The input as a C string (cut at its first NUL, if any); free() it. */
static inline char *fuzz_string(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = 0;
        return s;
}

/* Split the input at NULs into at most max pieces (the last keeps the rest, NULs and all cut at
 * its first one). Pieces point into buf, a NUL-terminated copy of data; free() buf. */
static inline size_t fuzz_split(const uint8_t *data, size_t size, char **pieces, size_t max, char **ret_buf) {
        char *buf = fuzz_string(data, size);
        size_t n = 0;
        const char *end = buf + size;
        for (char *p = buf; n < max;) {
                pieces[n++] = p;
                char *z = memchr(p, 0, (size_t) (end - p));
                if (!z || z == end)
                        break;
                p = z + 1;
        }
        *ret_buf = buf;
        return n;
}
