/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "machines/images/image-mount.h"

/* What becomes of the tree as the machine's root (--ephemeral, --volatile=). */
typedef enum {
        ROOT_TREE,     /* the tree itself */
        ROOT_OVERLAY,  /* --ephemeral, --volatile=overlay: an overlay with its upper layer on a tmpfs */
        ROOT_VOLATILE, /* --volatile=yes: a tmpfs with the tree's /usr bound read-only into it */
        ROOT_STATE,    /* --volatile=state: the tree read-only, a tmpfs on /var */
} RootMode;

/* --overlay=, --overlay-ro=: host directories stacked into one overlayfs at dest in the guest.
 * lower[0] is the lowest layer; upper NULL for a read-only overlay. */
typedef struct {
        char **lower;
        size_t n_lower;
        char *upper;
        char *work; /* beside upper (overlayfs wants them on one filesystem): made by the child,
                     * removed by overlays_cleanup() */
        char *dest;
} CustomOverlay;

/* --ephemeral-size=disk: the overlay root's upper layer is not a tmpfs but a directory of the
 * machine's runtime dir (overlays_upper_dir()), made empty at each start and removed when the machine
 * ends, or by gc after a crash. Elsewhere the value is the upper tmpfs's size=. */
#define OVERLAY_UPPER_DISK "disk"

/* In the child's own mount namespace, with root (the tree, bound on itself and private) still
 * reachable from the host: stack what mode asks on root, so that root names the new root. Nothing
 * of it shows outside the namespace, nor survives it but upper_dir's content. upper_dir: NULL for the
 * upper layer on a tmpfs of tmpfs_size, else the (empty) directory that holds it. */
int overlays_prepare_root(RootMode mode, const char *root, const char *tmpfs_size, const char *upper_dir,
                          char *err, size_t errlen);
/* An image's partitions but the root (m), attached below the root open at rootfd once the root has
 * its layers (mode), as that mode wants them: each under an overlay of its own for ROOT_OVERLAY (its
 * upper on a tmpfs of upper_size), only /usr for ROOT_VOLATILE, all but /var and /var/tmp for
 * ROOT_STATE (its /var is a tmpfs). The others are dropped. */
int overlays_image_parts(ImageMounts *m, int rootfd, RootMode mode, const char *upper_size, char *err,
                         size_t errlen);

/* Where --ephemeral-size=disk keeps machine's upper layer: RUNTIME/machines/NAME/ephemeral. */
int overlays_upper_dir(const char *machine, char *ret, size_t n);
/* Make it, empty (what an earlier start left goes first). */
int overlays_upper_dir_make(const char *machine);
/* Remove it with everything in it, crossing no mount and following no symlink: 1 when there was
 * one, 0 when not. */
int overlays_upper_dir_remove(const char *machine);

/* Under -U, as the host's root outside the guest's user namespace: mount the custom overlays at
 * dir/i (the stage), where the child binds them from (their layers keep their host owners, like
 * --bind's sources). */
int overlays_stage_custom(const char *dir, const CustomOverlay *o, size_t n, char *err, size_t errlen);

/* Mount the custom overlays under the tree at rootfd: themselves, or with staged (-U) bound from
 * staged/i. */
int overlays_apply_custom(int rootfd, const CustomOverlay *o, size_t n, const char *staged, char *err,
                          size_t errlen);

/* Remove the work directories the custom overlays left (the machine is gone). */
void overlays_cleanup(const CustomOverlay *o, size_t n);
