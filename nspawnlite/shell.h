/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "machines/registry.h"

/* "nspawnlite shell": a process joins every namespace and the cgroup of a running machine, with the
 * machine's capability set and seccomp filter and a clean environment, on a pty allocated inside
 * the machine (or on pipes when the caller's stdio are not terminals). The caller's terminal and
 * every other host fd stay on the host: the parent relays. */
typedef struct {
        const MachineInfo *machine;
        const char *user;    /* name or uid in the guest; NULL: root */
        const char *chdir;   /* NULL: the user's home */
        char *const *setenv; /* VAR=VALUE */
        char *const *argv;   /* NULL or empty: the user's login shell */
        const char *term;    /* the caller's TERM, for a pty (the caller's environment is wiped) */
} ShellRequest;

/* Returns the exit status to pass on (the command's; 128+N for a signal; 127 not found), or 1
 * after printing an error. */
int shell_run(const ShellRequest *rq);
