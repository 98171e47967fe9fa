/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/basic/runtime-dir.h"

#include <stdlib.h>

const char *runtime_dir(void) {
        const char *e = getenv("NSPAWNLITE_RUNTIME_DIR");
        return e && e[0] == '/' ? e : "/run/nspawnlite";
}
