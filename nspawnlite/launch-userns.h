/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "nspawnlite/supervisor.h"
#include "nspawnlite/userns-mounts.h"

/* Before the clone: a UID range for -U and the tree's ownership where the chosen way wants it
 * (or shifted back without -U). Logs what failed. */
int launch_userns_prepare(Supervisor *s);
/* The machine's runtime files -U needs ("root", "stage", "inaccessible"). Logs what failed. */
int launch_userns_files(Supervisor *s);
/* Once the child exists: its id maps, and the tree or image dressed and handed over. Logs. */
int launch_userns_dress(Supervisor *s, UsernsMounts *outer, const char *stage);

/* -U: the kernel counts per-user limits of a user namespace's processes (inotify instances, user
 * namespaces, mount namespaces…) against the namespace's owner, the euid of its creator, too. Owned
 * by root, every machine would share root's fs.inotify.max_user_instances (128): a hundred systemd
 * guests need ten times that. So the supervisor creates the namespace with the range's base as its
 * euid, keeping its capabilities (SECBIT_NO_SETUID_FIXUP) for clone3(CLONE_INTO_CGROUP), and
 * takes root back at once (owner_switch_leave()). */
typedef struct {
        int securebits, dumpable;
        bool active;
} OwnerSwitch;

/* Become the namespace owner-to-be (euid only, capabilities kept). -errno, nothing changed. */
int owner_switch_enter(uid_t owner, OwnerSwitch *ret);
/* Back to root; does nothing when not entered. */
void owner_switch_leave(OwnerSwitch *o);
