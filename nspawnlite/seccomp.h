/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>

/* Load the machine's default filter (the policy of seccomp-policy.h, compiled at build time). */
int seccomp_load_machine_filter(bool no_new_privileges);

/* The program as built in, for the unit tests. */
const struct sock_filter *seccomp_machine_filter(size_t *ret_len);
