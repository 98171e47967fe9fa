/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define IFNAME_MAX 15

/* Interface names: 1…15 characters, no '/', ':', whitespace, not "." or "..". */
bool ifname_is_valid(const char *s);

/* The host side of a machine's veth: "ve-NAME" when it fits in 15 characters, else "ve-" + the
 * name's first 3 characters + "-" + 8 hex digits of a hash of the whole name and of attempt, so
 * that a collision can be stepped over by trying attempt 1, 2, … */
void veth_host_ifname(const char *machine, unsigned attempt, char ret[static IFNAME_MAX + 1]);
