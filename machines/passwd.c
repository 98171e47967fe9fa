/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/passwd.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_id(const char *s, unsigned long *ret) {
        if (!*s || strlen(s) > 10)
                return false;
        for (const char *p = s; *p; p++)
                if (*p < '0' || *p > '9')
                        return false;
        *ret = strtoul(s, NULL, 10);
        return *ret < 0xffffffffUL;
}

/* name:password:uid:gid:gecos:home:shell */
static int parse_line(char *line, GuestUser *ret) {
        char *f[7];
        int n = 0;
        for (char *p = line; n < 7; n++) {
                f[n] = p;
                p = strchr(p, ':');
                if (!p) {
                        n++;
                        break;
                }
                *p++ = 0;
        }
        unsigned long uid, gid;
        if (n != 7 || !*f[0] || !parse_id(f[2], &uid) || !parse_id(f[3], &gid))
                return -EINVAL;
        if (strlen(f[0]) >= sizeof ret->name || strlen(f[5]) >= sizeof ret->home ||
            strlen(f[6]) >= sizeof ret->shell)
                return -EINVAL;
        GuestUser u = { .uid = (uid_t) uid, .gid = (gid_t) gid };
        strcpy(u.name, f[0]);
        strcpy(u.home, *f[5] == '/' ? f[5] : "/");
        strcpy(u.shell, *f[6] == '/' ? f[6] : "/bin/sh");
        *ret = u;
        return 0;
}

int passwd_find(const char *text, const char *user, GuestUser *ret) {
        unsigned long id = 0;
        bool numeric = parse_id(user, &id);
        if (!*user || strchr(user, ':') || strchr(user, '\n'))
                return -EINVAL;
        for (const char *p = text; p && *p;) {
                const char *eol = strchr(p, '\n');
                size_t len = eol ? (size_t) (eol - p) : strlen(p);
                char line[1024];
                if (len < sizeof line) {
                        memcpy(line, p, len);
                        line[len] = 0;
                        GuestUser u;
                        if (parse_line(line, &u) >= 0 &&
                            (numeric ? u.uid == (uid_t) id : strcmp(u.name, user) == 0)) {
                                *ret = u;
                                return 0;
                        }
                }
                p = eol ? eol + 1 : NULL;
        }
        if (!numeric)
                return -ESRCH;
        *ret = (GuestUser){ .uid = (uid_t) id, .gid = (gid_t) id, .home = "/", .shell = "/bin/sh" };
        snprintf(ret->name, sizeof ret->name, "%lu", id);
        return 0;
}
