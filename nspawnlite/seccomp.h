/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Load the machine's default filter (DESIGN.md §3): EPERM for the syscalls in the deny table on
 * every ABI the kernel runs (x86-64, i386, x32), EAFNOSUPPORT for audit netlink sockets. */
int seccomp_load_machine_filter(bool no_new_privileges);

/* The deny table, for tests and documentation. */
extern const char *const seccomp_denied_syscalls[];
extern const unsigned seccomp_n_denied_syscalls;
