/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Copies for the store (clone, import-fs): whole trees that keep what a guest tree needs (owners,
 * modes, times, xattrs and so ACLs, device nodes, FIFOs, symlinks, hardlinks), and files that
 * share blocks where the filesystem can (FICLONE) and keep their holes. Nothing is followed out of
 * the source: symlinks are copied as symlinks, other filesystems mounted in the tree are left
 * empty. Return -errno; print nothing. */

#include <stdint.h>

/* Called now and then with the bytes of file data copied so far; a negative return stops the copy
 * with that error (an interrupted verb). */
typedef int (*CopyProgress)(uint64_t bytes, void *userdata);

/* Copy the contents of the directory src_fd into the (empty) directory dst_fd, and src_fd's own
 * owner, mode, xattrs and times onto dst_fd. */
int copy_tree(int src_fd, int dst_fd, CopyProgress progress, void *userdata);

/* The data of the regular file src_fd into dst_fd (empty): a reflink where the filesystem can,
 * else a copy of the data that keeps the holes. */
int copy_file_data(int src_fd, int dst_fd, CopyProgress progress, void *userdata);
