/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The values of --bind, --bind-ro, --tmpfs, --overlay, --overlay-ro and --tmpfs-size. */
#include "nspawnlite/cli/mount-options.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/parse-util.h"
#include "nspawnlite/basic/path-util.h"
#include "nspawnlite/basic/strv.h"

/* Split a bind or overlay spec in place at its unescaped colons into at most max fields; a backslash
 * takes the next character as it is (so \: is a colon in a path, as systemd-nspawn has it). */
static int split_spec(char *s, char **ret, size_t max, size_t *ret_n) {
        size_t n = 0;
        ret[n++] = s;
        char *w = s;
        for (const char *p = s; *p; p++) {
                if (*p == '\\') {
                        if (!*++p)
                                return -EINVAL;
                        *w++ = *p;
                } else if (*p == ':') {
                        if (n == max)
                                return -EINVAL;
                        *w++ = 0;
                        ret[n++] = w;
                } else
                        *w++ = *p;
        }
        *w = 0;
        *ret_n = n;
        return 0;
}

/* SRC[:DST[:ro|rw]] — both absolute; DST defaults to SRC. */
int parse_bind(Config *c, const char *spec, bool read_only) {
        _cleanup_free_ char *copy = strdup(spec);
        if (!copy)
                return -ENOMEM;
        char *fields[3] = {};
        size_t n_fields;
        if (split_spec(copy, fields, ELEMENTSOF(fields), &n_fields) < 0)
                return -EINVAL;
        char *src = fields[0], *dst = n_fields > 1 ? fields[1] : NULL, *opt = n_fields > 2 ? fields[2] : NULL;
        if (dst && !*dst)
                dst = NULL;
        if (opt) {
                if (strcmp(opt, "ro") == 0)
                        read_only = true;
                else if (strcmp(opt, "rw") != 0)
                        return -EINVAL;
        }
        if (!path_is_absolute(src) || (dst && !path_is_safe_absolute(dst)) ||
            (!dst && !path_is_safe_absolute(src)))
                return -EINVAL;

        CustomMount *n = realloc(c->mounts, sizeof(CustomMount) * (c->n_mounts + 1));
        if (!n)
                return -ENOMEM;
        c->mounts = n;
        CustomMount *m = &c->mounts[c->n_mounts];
        *m = (CustomMount){ .read_only = read_only };
        m->source = strdup(src);
        m->dest = strdup(dst ?: src);
        if (!m->source || !m->dest) {
                free(m->source);
                free(m->dest);
                return -ENOMEM;
        }
        c->n_mounts++;
        return 0;
}

#define OVERLAY_LAYERS_MAX 32

/* LOWER[:LOWER…]:UPPER:DST (read_only: LOWER[:LOWER…]:DST), host paths absolute, DST inside the
 * guest. -EINVAL, or -EPROTONOSUPPORT for the "+" (relative to the tree) prefix. */
int parse_overlay(Config *c, const char *spec, bool read_only) {
        _cleanup_free_ char *copy = strdup(spec);
        if (!copy)
                return -ENOMEM;
        char *f[OVERLAY_LAYERS_MAX + 2];
        size_t n;
        if (split_spec(copy, f, ELEMENTSOF(f), &n) < 0 || n < 3)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (f[i][0] == '+')
                        return -EPROTONOSUPPORT;
        size_t n_lower = n - (read_only ? 1 : 2);
        for (size_t i = 0; i + 1 < n; i++)
                if (!path_is_safe_absolute(f[i]))
                        return -EINVAL;
        if (!path_is_safe_absolute(f[n - 1]))
                return -EINVAL;

        CustomOverlay *a = realloc(c->overlays, sizeof(CustomOverlay) * (c->n_overlays + 1));
        if (!a)
                return -ENOMEM;
        c->overlays = a;
        CustomOverlay *o = &c->overlays[c->n_overlays++];
        *o = (CustomOverlay){ .n_lower = n_lower };
        for (size_t i = 0; i < n_lower; i++)
                if (strv_push(&o->lower, f[i]) < 0)
                        return -ENOMEM;
        if (!read_only && !(o->upper = strdup(f[n - 2])))
                return -ENOMEM;
        return (o->dest = strdup(f[n - 1])) ? 0 : -ENOMEM;
}

int parse_tmpfs(Config *c, const char *spec) {
        if (!path_is_safe_absolute(spec))
                return -EINVAL;
        CustomMount *n = realloc(c->mounts, sizeof(CustomMount) * (c->n_mounts + 1));
        if (!n)
                return -ENOMEM;
        c->mounts = n;
        c->mounts[c->n_mounts] = (CustomMount){ .tmpfs = true, .dest = strdup(spec) };
        if (!c->mounts[c->n_mounts].dest)
                return -ENOMEM;
        c->n_mounts++;
        return 0;
}

int ephemeral_size_parse(const char *s, char *ret, size_t n) {
        if (s && strcmp(s, OVERLAY_UPPER_DISK) == 0) {
                snprintf(ret, n, "%s", s);
                return 0;
        }
        return tmpfs_size_parse(s, ret, n);
}

int tmpfs_size_parse(const char *s, char *ret, size_t n) {
        size_t len = s ? strlen(s) : 0;
        uint64_t v;
        int r;
        if (len > 1 && s[len - 1] == '%') {
                char num[8];
                if (len - 1 >= sizeof num)
                        return -ERANGE;
                memcpy(num, s, len - 1);
                num[len - 1] = 0;
                r = parse_uint64_range(num, 1, 100, &v);
                if (r < 0)
                        return r;
                snprintf(ret, n, "%" PRIu64 "%%", v);
                return 0;
        }
        r = parse_size(s, &v);
        if (r < 0)
                return r;
        /* Not 0 and not infinity: tmpfs reads both as "no limit". Nor within a page of 2^64 (64K,
         * the largest page size): tmpfs rounds the size up to pages, which wraps to 0. */
        if (v < TMPFS_SIZE_MIN || v > UINT64_MAX - (UINT64_C(64) << 10) + 1)
                return -ERANGE;
        snprintf(ret, n, "%" PRIu64, v);
        return 0;
}
