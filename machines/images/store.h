/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The image store (/var/lib/machines, shared with machinectl): directories, btrfs subvolumes and
 * NAME.raw files. Every writer works under a hidden temporary ".#NAME.XXXXXX" that it holds locked
 * and renames to the real name at the end, so a crash never leaves half an image under a real
 * name; gc removes the temporaries whose lock nobody holds. An image in use is flock()ed on the
 * image itself (the directory, or the raw file: the lock --image takes), exclusively by a writer,
 * shared by readers. Helpers here return -errno and print nothing. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/name.h"
#include "nspawnlite/basic/parse-util.h"

typedef enum {
        STORE_DIRECTORY,
        STORE_SUBVOLUME,
        STORE_RAW,
        _STORE_KIND_MAX,
} StoreKind;

/* "directory", "subvolume", "raw": machinectl's words, in list-images and --json. */
const char *store_kind_to_string(StoreKind kind);

#define STORE_FILE_MAX (MACHINE_NAME_MAX + sizeof(".raw"))
#define STORE_TEMP_MAX (sizeof(".#") + MACHINE_NAME_MAX + sizeof(".raw.XXXXXX"))

typedef struct {
        char name[MACHINE_NAME_MAX + 1];
        char file[STORE_FILE_MAX]; /* its entry in the store: NAME or NAME.raw */
        StoreKind kind;
        bool read_only;
        usec_t crtime; /* 0 where the filesystem does not record it */
        usec_t mtime;
} StoreImage;

typedef struct {
        int store_fd; /* our own dup, for the commit or the removal */
        int fd;       /* the temporary (a directory, or the raw file read-write); holds its lock */
        StoreKind kind;
        char temp[STORE_TEMP_MAX];
        char file[STORE_FILE_MAX];
} StoreTemp;
#define STORE_TEMP_NULL \
        { .store_fd = -EBADF, .fd = -EBADF }

/* $NSPAWNLITE_MACHINES_DIR when absolute, else /var/lib/machines. */
const char *store_dir(void);
/* The store's directory (created 0700 when missing), an O_DIRECTORY fd. */
int store_open(int *ret_fd);

/* The image NAME: NAME/ (a directory or a btrfs subvolume) or NAME.raw. -EINVAL for a name that is
 * not a machine name, -ENOENT when there is none. */
int store_find(int store_fd, const char *name, StoreImage *ret);
/* Every image, sorted by name (hidden entries, temporaries and other files are not images). */
int store_list(int store_fd, StoreImage **ret, size_t *ret_n);
/* Disk usage in bytes (a walk of the tree for directories; hardlinked blocks count once). */
int store_usage(int store_fd, const StoreImage *img, uint64_t *ret);

/* A temporary for the new image NAME of kind (a directory, a subvolume, or an empty raw file), locked
 * exclusively. -EEXIST when NAME exists (of any kind), -EINVAL for an invalid name, -ENOTTY for a
 * subvolume where the store is not on btrfs. */
int store_begin(int store_fd, const char *name, StoreKind kind, StoreTemp *ret);
/* The same as a btrfs snapshot of the subvolume src_fd (-ENOTTY, -EXDEV where it cannot be). */
int store_begin_snapshot(int store_fd, const char *name, int src_fd, StoreTemp *ret);
/* Rename the temporary to its real name (never over an existing one: -EEXIST) and unlock it. */
int store_commit(StoreTemp *t);
/* Remove the temporary (nothing when committed or empty); the cleanup function of StoreTemp. */
void store_abort(StoreTemp *t);

/* Lock the image NAME (exclusive for a writer, shared for readers): -EBUSY when a machine holds it
 * the other way, -ENOENT, -EINVAL. The lock lasts as long as *ret_lock_fd is open. */
int store_lock_image(int store_fd, const char *name, bool exclusive, int *ret_lock_fd);
/* The same lock on an open image (a directory fd or a raw file's). */
int store_lock_fd(int fd, bool exclusive);

/* The image goes away: renamed to a temporary first, so that a crash leaves nothing under its name but
 * what gc removes. The caller holds its lock exclusively. */
int store_remove(int store_fd, const StoreImage *img);
/* Rename to new_name (-EEXIST when an image of that name exists, of any kind). */
int store_rename(int store_fd, const StoreImage *img, const char *new_name);
/* machinectl's read-only marks: the btrfs read-only flag for subvolumes, the immutable attribute
 * for directories, no write permission bits for raw files. */
int store_set_read_only(int store_fd, const StoreImage *img, bool read_only);

/* Remove every temporary whose lock nobody holds; *ret_removed counts them. */
int store_gc(int store_fd, unsigned *ret_removed);

/* Recursively remove the entry name of dirfd (btrfs subvolumes inside too); -ENOENT when missing. */
int store_remove_tree_at(int dirfd, const char *name);
