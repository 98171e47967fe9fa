/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

typedef enum {
        INIT_SYSTEMD,
        INIT_SYSVINIT,
        INIT_BUSYBOX,
        INIT_OPENRC,
        INIT_STUB, /* nspawnlite's own, for "run" */
        INIT_UNKNOWN,
        _INIT_KIND_MAX,
} InitKind;

/* How each init is asked to power off or reboot (nspawnlite(1), SHUTDOWN). */
typedef struct {
        const char *name;
        int poweroff_signal; /* 0: none known */
        int reboot_signal;
        bool poweroff_via_initctl; /* sysvinit < 3.10 handles no signal: write to /run/initctl */
} InitInfo;

const InitInfo *init_info(InitKind kind);
const char *init_kind_to_string(InitKind kind);

/* Inside the tree at rootfd (resolved without leaving it): the init to run and its kind.
 * ret_path is the path inside the guest. -ENOENT when there is none. */
int init_detect(int rootfd, const char **ret_path, InitKind *ret_kind);

/* Whether the tree has os-release in /etc or /usr/lib. */
bool tree_has_os_release(int rootfd);

/* Ask a sysvinit PID 1 (pid on the host) for runlevel 0 through its /run/initctl FIFO. */
int initctl_request_runlevel(pid_t pid, char runlevel);
