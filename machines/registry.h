/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "machines/cgroup-limits.h"
#include "nspawnlite/basic/runtime-dir.h"

/* The runtime registry: RUNTIME/machines/NAME/ holds
 *   lock     flock held by the supervisor for the machine's whole life;
 *   state    key=value lines, replaced atomically;
 *   control  the supervisor's unix socket;
 *   console.log  the console of a detached machine.
 * A machine is alive when its lock is held and its leader's start time still matches. */

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
        char state[16]; /* starting, running, stopping, frozen */
        char init[16];
        pid_t leader;
        uint64_t leader_starttime; /* clock ticks after boot, /proc/PID/stat field 22 */
        pid_t supervisor;
        uint64_t since_usec; /* CLOCK_REALTIME */
        char rootfs[4096];
        char uuid[40];
        char cgroup[512];   /* the scope, relative to each hierarchy's root */
        char address[64];   /* the guest's address, if it has one */
        char interface[16]; /* the host side of its link */
        bool detached;
        uint64_t caps; /* the guest's capability bounding set */
        bool no_new_privileges;
        uint32_t uid_shift; /* -U: the host uid of the guest's root; 0 without */
        /* systemd hosts: the unit that holds cgroup (empty: none), and whether it is a kept one
         * (--keep-unit) rather than our transient scope: what gc needs after a killed supervisor. */
        char unit[256];
        bool unit_kept;
        Limits limits;
} MachineInfo;

/* The state file: one "KEY=VALUE" line per key of machine_state_keys, then "limit.NAME=VALUE"
 * for each limit set. String values are escaped (backslash as \\, newline as \n, other control
 * bytes and DEL as \xHH; everything else as it is), so a plain value reads plain and no value
 * can start a line. Parsing refuses the whole file on an empty, malformed or unknown line, a key
 * given twice, a value not in the form format writes, an invalid name or no leader. */
#define MACHINE_STATE_MAX 32768

typedef enum {
        STATE_KEY_STRING, /* char[size], escaped */
        STATE_KEY_PID,
        STATE_KEY_U64,
        STATE_KEY_U32,
        STATE_KEY_BOOL, /* 0 or 1 */
} MachineStateKeyType;

typedef struct {
        const char *key;
        MachineStateKeyType type;
        size_t offset, size; /* of the field in MachineInfo */
        bool omit_empty;     /* left out of the file when empty (a string) or false (a bool) */
} MachineStateKey;

extern const MachineStateKey machine_state_keys[];
extern const size_t machine_state_keys_n;

/* Escape s into buf: its length, or -ENOBUFS. Unescape len bytes of s into buf (NUL-terminated):
 * -EINVAL for anything escape does not write, or when it does not fit in n. */
int state_value_escape(const char *s, char *buf, size_t n);
int state_value_unescape(const char *s, size_t len, char *buf, size_t n);

/* The file's text (at most MACHINE_STATE_MAX - 1 bytes), or -ENOBUFS. */
int machine_info_format(const MachineInfo *m, char *buf, size_t n);
int machine_info_parse(const char *text, MachineInfo *ret);

int machine_state_write(const MachineLock *l, const MachineInfo *m);

/* Load NAME's state: -ENOENT when there is no such machine, -ESRCH when it has files but is not
 * alive (dead supervisor, or a leader pid reused by another process), -EBADMSG when a live
 * supervisor's state file is not one format wrote, -EACCES when the caller may not tell (not
 * root). */
int machine_info_load(const char *name, MachineInfo *ret);
/* The state file as it is, alive or not (gc: what a dead supervisor recorded); -ENOENT without one,
 * -EBADMSG when it is not ours. */
int machine_info_read(const char *name, MachineInfo *ret);

/* Whether a supervisor holds NAME's lock right now: 1, 0, or -errno when it cannot be told (e.g.
 * -EACCES: the lock file is root's). machine_lock_held() is its yes (errors are a no). */
int machine_lock_check(const char *name);
bool machine_lock_held(const char *name);

/* Names of the machine directories, sorted; free with strv_free(). */
int machine_list_names(char ***ret);

/* Start time of a process (field 22 of /proc/PID/stat). */
int pid_starttime(pid_t pid, uint64_t *ret);
