/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "machines/control.h"
#include "machines/registry.h"

/* The verbs that manage running machines through the registry and the control socket. Each takes
 * argv with the verb as argv[0] and returns the process exit status. */
int verb_list(int argc, char **argv);
int verb_status(int argc, char **argv);
int verb_console(int argc, char **argv);
int verb_poweroff(int argc, char **argv);
int verb_reboot(int argc, char **argv);
int verb_terminate(int argc, char **argv);
int verb_kill(int argc, char **argv);
int verb_freeze(int argc, char **argv);
int verb_thaw(int argc, char **argv);
int verb_set_limit(int argc, char **argv);
int verb_gc(int argc, char **argv);
int verb_login(int argc, char **argv);
int verb_shell(int argc, char **argv);

/* One request to a machine's supervisor, within the control deadline: 0 with the text after "OK"
 * in reply (and the connection in ret_fd, if wanted), or -errno with the supervisor's message in
 * reply, or an empty reply when it could not be asked (-ETIMEDOUT: it did not answer in time).
 * Not for requests whose reply carries an fd (-EINVAL): those connect and use control_call(). */
int machine_call(const MachineInfo *m, ControlRequestId id, char *const *args, char *reply, size_t n,
                 int *ret_fd);
/* Print why machine_call() failed, in one line naming the machine and its supervisor; returns r. */
int log_control_error(const MachineInfo *m, int r, const char *reply);
/* For a verb that cannot read the registry or reach a control socket for lack of privilege: says
 * so in one line, and returns the exit status (1). */
int log_needs_root(const char *verb);
/* Load the state of the running machine NAME (a valid name) for verb, or say in one line why not
 * (no such machine, not running, still starting, not root, a foreign state file): -errno. */
int load_machine(const char *verb, const char *name, MachineInfo *m);
