/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "nspawnlite/cli/options.h"

/* Run a machine in the foreground as its supervisor, from the checks to the teardown. Returns
 * the exit status for the process: 0 after a poweroff, the init's (or the command's) status,
 * 128+N when it was killed by signal N, 1 when it could not be started (reported already). */
int launch_machine(Config *c);
