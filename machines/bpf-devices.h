/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The device policy on cgroup v2: a BPF_CGROUP_DEVICE program attached to the machine's payload
 * cgroup, allowing only the character devices of machine_devices[] (any access), denying the rest. */

/* Build the program for the table into insns (struct bpf_insn[max], exported for tests); returns
 * the number of instructions, 0 when max is too small. */
size_t bpf_devices_build(void *insns, size_t max);

/* Load the program and attach it to the cgroup directory fd (BPF_F_ALLOW_MULTI, so the guest may
 * add its own below). -EPERM/-ENOSYS/-EINVAL where the kernel cannot. */
int bpf_devices_attach(int cgroup_fd);
