/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "nspawnlite/supervisor.h"
#include "nspawnlite/userns-mounts.h"

/* Before the clone: a UID range for -U and the tree's ownership where the chosen way wants it
 * (or shifted back without -U). Logs what failed. */
int launch_userns_prepare(Supervisor *s);
/* The machine's runtime files -U needs ("root", "stage", "inaccessible"). Logs what failed. */
int launch_userns_files(Supervisor *s);
/* Once the child exists: its id maps, and the tree or image dressed and handed over. Logs. */
int launch_userns_dress(Supervisor *s, UsernsMounts *outer, const char *stage);
