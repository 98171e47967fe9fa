/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* -U/--private-users: the guest's root is an unprivileged uid on the host. A range of ids is
 * picked (65536 from 524288 upward) or given, and held by an flock under RUNTIME/userns for the
 * machine's life, so that two machines never share one. The tree's ownership is mapped into the
 * range by an idmapped mount, or shifted on disk once (--private-users-ownership=chown). */

#define USERNS_PICK_BASE  UINT32_C(524288)
#define USERNS_RANGE      UINT32_C(65536)
#define USERNS_PICK_SLOTS 4096

typedef enum {
        USERNS_OFF,
        USERNS_PICK,
        USERNS_FIXED,
} UsernsMode;

typedef enum {
        USERNS_OWNERSHIP_MAP,   /* idmapped mount of the tree */
        USERNS_OWNERSHIP_CHOWN, /* the tree's files shifted into the range on disk */
} UsernsOwnership;

typedef struct {
        UsernsMode mode;
        UsernsOwnership ownership;
        uint32_t base, size; /* USERNS_FIXED: as given */
} UsernsConfig;

/* "pick", "yes", "no", "UID", "UID:COUNT". COUNT, when given, must be USERNS_RANGE (-ERANGE):
 * the guest uses ids up to 65534. -EOVERFLOW when the range passes 2^32-1. */
int userns_parse(const char *s, UsernsConfig *ret);
int userns_ownership_parse(const char *s, UsernsOwnership *ret);

typedef struct {
        uint32_t base, size;
        int lock_fd;
        char lock_path[256];
} UsernsRange;

/* Take a range: the given one, or (pick) a free one, preferring preferred_base (the tree's current
 * shift, so a chowned tree keeps its range). -EBUSY when the given range is in use. */
int userns_acquire(const UsernsConfig *c, uint32_t preferred_base, UsernsRange *ret);
void userns_release(UsernsRange *r);

/* Write "0 BASE SIZE" to the uid_map and gid_map of pid. */
int userns_write_maps(pid_t pid, const UsernsRange *r);

/* A detached copy of the tree's mount for the child to put in place, idmapped into pid's user
 * namespace unless pid is 0: -EINVAL/-EOPNOTSUPP when the filesystem cannot be idmapped. */
int userns_tree(const char *path, pid_t pid, int *ret_fd);
/* Idmap the detached mount mnt (and its submounts) into pid's user namespace. Which filesystems
 * allow it is the kernel's call (FS_ALLOW_IDMAP): on 6.18 ext4, xfs, btrfs, squashfs, erofs and
 * tmpfs all do; -EINVAL where one does not. */
int userns_idmap_mount(int mnt, pid_t pid);

/* The uid that owns the tree's root directory: 0 for a tree as installed, BASE for one shifted. */
int userns_tree_shift(const char *path, uint32_t *ret);
/* Shift every owner in the tree (not crossing mounts) from the range at `from` to the one at `to`. */
int userns_shift_tree(const char *path, uint32_t from, uint32_t to);
