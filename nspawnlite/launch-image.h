/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

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
} LaunchImage;

/* Probe the image, lock it (shared when read-only, else exclusive: two writers would corrupt it),
 * and try it once in a short-lived child of a mount namespace of its own: it mounts, and for boot
 * it has os-release and an init. Logs one line on failure. */
int launch_image_prepare(const LaunchSpec *c, LaunchImage *ret);
void launch_image_done(LaunchImage *img);
