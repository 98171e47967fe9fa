/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "machines/images/image-mount.h"
#include "machines/images/image-probe.h"
#include "nspawnlite/init-detect.h"
#include "nspawnlite/launch.h"

/* A --image= of a machine, as its supervisor holds it. */
typedef struct {
        int fd;         /* the image, open (O_RDONLY when read-only) and flock()ed for the machine's life */
        bool read_only; /* --read-only, or a filesystem that is read-only by nature (squashfs, erofs) */
        ImageChoice choice;
        char init_path[64]; /* boot: the init found inside */
        InitKind init_kind;
        ImageMounts mounts; /* per boot: made by launch_image_mount(), used up by the child */
} LaunchImage;
#define LAUNCH_IMAGE_NULL \
        { .fd = -EBADF, .mounts = IMAGE_MOUNTS_NULL }

/* Probe the image, lock it (shared when read-only, else exclusive: two writers would corrupt it),
 * mount it detached (the first start's mounts), and for boot look at a copy in a short-lived
 * child of a mount namespace of its own: it has os-release and an init. Logs one line on failure. */
int launch_image_prepare(const LaunchSpec *c, LaunchImage *ret);
/* Before each clone (but the first, which has prepare's): the machine's mounts of the image, made
 * detached by the supervisor (its child may no longer open loop devices: on cgroup v2 the device
 * program applies from clone3() on), for the child to attach in its namespace. Logs one line on
 * failure. */
int launch_image_mount(const LaunchSpec *c, LaunchImage *img);
/* A tree of the image store (spec->lock_root): its lock, as the store's images have it, held in
 * img->fd for the machine's life. Logs one line on failure (-EBUSY: in use). */
int launch_tree_lock(const LaunchSpec *c, LaunchImage *img);
void launch_image_done(LaunchImage *img);
