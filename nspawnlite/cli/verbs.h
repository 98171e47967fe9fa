/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Dispatch argv (argv[0] is the program) to a verb. Returns the process exit status. */
int verbs_dispatch(int argc, char **argv);
