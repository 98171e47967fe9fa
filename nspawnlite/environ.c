/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/environ.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/strv.h"

const char *guest_container_value(InitKind kind) {
        return kind == INIT_OPENRC ? "systemd-nspawn" : "nspawnlite";
}

static int set_var(char ***envp, size_t *n, const char *assignment) {
        size_t keylen = strcspn(assignment, "=");
        for (size_t i = 0; i < *n; i++)
                if (strncmp((*envp)[i], assignment, keylen) == 0 && (*envp)[i][keylen] == '=') {
                        char *copy = strdup(assignment);
                        if (!copy)
                                return -ENOMEM;
                        free((*envp)[i]);
                        (*envp)[i] = copy;
                        return 0;
                }
        char **nl = realloc(*envp, sizeof(char *) * (*n + 2));
        if (!nl)
                return -ENOMEM;
        *envp = nl;
        if (!(nl[*n] = strdup(assignment)))
                return -ENOMEM;
        nl[++*n] = NULL;
        return 0;
}

int guest_environment_build(const GuestEnvironment *e, char ***ret) {
        _cleanup_strv_free_ char **envp = calloc(1, sizeof(char *));
        size_t n = 0;
        char buf[512];
        if (!envp)
                return -ENOMEM;

        const char *fixed[] = {
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOME=/root",
                "USER=root",
                "LOGNAME=root",
                "NOTIFY_SOCKET=" CONTAINER_NOTIFY_SOCKET,
        };
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                if (set_var(&envp, &n, fixed[i]) < 0)
                        return -ENOMEM;

        snprintf(buf, sizeof buf, "container=%s", guest_container_value(e->init_kind));
        if (set_var(&envp, &n, buf) < 0)
                return -ENOMEM;
        snprintf(buf, sizeof buf, "TERM=%s", e->term ?: "vt220");
        if (set_var(&envp, &n, buf) < 0)
                return -ENOMEM;
        if (e->uuid) {
                snprintf(buf, sizeof buf, "container_uuid=%s", e->uuid);
                if (set_var(&envp, &n, buf) < 0)
                        return -ENOMEM;
        }
        if (e->ttys) {
                snprintf(buf, sizeof buf, "container_ttys=%s", e->ttys);
                if (set_var(&envp, &n, buf) < 0)
                        return -ENOMEM;
        }
        if (e->user) {
                const char *vars[] = {
                        "HOME", e->user->home, "USER", e->user->name, "LOGNAME", e->user->name
                };
                for (size_t i = 0; i < ELEMENTSOF(vars); i += 2) {
                        snprintf(buf, sizeof buf, "%s=%s", vars[i], vars[i + 1]);
                        if (set_var(&envp, &n, buf) < 0)
                                return -ENOMEM;
                }
        }
        for (char *const *s = e->setenv; s && *s; s++)
                if (set_var(&envp, &n, *s) < 0)
                        return -ENOMEM;

        *ret = TAKE_PTR(envp);
        return 0;
}
