/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "nspawnlite/cli/options.h"

/* Each appends one mount to c from its option's value; one error line and -EINVAL (-ENOMEM) on a
 * bad value. */
int parse_bind(Config *c, const char *spec, bool read_only);
int parse_overlay(Config *c, const char *spec, bool read_only);
int parse_tmpfs(Config *c, const char *spec);
