/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/basic/dlopen-util.h"

#include <dlfcn.h>
#include <errno.h>

int dlopen_symbols(void **handle, const char *library, const DlSymbol *symbols, size_t n) {
        if (*handle)
                return 0;
        void *h = dlopen(library, RTLD_NOW | RTLD_LOCAL);
        if (!h)
                return -EOPNOTSUPP;
        for (size_t i = 0; i < n; i++) {
                void *f = dlsym(h, symbols[i].name);
                if (!f) {
                        for (size_t j = 0; j < i; j++)
                                *symbols[j].fn = NULL;
                        dlclose(h);
                        return -EOPNOTSUPP;
                }
                *symbols[i].fn = f;
        }
        *handle = h;
        return 0;
}
