/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/basic/strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void strv_free(char **l) {
        for (char **p = l; p && *p; p++)
                free(*p);
        free(l);
}

int strv_push(char ***l, const char *s) {
        int n = strv_length(*l);
        char **nl = realloc(*l, sizeof(char *) * (size_t) (n + 2));
        if (!nl)
                return -ENOMEM;
        *l = nl;
        if (!(nl[n] = strdup(s)))
                return -ENOMEM; /* still terminated: nl[n] is NULL */
        nl[n + 1] = NULL;
        return 0;
}

bool strv_contains(char *const *l, const char *s) {
        for (; l && *l; l++)
                if (strcmp(*l, s) == 0)
                        return true;
        return false;
}
