/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The devices a machine may use, one table for everything derived from it: the
 * nodes nspawnlite/dev.c makes in the machine's /dev, the cgroup v1 devices.allow lines
 * (cgroup-hybrid.c) and the BPF_CGROUP_DEVICE program of cgroup v2 (bpf-devices.c). All are
 * character devices, allowed for any access (read, write, mknod). */

#define DEVICE_MINOR_ANY (-1)

typedef struct {
        const char *name; /* the node made below /dev; NULL: only allowed (it lives on the devpts) */
        mode_t mode;
        unsigned major;
        int minor; /* DEVICE_MINOR_ANY for every minor of major */
} MachineDevice;

extern const MachineDevice machine_devices[];
extern const size_t machine_devices_size;

/* The entry's line for cgroup v1's devices.allow: "c 1:3 rwm", "c 136:* rwm". */
int machine_device_v1_allow(const MachineDevice *d, char *buf, size_t n);
