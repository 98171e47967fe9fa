/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "machines/passwd.h"

#include <signal.h>
#include <stdint.h>

#include "machines/cgroup.h"
#include "machines/images/image-mount.h"
#include "network/setup.h"
#include "nspawnlite/init-detect.h"
#include "nspawnlite/launch.h"
#include "nspawnlite/basic/macro.h"

/* Everything the container child needs, prepared by the supervisor before clone3(). */
typedef struct {
        const LaunchSpec *spec;
        ConsoleMode console;
        const char *init_path; /* inside the guest; NULL for "run" */
        InitKind init_kind;
        const char *uuid;
        const char *term;
        uint64_t caps; /* the bounding set to keep */
        GuestNetwork network;
        bool userns;                  /* in a user namespace of its own (-U) */
        const char *root_mountpoint;  /* -U: where the tree is attached (RUNTIME/machines/NAME/root) */
        const char *stage;            /* -U: where the host's mounts wait to be bound (userns-mounts.h) */
        ImageMounts *image;           /* --image=: its detached mounts (supervisor's); -EBADF for a tree */
        const char *image_mountpoint; /* --image=: RUNTIME/machines/NAME/image */
        const MountSources *sources;  /* the bind sources' detached copies, per boot */
        int sync_fd;                  /* the child's end */
        sigset_t original_mask;
        const MachineCgroup *cgroup; /* the child joins its v1 hierarchies itself, first thing */
        /* The supervisor's go (SYNC_STEP_CGROUP_READY) is needed before anything else: it attaches
         * the child to its unified cgroup itself, or maps the ids of -U. Otherwise only host0 (the
         * veth it makes meanwhile) waits for it, and the tree is set up in parallel. */
        bool go_first;
        bool await_registration; /* wait for SYNC_STEP_REGISTERED after SYNC_STEP_CONSOLE_READY */
} ChildContext;

/* Runs in the new namespaces as the guest's PID 1: sets up the tree, then execs init (or becomes
 * the stub init for "run"). Never returns; failures are reported over sync_fd. */
_noreturn_ void child_main(const ChildContext *ctx);

/* The stub PID 1 of "run": starts argv on the console (or the caller's stdio) as user (NULL: root),
 * reaps everything, and exits with the command's status (128+N for signal N). */
_noreturn_ void stub_init_main(char *const *argv, char **envp, const GuestUser *user, int sync_fd,
                               bool console_tty);
