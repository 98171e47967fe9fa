/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/basic/proc-title.h"

#include <string.h>

static char *area;
static size_t area_len;

void proc_title_init(int argc, char **argv) {
        if (argc <= 0 || !argv[0])
                return;
        /* The strings of argv lie back to back; the area is what the kernel reports. */
        area = argv[0];
        char *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
        area_len = (size_t) (end - area);
}

void proc_title_set(const char *title) {
        if (!area || area_len == 0)
                return;
        size_t n = strlen(title);
        if (n >= area_len)
                n = area_len - 1;
        memcpy(area, title, n);
        memset(area + n, 0, area_len - n);
}
