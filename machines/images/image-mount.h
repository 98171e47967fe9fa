/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machines/images/image-probe.h"

/* Bind [offset, offset+size) of the file at image_fd to a free loop device with one
 * LOOP_CONFIGURE (autoclear: the device goes with its last user, no partition nodes, no udev;
 * direct I/O where the backing file allows it, else buffered). Returns the loop device's fd and its
 * path in ret_path. */
int image_loop_attach(int image_fd, uint64_t offset, uint64_t size, bool read_only, char *ret_path,
                      size_t pathlen);

/* What image_mount_detached() makes: detached mounts (fsmount(), in no namespace: nothing in
 * anyone's mount table until attached, and gone with the last fd if never attached) of the root
 * and of each other partition of ImageChoice (-EBADF where the image has none), one loop device
 * each (autoclear), indexed by ImagePartKind. */
typedef struct {
        int fd[_IMAGE_PART_MAX];
} ImageMounts;
#define IMAGE_MOUNTS_NULL                                      \
        {                                                      \
                .fd = { [0 ... _IMAGE_PART_MAX - 1] = -EBADF } \
        }

/* Attach loop devices to what choice names and mount them, detached, read-only if read_only or
 * the filesystem demands it; nodev all (the guest's /dev is ours), and the ESP and XBOOTLDR also
 * nosuid,noexec (vfat: umask=0077), as systemd-dissect mounts them. The loop fds are closed before returning:
 * the mounts hold the devices. On failure err names the step (and the filesystem's message, if any). */
int image_mount_detached(int image_fd, const ImageChoice *choice, bool read_only, ImageMounts *ret, char *err,
                         size_t errlen);
/* Attach m in the caller's mount namespace: the root on where, each other partition on its mount
 * point resolved inside that root (created if missing; symlinks never leave the root); the ESP on
 * /efi when the root has /efi or XBOOTLDR takes /boot, else on /boot. The fds are used up. */
int image_mounts_attach(ImageMounts *m, const char *where, char *err, size_t errlen);
/* The same in two steps, for a root that gets layers of its own (--ephemeral, --volatile=) before
 * its partitions go on it: the root on where; then the partitions of the kinds in the mask kinds
 * (1 << ImagePartKind; the others are dropped) below the tree open at rootfd. layer, if not NULL,
 * is called with each partition just attached (mnt: its root), to put a layer on it. */
#define IMAGE_PARTS_ALL ((1U << _IMAGE_PART_MAX) - 1)
typedef int (*ImageLayerFunc)(ImagePartKind kind, int mnt, void *userdata, char *err, size_t errlen);
int image_mounts_attach_root(ImageMounts *m, const char *where, char *err, size_t errlen);
int image_mounts_attach_parts(ImageMounts *m, int rootfd, unsigned kinds, ImageLayerFunc layer,
                              void *userdata, char *err, size_t errlen);
void image_mounts_close(ImageMounts *m);

/* Detached copies of m (open_tree's clones): the same filesystems, no second mount of them; each
 * copy can be attached once, and m stays as it is. */
int image_mounts_clone(const ImageMounts *m, ImageMounts *ret);

/* Open path and probe and choose, as image_mount() wants it; on failure err is one line
 * for the user (the errno is returned too). ret_fd: O_RDONLY when read_only, else O_RDWR. */
int image_open(const char *path, bool read_only, int *ret_fd, ImageChoice *ret, char *err, size_t errlen);
