/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "nspawnlite/basic/macro.h"

/* The supervisor and the container child meet at these named steps over a SOCK_SEQPACKET pair.
 * One message per step; a failure in the child is reported as SYNC_ERROR naming the step it failed
 * at, and the child then _exit()s. A successful execve() of init closes the child's CLOEXEC end:
 * the supervisor sees EOF and knows init runs. */
typedef enum {
        /* supervisor → child: the child's cgroups and network are ready (under -U also its id maps
         * and the tree with /proc and /sys); it may unshare its cgroup namespace and set up the
         * rest of the tree. */
        SYNC_STEP_CGROUP_READY,
        /* child → supervisor: mounts are done; carries the console pty master (unless the console
         * is "pipe") and the notify socket, as SCM_RIGHTS. */
        SYNC_STEP_CONSOLE_READY,
        /* supervisor → child, only when ChildContext.await_registration: machined has the
         * machine (its registration ran while the child set up its tree); go on to exec. */
        SYNC_STEP_REGISTERED,
        /* child → supervisor: stub init only (run): the command has been started. */
        SYNC_STEP_COMMAND_STARTED,
        /* child → supervisor: something failed; .failed_step says where. */
        SYNC_STEP_ERROR,
        _SYNC_STEP_MAX,
} SyncStep;

/* Where the child was when it failed: reported in SYNC_STEP_ERROR messages. */
typedef enum {
        CHILD_STAGE_CGROUP,
        CHILD_STAGE_WAIT,
        CHILD_STAGE_NAMESPACES,
        CHILD_STAGE_MOUNTS,
        CHILD_STAGE_DEVICES,
        CHILD_STAGE_CONSOLE,
        CHILD_STAGE_CUSTOM_MOUNTS,
        CHILD_STAGE_PIVOT,
        CHILD_STAGE_HOSTNAME,
        CHILD_STAGE_NETWORK,
        CHILD_STAGE_CAPABILITIES,
        CHILD_STAGE_SECCOMP,
        CHILD_STAGE_EXEC,
        _CHILD_STAGE_MAX,
} ChildStage;

#define SYNC_MESSAGE_MAX 384
#define MACHINE_TTYS_MAX 16
/* notify socket, console master, tty masters */
#define SYNC_FDS_MAX (2 + MACHINE_TTYS_MAX)

typedef struct {
        uint32_t step;  /* SyncStep */
        uint32_t stage; /* ChildStage, for SYNC_STEP_ERROR */
        int32_t error;  /* positive errno, for SYNC_STEP_ERROR */
        /* SYNC_STEP_CONSOLE_READY: which fds follow the notify socket */
        uint32_t has_console;
        uint32_t n_ttys;
        uint32_t tty_pts[MACHINE_TTYS_MAX]; /* /dev/pts/N of each tty */
        char message[SYNC_MESSAGE_MAX];
} SyncMessage;

const char *sync_step_to_string(SyncStep s);
const char *child_stage_to_string(ChildStage s);

int sync_send(int fd, const SyncMessage *m, const int *fds, size_t n_fds);
/* Returns 1 with a message (fds received put in fds[], count in *n_fds), 0 on EOF, -errno. */
int sync_recv(int fd, SyncMessage *m, int *fds, size_t *n_fds);

int sync_send_step(int fd, SyncStep step, const int *fds, size_t n_fds);
/* Report a failure: error is a negative or positive errno; the message is formatted. */
int sync_send_error(int fd, ChildStage stage, int error, const char *fmt, ...) _printf_(4, 5);
/* Wait for one given step from the peer; a SYNC_STEP_ERROR or an unexpected step is -EPROTO with the
 * message left in *m. */
int sync_expect(int fd, SyncStep step, SyncMessage *m, int *fds, size_t *n_fds);
