/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "machines/cgroup.h"

/* The one clear-up of a dead machine NAME, for gc and for a boot that reuses the name; the caller
 * holds the machine's lock (whose release removes its runtime files). Its cgroup cg (initialised;
 * NULL when no cgroup hierarchy could be found) is killed and removed only when it is this runtime dir's; its
 * network leftovers go when it was registered (a runtime directory) or had a cgroup of ours. Returns 1 when
 * anything of ours was there, 0 when nothing was, -EEXIST when the cgroup is someone else's (ret_path,
 * ret_why say which and why: the network is cleared all the same for a registered machine), or -errno from
 * the ownership check. A cgroup that cannot be removed is warned about only. */
int machine_clear_leftovers(MachineCgroup *cg, const char *name, bool registered, char *ret_path,
                            size_t path_len, char *ret_why, size_t why_len);
/* Initialise cg for the dead machine NAME from what its state file recorded (its unit's cgroup: a
 * --slice=, a kept unit): 1 when it recorded a unit, 0 when cg has the default paths (no state file,
 * or no unit in it), -errno. */
int machine_cgroup_init_dead(MachineCgroup *cg, const char *name);

/* The image store's temporaries that no writer holds any more (a clone or import killed midway):
 * removed, *ret_removed counts them. A store that does not exist has none. */
int gc_store(unsigned *ret_removed);
