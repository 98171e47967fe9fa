/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* Wait for the child pid to end, retrying on EINTR: its status as a shell reports it (the exit
 * status, or 128+N for signal N), or -errno. */
int wait_exit_status(pid_t pid);
