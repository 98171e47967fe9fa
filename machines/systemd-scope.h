/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "machines/cgroup-limits.h"

/* Where systemd is PID 1 it owns the cgroup tree: the machine's scope is a transient unit that
 * systemd makes with Delegate=yes, its limits are unit properties, and systemd-machined is told
 * about the machine. Everything here goes over the system bus with sd-bus; libsystemd (and the
 * compression and crypto libraries behind it) is loaded only for the moment of a call, so that a
 * supervisor keeps none of it mapped, but while it controls a scope (ScopeUnitSpec.controller):
 * then its connection is how systemd asks it to stop. Each function fills err with what failed,
 * for the caller to print. */

/* systemd runs as PID 1 (the check of sd_booted()). */
bool systemd_booted(void);
/* Keep libsystemd and the bus connection open from one call to the next until release. */
void systemd_bus_hold(void);
void systemd_bus_release(void);

typedef struct {
        const char *unit;  /* "machine-NAME.scope" */
        const char *slice; /* "machine.slice" */
        const char *description;
        pid_t pid; /* moved into the scope */
        const Limits *limits;
        /* Name our connection the scope's controller: systemd then asks us to stop it (RequestStop)
         * rather than signalling every process of it, and the connection stays open, watched,
         * until systemd_scope_unwatch(). */
        bool controller;
} ScopeUnitSpec;

/* StartTransientUnit of a delegated scope holding pid, and wait (bounded) for its job to end.
 * -EEXIST when a unit of that name exists already. */
int systemd_scope_start(const ScopeUnitSpec *u, char *err, size_t errlen);
/* The watch of the scope we control: the fd to poll and its events (-EBADF when there is none),
 * then process, which returns 1 when systemd asked us to stop the scope (a stop of the unit from
 * outside: systemctl stop, machinectl terminate), 0 when not; due once the fd polls ready or
 * the deadline passed (UINT64_MAX: none), -errno when the connection broke
 * (the watch is over then: systemd signals the scope's processes itself again). */
int systemd_scope_watch_fd(short *ret_events, uint64_t *ret_deadline_usec); /* CLOCK_MONOTONIC */
int systemd_scope_watch_process(void);
void systemd_scope_unwatch(void);
/* SetUnitProperties (runtime) of one limit. */
int systemd_unit_set_limit(const char *unit, LimitKey k, uint64_t v, char *err, size_t errlen);
/* The name of the unit property of k ("MemoryMax"), and its value for systemd. */
const char *limit_unit_property(LimitKey k);
uint64_t limit_unit_value(LimitKey k, uint64_t v);

typedef struct {
        const char *name;
        const uint8_t *uuid; /* 16 bytes */
        pid_t leader;        /* the guest's init */
        const char *root_directory;
        const int *ifindices;
        size_t n_ifindices;
} MachineRegistration;

/* RegisterMachineWithNetwork with systemd-machined, for the unit the leader runs in, in two halves
 * so that the guest sets itself up while machined works: send (between systemd_bus_hold() and
 * systemd_bus_release(), as the reply comes on that connection), then finish, which waits for the
 * reply: -EHOSTDOWN when machined is not on the bus (nor activatable). */
int machined_register_send(const MachineRegistration *m, char *err, size_t errlen);
int machined_register_finish(char *err, size_t errlen);
/* UnregisterMachine: machined forgets it (the unit stays). */
int machined_unregister(const char *name);
/* The same in two halves, as for the registration: the reply must be read before the connection
 * goes (machined asks the bus who the caller is once the call is in). */
int machined_unregister_send(const char *name);
int machined_unregister_finish(void);
/* Unregister machine NAME if machined has it in unit (a kept unit that outlived our supervisor);
 * 1 if it did, 0 if machined has no such machine there, -errno. */
int machined_forget(const char *name, const char *unit);

/* EnableUnitFiles (enable) or DisableUnitFiles of units (NULL-terminated), then Reload: what
 * `systemctl enable|disable` does. */
int systemd_unit_files_enable(const char *const *units, bool enable, char *err, size_t errlen);
