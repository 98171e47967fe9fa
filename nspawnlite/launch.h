/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machines/cgroup-limits.h"
#include "network/setup.h"
#include "nspawnlite/basic/parse-util.h"
#include "nspawnlite/console.h"
#include "nspawnlite/mounts.h"
#include "nspawnlite/overlays.h"
#include "nspawnlite/userns.h"

typedef enum {
        LAUNCH_BOOT, /* the tree's init as PID 1 */
        LAUNCH_RUN,  /* a stub PID 1 that runs one command */
} LaunchKind;

/* --register=: with systemd-machined (AUTO: where it is on the bus). */
typedef enum {
        REGISTER_AUTO,
        REGISTER_YES,
        REGISTER_NO,
} RegisterMode;

/* What a machine is to be: made by the command line from its options, read-only from here on.
 * Per-boot state (the cgroup, the network, the bind sources' fds, the limits changed at run time)
 * is the supervisor's. */
typedef struct {
        LaunchKind kind;
        const char *rootfs;   /* absolute, canonical; the image's path with --image= */
        const char *image;    /* --image=: a disk image to mount as the root; NULL for a tree */
        const char *machine;  /* validated name */
        const char *hostname; /* defaults to the machine name */
        ConsoleMode console;
        NetworkSpec network;
        const CustomMount *mounts;
        size_t n_mounts;
        bool read_only;
        RootMode root_mode; /* --ephemeral, --volatile= */
        bool lock_root;     /* a tree of the store: flock()ed as its images are, shared when read-only */
        const CustomOverlay *overlays;
        size_t n_overlays;
        const char *tmpfs_size;     /* size= of /tmp, /run, /dev/shm, --tmpfs; "" for the default */
        const char *ephemeral_size; /* the overlay root's upper: a tmpfs size=, OVERLAY_UPPER_DISK, or "" */
        bool detach;
        bool wait_ready;
        unsigned ttys; /* login ttys, /dev/tty1..N */
        UsernsConfig userns;
        Limits limits;       /* at the start */
        char *const *setenv; /* -E VAR=VALUE, in order */
        uint64_t caps_add, caps_drop;
        bool no_new_privileges;
        int kill_signal; /* 0: chosen from the init */
        usec_t timeout;
        const char *user;  /* run: the command's user (guest's /etc/passwd name or uid); NULL: root */
        const char *chdir; /* run: the command's working directory; NULL: the user's home, or / */
        /* systemd hosts: registration, --keep-unit, the slice of the transient unit (NULL: machine.slice) */
        RegisterMode register_mode;
        bool keep_unit;
        const char *slice;
        char *const *args; /* boot: arguments for init; run: the command */
} LaunchSpec;

/* Run a machine in the foreground as its supervisor, from the checks to the teardown. Returns
 * the exit status for the process: 0 after a poweroff, the init's (or the command's) status,
 * 128+N when it was killed by signal N, 1 when it could not be started (reported already). */
int launch_machine(const LaunchSpec *spec);
