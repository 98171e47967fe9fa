/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
        const char *name; /* relative to /dev */
        const char *target;
} DeviceLink;

/* What a machine's /dev holds besides pts/, shm/, mqueue/ and console: the nodes of
 * machine_devices[] (machines/devices.h) that have a name, and these links. */
extern const DeviceLink device_links[];
extern const size_t device_links_size;

/* Create the nodes and links in the machine's /dev (a fresh tmpfs inside the tree at rootfd). In a
 * user namespace, where mknod is not allowed and a tmpfs is nodev, the host's own nodes are bound
 * there instead (an absent optional one, like /dev/net/tun, is left out). */
int dev_populate(int rootfd, bool userns, char *err, size_t errlen);
