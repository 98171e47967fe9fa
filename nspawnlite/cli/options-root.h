/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "nspawnlite/cli/options.h"

/* The tree's directory name, or the image's file name without .raw or .img; -EINVAL when that is
 * no valid machine name. */
int default_machine_name(const char *rootfs, bool image, char **ret);
/* --image=: an existing image file or block device, resolved into c->image and c->rootfs. */
int config_set_image(Config *c, const char *image);
/* ROOTFS: an existing directory, not the host's root, resolved into c->rootfs. */
int config_set_rootfs(Config *c, const char *directory);
/* -M NAME with no ROOTFS (the n arguments after the options): the store's image NAME is meant. */
bool store_image_wanted(const Config *c, int n, char **args);
/* The store's image c->machine, as a tree or as --image=; read-only when the image is. */
int config_set_store_image(Config *c);
/* rootfs is an image of the store (its trees are locked while they run). */
bool rootfs_in_store(const char *rootfs);
