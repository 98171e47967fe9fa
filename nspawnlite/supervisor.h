/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "machines/cgroup.h"
#include "machines/control.h"
#include "machines/registry.h"
#include "network/setup.h"
#include "nspawnlite/console.h"
#include "nspawnlite/init-detect.h"
#include "nspawnlite/launch-image.h"
#include "nspawnlite/launch.h"
#include "nspawnlite/sync.h"
#include "nspawnlite/userns.h"

#define SUPERVISOR_CLIENTS_MAX 32

typedef enum {
        CLIENT_REQUEST, /* connected, request not read yet */
        CLIENT_WAITER,  /* waits for the machine's end (poweroff, terminate) */
        CLIENT_CONSOLE, /* attached to the console */
        CLIENT_LOGIN,   /* holds a login tty */
} ClientKind;

typedef struct {
        int fd;
        ClientKind kind;
        bool writer;
} ControlClient;

typedef enum {
        GUEST_POWEROFF,
        GUEST_REBOOT,
        GUEST_EXITED,
} GuestEnd;

/* Everything one machine's supervisor owns. */
typedef struct {
        const LaunchSpec *spec;
        Limits limits; /* as they are now: the spec's, then what set-limit changed */
        ConsoleMode console;
        const char *init_path;
        InitKind init_kind;
        char uuid[40];
        bool registered;  /* with systemd-machined */
        bool registering; /* its RegisterMachineWithNetwork sent, the reply not read yet */
        MachineCgroup cgroup;
        MachineLock lock;
        MachineNetwork network;
        ConsoleRelay relay;
        sigset_t original_mask;
        int signal_fd;
        int control_fd;
        int pin_fd; /* an unnamed file open for writing on the tree's filesystem (see launch.c) */
        ControlClient clients[SUPERVISOR_CLIENTS_MAX];
        size_t n_clients;
        bool frozen;
        int freeze_watch_fd; /* while frozen: ties the guest's life to ours (machine_cgroup_watch_start()) */
        uint64_t since_usec;
        uint64_t caps;               /* the guest's bounding set, for processes joining it (shell) */
        UsernsRange userns;          /* -U: the uid/gid range the guest's ids map to */
        char root_mountpoint[4096];  /* -U: where the tree is put for the child (userns-mounts.h) */
        LaunchImage image;           /* --image= */
        char image_mountpoint[4096]; /* --image=: where the child mounts it (RUNTIME/machines/NAME/image) */

        /* login ttys: masters, and the login client holding each (-1: free) */
        struct {
                int master;
                unsigned pts;
                int client_fd;
        } ttys[MACHINE_TTYS_MAX];
        unsigned n_ttys;

        /* detached machines */
        int log_fd;
        off_t log_size;
        int ready_fd; /* to the waiting parent: one byte once started (and ready, with --wait-ready) */
        bool ready;
        usec_t ready_deadline;
        char ready_scan[32]; /* tail of the console output, to spot a login prompt */

        /* per boot of the guest (a reboot makes a new one) */
        pid_t pid;
        int pidfd;
        int master;
        int notify;

        unsigned stop_requests;
        usec_t kill_deadline;
        bool killed_by_us;
} Supervisor;

/* The event loop while init runs: console, signals, control requests, init's end. */
int supervisor_run(Supervisor *s, GuestEnd *ret_end, int *ret_status);

/* Tell waiting and attached clients that the machine ended, and drop them. */
void supervisor_end_clients(Supervisor *s, int status);

/* Record the machine's state (and its limits) in its state file; a failure is also logged. */
int supervisor_write_state(Supervisor *s, const char *state);

/* Set every limit of want on the machine's cgroup. On a refusal the ones set before it go back to
 * their values in before (or to a fresh cgroup's), and err says which limit, its value and why,
 * with prefix before the key ("--" for boot's options). */
int supervisor_apply_limits(MachineCgroup *cg, const Limits *want, const Limits *before, const char *prefix,
                            char *err, size_t errlen);

/* The guest's ttys are going away (reboot, end): end the logins on them. */
void supervisor_drop_logins(Supervisor *s);

/* The machine is up (and ready, if that was asked for): release a waiting "boot -d". */
void supervisor_report_ready(Supervisor *s);

int pidfd_send(int pidfd, int sig);

/* Whether the supervisor has a handler for the control request (control.h's table). */
bool supervisor_handles_request(ControlRequestId id);
