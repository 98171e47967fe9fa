/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "machines/passwd.h"
#include "nspawnlite/init-detect.h"

#define CONTAINER_NOTIFY_SOCKET "/run/host/notify"

typedef struct {
        const char *uuid; /* container_uuid */
        const char *term; /* TERM for the console, NULL: vt220 */
        const char *ttys; /* container_ttys, NULL: none */
        InitKind init_kind;
        char *const *setenv;   /* -E VAR=VALUE, override the defaults */
        const GuestUser *user; /* run --user=: HOME, USER, LOGNAME are theirs; NULL: root */
} GuestEnvironment;

/* The whole environment of PID 1: nothing of the caller's but what is listed here. */
int guest_environment_build(const GuestEnvironment *e, char ***ret);

/* container= value for an init: OpenRC only recognises a few names. */
const char *guest_container_value(InitKind kind);
