/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "nspawnlite/basic/macro.h"

/* NULL-terminated arrays of strings, each element and the array malloc()ed. */
static inline int strv_length(char *const *l) {
        int n = 0;
        while (l && l[n])
                n++;
        return n;
}

void strv_free(char **l);
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Append a copy of s: 0, or -ENOMEM (l unchanged). */
int strv_push(char ***l, const char *s);
bool strv_contains(char *const *l, const char *s);
