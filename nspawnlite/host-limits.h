/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What many machines need from the host and a default host does not give (README.md "Many
 * machines"): checked before a machine starts, one line per limit that falls short, naming the
 * sysctl and a value to set. Warnings where the machine may still start, errors where it cannot. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nspawnlite/init-detect.h"

typedef enum {
        HOST_LIMIT_OK,
        HOST_LIMIT_WARN, /* it may start, but something inside it may fail */
        HOST_LIMIT_FAIL, /* it cannot start */
} HostLimitLevel;

typedef enum {
        HOST_LIMIT_INOTIFY,
        HOST_LIMIT_PTY,
        HOST_LIMIT_PIDS,
        _HOST_LIMIT_MAX,
} HostLimitKind;

/* About what a systemd guest (bookworm, 4 login ttys) holds once up, and a little more while
 * it starts: PID 1 five inotify instances, dbus-daemon and logind one each. */
#define HOST_LIMIT_INOTIFY_PER_SYSTEMD 7U

/* What the host has and what the machine needs; a limit read as 0 (unknown) passes. */
typedef struct {
        uint64_t inotify_max;     /* fs.inotify.max_user_instances, or user.max_inotify_instances if lower */
        unsigned inotify_sharers; /* systemd guests running that count against the same owner (root) */
        bool needs_inotify;       /* a systemd guest whose user namespace root owns (no -U) */

        uint64_t pty_max, pty_nr, pty_reserve; /* kernel.pty.*: a container's devpts gets max - reserve */
        unsigned ptys;                         /* console and login ttys */

        uint64_t pid_max, threads_max; /* kernel.pid_max (of our pid namespace), kernel.threads-max */
        uint64_t tasks;                /* tasks counted against them now */
        unsigned tasks_needed;
} HostLimits;

/* The sysctl a kind is about ("fs.inotify.max_user_instances"). */
const char *host_limit_sysctl(HostLimitKind k);

/* Judge one limit; when it is not OK, writes the line to print (without "Warning:") into buf. */
HostLimitLevel host_limit_judge(HostLimitKind k, const HostLimits *h, char *buf, size_t n);

/* Tasks a guest with this init needs to come up (a generous estimate, for the pid check). */
unsigned host_limit_tasks_for_init(InitKind kind);

/* The impure part: read the sysctls (and, only where the cheap figures come near a limit, the
 * registry and /proc), judge every limit and log one line per short one. userns: the machine has
 * a user namespace of its own (-U). -EMFILE/-ENOSPC/… (logged) when the machine cannot start. */
int host_limits_check(InitKind init, bool userns, unsigned ptys);
