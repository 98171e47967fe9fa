/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Mark every fd from 3 up close-on-exec, so nothing but stdio survives an execve() into a guest. */
int fd_cloexec_from_three(void);

/* Close every fd from 3 up but those in keep (any order). */
int close_all_fds_except(const int *keep, size_t n_keep);

int fd_nonblock(int fd, int nonblock);

/* Point stdin, and up to fd last (1 or 2) the standard outputs, at /dev/null. */
int stdio_to_null(int last);

/* Write a whole buffer, retrying on EINTR and short writes. */
int loop_write(int fd, const void *buf, size_t n);

/* Read a small regular file (at most max bytes) into a NUL-terminated buffer; -EBADMSG for
 * anything else (a FIFO, a device). */
int read_file_at(int dirfd, const char *path, size_t max, char **ret);
int write_file_at(int dirfd, const char *path, const char *content);

/* Write content to path atomically: a temporary file next to it, then rename. */
int write_file_atomic(const char *path, const char *content, mode_t mode);
/* Remove what write_file_atomic() leaves in dir when its writer is killed (NAME.tmpXXXXXX). Only
 * for callers that hold the lock every writer of dir holds. */
void remove_stale_tmp_files(const char *dir);

/* sendmsg() of len bytes of buf with n_fds fds as SCM_RIGHTS (at most FD_PASS_MAX), retried on
 * EINTR: the bytes sent, or -errno. */
#define FD_PASS_MAX 32
ssize_t send_with_fds(int fd, const void *buf, size_t len, const int *fds, size_t n_fds, int flags);
