/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nspawnlite/mounts.h"
#include "nspawnlite/overlays.h"

/* Under -U, mounts the guest must not be able to undo (/proc, its masks, /sys, and the nosuid and
 * nodev of its tmpfs mounts: MOUNT_OUTER and MOUNT_GUEST_TMPFS in the table) are made by the
 * host's root, outside the guest's user namespace, and reach the guest's mount namespace by
 * propagation: the kernel locks every mount that propagates into a mount namespace of a less
 * privileged user namespace (MNT_LOCKED), so the guest's root can neither unmount them nor mount a
 * proc or sysfs that would show what they cover.
 *
 * The kernel also locks the flags (read-only, nosuid, nodev, noexec) of every mount it copies into
 * such a namespace: a flag set in the guest's own namespace, the guest's root could lift again. So
 * every host mount the guest gets read-only comes from here too: the tree (--read-only), the bind
 * sources (--bind-ro, and the host's own flags of every --bind) and /run/host/os-release.
 *
 * The way there, around the clone of the child (start_guest):
 *   userns_mounts_enter()  the supervisor moves to an "outer" mount namespace of its own (a slave
 *                          of the host's), where the machine's mount point is a shared mount, and
 *                          attaches the bind sources on a tmpfs at the stage (USERNS_STAGE_BIND);
 *   clone3()               the child's mount namespace is a copy of it: its mount point a slave,
 *                          the staged sources locked, for the child to bind from;
 *   userns_mounts_leave()  the supervisor goes back to its own mount namespace;
 *   userns_mounts_apply()  a helper in the outer namespace, from the child's PID (and network)
 *                          namespace, puts the tree (read-only with --read-only) on the stage,
 *                          the layers of --ephemeral/--volatile= on it,
 *                          mounts /proc, /sys and the guest's tmpfs mounts (/dev, /run, /tmp,
 *                          owned by its root) on it, and moves the whole onto the mount point:
 *                          only what comes inside a propagated tree is locked, not the tree's own
 *                          root.
 * The child then binds the tree onto itself (its own, unlocked, mount to pivot into, whose
 * submounts keep their locks) and makes the rest of the table inside. */
typedef struct {
        int outer_fd; /* the outer mount namespace */
        int orig_fd;  /* the supervisor's own, while it is in the outer one */
        int cwd_fd;
} UsernsMounts;

#define USERNS_MOUNTS_NULL ((UsernsMounts){ .outer_fd = -1, .orig_fd = -1, .cwd_fd = -1 })

/* Under the stage (an empty directory): where the tree is dressed, the bind source of m[i] as
 * USERNS_STAGE_BIND "/i", the custom overlay o[i] as USERNS_STAGE_OVERLAY "/i", and the host's
 * os-release (when it has one). */
#define USERNS_STAGE_TREE       "tree"
#define USERNS_STAGE_BIND       "bind"
#define USERNS_STAGE_OS_RELEASE "os-release"
#define USERNS_STAGE_OVERLAY    "overlay"

/* m: the custom mounts, their sources opened (mounts_open_sources()); they are attached under the
 * stage, which the fds then name. o: the custom overlays, mounted under the stage. On failure, err
 * says what failed. */
int userns_mounts_enter(UsernsMounts *u, const char *mountpoint, const char *stage, const CustomMount *m,
                        const MountSources *src, const CustomOverlay *o, size_t n_overlays, char *err,
                        size_t errlen);
int userns_mounts_leave(UsernsMounts *u);
/* What the helper puts on the stage, and where it goes. */
typedef struct {
        int tree;           /* the detached tree (userns_tree()), or an image's root filesystem */
        ImageMounts *image; /* an image's other partitions, detached, put on the tree's layers; or NULL */
        bool read_only;     /* make all of it read-only */
        RootMode root_mode; /* what goes on the tree first (overlays_prepare_root()) */
        const char *stage;  /* as given to userns_mounts_enter() */
        const char *mountpoint;
        const char *inaccessible; /* the host file that covers masked files */
        bool own_netns;
        uint32_t uid_shift;     /* the host uid of the guest's root, owner of its tmpfs mounts */
        const char *tmpfs_size; /* the spec's */
        const char *upper_size; /* the overlay root's upper tmpfs (--ephemeral-size=, or tmpfs_size) */
        const char *upper_dir;  /* or this directory (--ephemeral-size=disk); NULL */
} UsernsStage;

/* On failure, err says what failed. */
int userns_mounts_apply(UsernsMounts *u, int pidfd, const UsernsStage *st, char *err, size_t errlen);
void userns_mounts_done(UsernsMounts *u);
