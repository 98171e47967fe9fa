/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Paths inside a guest tree are resolved as if the tree were "/": symlinks and ".." never leave it
 * (openat2 RESOLVE_IN_ROOT; on old kernels a component walk that refuses symlinks). */
int chase_in_root(int rootfd, const char *path, int open_flags, int *ret_fd);

/* Open the absolute host path without following a symlink anywhere on it (-ELOOP; -ENOTDIR from the
 * walk of a kernel without openat2), for paths an unprivileged host user might redirect. */
int open_no_symlinks(const char *path, int open_flags, int *ret_fd);

/* Create the directory path (and its parents) inside the tree; returns an O_PATH fd of it. */
int mkdir_p_in_root(int rootfd, const char *path, mode_t mode, int *ret_fd);

/* Make sure path exists inside the tree as a directory (want_dir) or a regular file, creating it
 * (and its parents) if missing; returns an O_PATH fd of it, for use as a mount target. */
int mount_target_in_root(int rootfd, const char *path, bool want_dir, int *ret_fd);

/* "/proc/self/fd/N": how a resolved fd is named for mount(2). */
typedef struct {
        char path[32];
} FdPath;
FdPath fd_path(int fd);

bool path_is_absolute(const char *p);
/* Normalized: no "." or ".." components, no empty components, not the root. */
bool path_is_safe_absolute(const char *p);

/* Whether every directory from / down to the absolute PATH (itself included) lets others through
 * (o+x): then any host user can reach it. 1 when so, with *ret_closable the length of the prefix
 * naming PATH's parent (the directory to close); 0 when not; -errno. */
int path_reachable_by_all(const char *path, size_t *ret_closable);

/* Whether only root can change what the absolute PATH names: every existing directory from / down
 * to it root's and writable by nobody else (a sticky one, as /tmp, above it), a symlink on the way
 * root's and its target the same. The components still missing are left to their creator. 0 when
 * so; -EPERM (or -errno) when not, with ret_bad naming the offending prefix. */
int path_only_root_changes(const char *path, char *ret_bad, size_t n_bad);
