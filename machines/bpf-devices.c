/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/bpf-devices.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "machines/devices.h"
#include "nspawnlite/basic/macro.h"

#define INSN(c, d, s, o, i) \
        ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define LDX_W(d, s, o) INSN(BPF_LDX | BPF_W | BPF_MEM, d, s, o, 0)
#define AND_K(d, k)    INSN(BPF_ALU | BPF_AND | BPF_K, d, 0, 0, k)
#define JNE_K(d, k, o) INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, k)
#define MOV_K(d, k)    INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, k)
#define EXIT()         INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

size_t bpf_devices_build(void *out, size_t max) {
        struct bpf_insn *p = out;
        size_t n = 0;
#define EMIT(i)                   \
        do {                      \
                if (n >= max)     \
                        return 0; \
                p[n++] = (i);     \
        } while (0)
        /* r2 = device type, r3 = major, r4 = minor (struct bpf_cgroup_dev_ctx in r1) */
        EMIT(LDX_W(BPF_REG_2, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, access_type)));
        EMIT(AND_K(BPF_REG_2, 0xffff));
        EMIT(LDX_W(BPF_REG_3, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, major)));
        EMIT(LDX_W(BPF_REG_4, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, minor)));
        for (size_t i = 0; i < machine_devices_size; i++) {
                const MachineDevice *d = &machine_devices[i];
                /* Each entry: if char && major && (minor): allow. A failed test skips the rest of it. */
                bool any = d->minor == DEVICE_MINOR_ANY;
                int len = any ? 4 : 5;
                EMIT(JNE_K(BPF_REG_2, BPF_DEVCG_DEV_CHAR, len - 1));
                EMIT(JNE_K(BPF_REG_3, (int) d->major, len - 2));
                if (!any)
                        EMIT(JNE_K(BPF_REG_4, d->minor, 2));
                EMIT(MOV_K(BPF_REG_0, 1));
                EMIT(EXIT());
        }
        EMIT(MOV_K(BPF_REG_0, 0));
        EMIT(EXIT());
#undef EMIT
        return n;
}

int bpf_devices_attach(int cgroup_fd) {
        struct bpf_insn insns[64];
        size_t n = bpf_devices_build(insns, ELEMENTSOF(insns));
        if (n == 0)
                return -E2BIG;
        union bpf_attr load = {
                .prog_type = BPF_PROG_TYPE_CGROUP_DEVICE,
                .insns = (uint64_t) (uintptr_t) insns,
                .insn_cnt = (uint32_t) n,
                .license = (uint64_t) (uintptr_t) "GPL",
        };
        _cleanup_close_ int prog = (int) syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load);
        if (prog < 0)
                return -errno;
        union bpf_attr attach = {
                .target_fd = (uint32_t) cgroup_fd,
                .attach_bpf_fd = (uint32_t) prog,
                .attach_type = BPF_CGROUP_DEVICE,
                .attach_flags = BPF_F_ALLOW_MULTI,
        };
        if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof attach) < 0)
                return -errno;
        /* The cgroup holds the program now; our fd may go. */
        return 0;
}
