/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where nspawnlite keeps its runtime state (machines, network leases, -U range locks):
 * $NSPAWNLITE_RUNTIME_DIR when it is an absolute path, else /run/nspawnlite. */
const char *runtime_dir(void);
