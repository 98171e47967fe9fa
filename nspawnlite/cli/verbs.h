/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Dispatch argv (argv[0] is the program) to a verb. Returns the process exit status. */
int verbs_dispatch(int argc, char **argv);

/* Before a verb uses the image store: refused (logged, -errno) when others than root may change it
 * or a directory above it; with adding (the verb brings images in), a warning when every host user
 * can reach its images' setuid files. */
int store_dir_safe(bool adding);
