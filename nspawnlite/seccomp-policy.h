/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <linux/filter.h>
#include <seccomp.h>
#include <stddef.h>

/* The machine's seccomp policy as libseccomp rules: EPERM for the syscalls of the
 * deny table on every ABI the kernel runs (x86-64, i386, x32), EPERM for superblock remounts and
 * for faking terminal input (TIOCSTI, TIOCLINUX), for freezing or shutting down a filesystem
 * (FIFREEZE, FITHAW, the shutdown ioctl of ext4/xfs/f2fs), EAFNOSUPPORT for audit netlink sockets.
 *
 * It is compiled into BPF once, at build time (seccomp-gen writes seccomp-filter.h), not at every
 * start: building it with libseccomp costs ~0.4 ms, a tenth of a short "run". The unit tests check
 * that the program built in is what this policy gives. */
int seccomp_policy_build(scmp_filter_ctx *ret);
/* The policy compiled to BPF, as libseccomp exports it: *ret (to free) of *ret_n instructions. */
int seccomp_policy_export(struct sock_filter **ret, size_t *ret_n);

/* The deny table, for tests and documentation. */
extern const char *const seccomp_denied_syscalls[];
extern const unsigned seccomp_n_denied_syscalls;
