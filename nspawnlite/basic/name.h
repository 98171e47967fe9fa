/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#define MACHINE_NAME_MAX 64

/* [A-Za-z0-9][A-Za-z0-9._-]*, at most 64 characters, not "." or "..". Everything derived from a
 * name (paths, cgroups, interface names) is built only from a name that passed this. */
bool machine_name_is_valid(const char *name);

/* Hostnames: labels of [A-Za-z0-9-] separated by single dots, at most 64 characters. */
bool hostname_is_valid(const char *name);
