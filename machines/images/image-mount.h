/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machines/images/image-probe.h"

/* Bind [offset, offset+size) of the file at image_fd to a free loop device with one
 * LOOP_CONFIGURE (autoclear: the device goes with its last user, no partition nodes, no udev).
 * Returns the loop device's fd and its path in ret_path. */
int image_loop_attach(int image_fd, uint64_t offset, uint64_t size, bool read_only, char *ret_path,
                      size_t pathlen);

/* Attach and mount what choice names on where (and /usr below it), read-only if read_only or
 * the filesystem demands it. To be called in a mount namespace of the caller's own: the loop
 * devices live as long as these mounts. On failure err names the step. */
int image_mount(int image_fd, const ImageChoice *choice, bool read_only, const char *where, char *err,
                size_t errlen);

/* Open path and probe and choose, as image_mount() wants it; on failure err is one line
 * for the user (the errno is returned too). ret_fd: O_RDONLY when read_only, else O_RDWR. */
int image_open(const char *path, bool read_only, int *ret_fd, ImageChoice *ret, char *err, size_t errlen);
