/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The device policy on cgroup v2: a BPF_CGROUP_DEVICE program attached to the machine's payload
 * cgroup, allowing only the character devices of the table (any access), denying the rest. */
typedef struct {
        unsigned major;
        int minor; /* -1: any */
} DeviceAllow;

extern const DeviceAllow device_allow_table[];
extern const size_t device_allow_table_size;

/* Build the program for the table (exported for tests); returns the number of instructions. */
size_t bpf_devices_build(void *insns, size_t max);

/* Load the program and attach it to the cgroup directory fd (BPF_F_ALLOW_MULTI, so the guest may
 * add its own below). -EPERM/-ENOSYS/-EINVAL where the kernel cannot. */
int bpf_devices_attach(int cgroup_fd);
