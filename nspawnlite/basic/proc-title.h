/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Our own command line is what /proc/PID/cmdline shows. Code that keeps running inside a machine
 * (the stub init) replaces it, so the guest does not learn host paths from it. */
void proc_title_init(int argc, char **argv);
void proc_title_set(const char *title);
