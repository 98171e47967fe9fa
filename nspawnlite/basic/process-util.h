/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

/* waitid()'s id type for a pidfd (Linux 5.4); older headers lack it (newer glibc has it as an
 * enumerator, not a macro: <sys/wait.h> comes first so that this never renames it). */
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* Wait for the child pid to end, retrying on EINTR: its status as a shell reports it (the exit
 * status, or 128+N for signal N), or -errno. */
int wait_exit_status(pid_t pid);

/* Wait for the process behind pidfd (a child of ours) to end and reap it, retrying on EINTR: 0 with
 * its siginfo (si_code CLD_EXITED and the exit status, or how a signal ended it), or -errno. */
int pidfd_wait_exited(int pidfd, siginfo_t *ret);
