/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdio.h>

/* One option of a --help: "  -X --long=ARG" (optional_argument: "[=ARG]") and its text, aligned and
 * wrapped. short_name 0: none; long_name NULL: none. */
void help_option(FILE *f, char short_name, const char *long_name, int has_arg, const char *arg,
                 const char *text);
/* What boot's or run's --help says before and after the options. */
void help_launch_header(FILE *f, bool run);
void help_launch_footer(FILE *f, bool run);
