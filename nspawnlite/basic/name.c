/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/basic/name.h"

#include <string.h>

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool machine_name_is_valid(const char *name) {
        if (!name || !is_alnum(name[0]))
                return false;
        size_t n = strlen(name);
        if (n > MACHINE_NAME_MAX)
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_alnum(name[i]) && !strchr("._-", name[i]))
                        return false;
        /* The first character is alphanumeric, so "." and ".." cannot pass; say it anyway. */
        return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

bool hostname_is_valid(const char *name) {
        if (!name || !*name || strlen(name) > 64)
                return false;
        bool label_start = true;
        for (const char *p = name; *p; p++) {
                if (*p == '.') {
                        if (label_start)
                                return false;
                        label_start = true;
                        continue;
                }
                if (!is_alnum(*p) && !(*p == '-' && !label_start) && *p != '_')
                        return false;
                label_start = false;
        }
        return !label_start;
}
