/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "machines/cgroup-limits.h"

/* The runtime registry (DESIGN.md §4): RUNTIME/machines/NAME/ holds
 *   lock     flock held by the supervisor for the machine's whole life;
 *   state    key=value lines, replaced atomically;
 *   control  the supervisor's unix socket;
 *   console.log  the console of a detached machine.
 * A machine is alive when its lock is held and its leader's start time still matches. */

/* $NSPAWNLITE_RUNTIME_DIR, default /run/nspawnlite. */
const char *runtime_dir(void);
/* RUNTIME/machines/NAME/FILE (FILE may be NULL for the directory). */
int machine_path(const char *name, const char *file, char *buf, size_t n);

typedef struct {
        char *dir;   /* RUNTIME/machines/NAME */
        int lock_fd; /* flock held for the machine's lifetime */
} MachineLock;

/* Take the name: -EBUSY when a live supervisor holds it. */
int machine_lock_acquire(const char *name, MachineLock *ret);
/* Release, removing the machine's files. */
void machine_lock_release(MachineLock *l);

typedef struct {
        char name[65];
        char state[16];   /* starting, running, stopping, frozen */
        char init[16];
        pid_t leader;
        uint64_t leader_starttime; /* clock ticks after boot, /proc/PID/stat field 22 */
        pid_t supervisor;
        uint64_t since_usec;       /* CLOCK_REALTIME */
        char rootfs[4096];
        char uuid[40];
        char cgroup[512];          /* the scope, relative to each hierarchy's root */
        char address[64];          /* the guest's address, if it has one */
        char interface[16];        /* the host side of its link */
        bool detached;
        uint64_t caps;             /* the guest's capability bounding set */
        bool no_new_privileges;
        uint32_t uid_shift;        /* -U: the host uid of the guest's root; 0 without */
        Limits limits;
} MachineInfo;

/* Serialise and parse a state file. Parsing ignores unknown keys and rejects malformed lines,
 * bad numbers and an invalid name; it never trusts lengths. */
int machine_info_format(const MachineInfo *m, char *buf, size_t n);
int machine_info_parse(const char *text, MachineInfo *ret);

int machine_state_write(const MachineLock *l, const MachineInfo *m);

/* Load NAME's state: -ENOENT when there is no such machine, -ESRCH when it has files but is not
 * alive (dead supervisor, or a leader pid reused by another process). */
int machine_info_load(const char *name, MachineInfo *ret);

/* Whether a supervisor holds NAME's lock right now. */
bool machine_lock_held(const char *name);

/* Names of the machine directories, sorted; free with strv_free(). */
int machine_list_names(char ***ret);

/* Start time of a process (field 22 of /proc/PID/stat). */
int pid_starttime(pid_t pid, uint64_t *ret);
