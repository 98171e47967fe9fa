/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One device table (machines/devices.c) and its three users: the nodes of the machine's /dev, the
 * cgroup v1 devices.allow lines the hybrid backend writes, the BPF_CGROUP_DEVICE program of v2.
 * Each user is checked against the table, and the table against nspawnlite(1), THE GUEST. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "machines/bpf-devices.h"
#include "machines/cgroup.h"
#include "machines/devices.h"
#include "nspawnlite/dev.h"
#include "tests/unit/unit.h"

/* What the v1 list was before the table, written by hand (the documented list plus the ptys). */
static const char *const v1_expected[] = {
        "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",   "c 1:8 rwm",    "c 1:9 rwm",
        "c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm",
};

/* Run the program the way the kernel would, for the few instructions bpf_devices_build() emits
 * (anything else fails the test). */
static int bpf_run(const struct bpf_insn *p, size_t n, unsigned type, unsigned access, unsigned major,
                   unsigned minor) {
        struct bpf_cgroup_dev_ctx ctx = { .access_type = (access << 16) | type,
                                          .major = major,
                                          .minor = minor };
        uint64_t reg[11] = { 0 };
        for (size_t pc = 0, steps = 0; pc < n && steps < 4096; pc++, steps++) {
                const struct bpf_insn *i = &p[pc];
                switch (i->code) {
                case BPF_LDX | BPF_W | BPF_MEM:
                        ck_assert_int_eq(i->src_reg, BPF_REG_1);
                        ck_assert_int_le(i->off + 4, (int) sizeof ctx);
                        uint32_t w;
                        memcpy(&w, (const char *) &ctx + i->off, 4);
                        reg[i->dst_reg] = w;
                        break;
                case BPF_ALU | BPF_AND | BPF_K:
                        reg[i->dst_reg] = (uint32_t) (reg[i->dst_reg] & (uint32_t) i->imm);
                        break;
                case BPF_JMP | BPF_JNE | BPF_K:
                        if (reg[i->dst_reg] != (uint64_t) (int64_t) i->imm)
                                pc += i->off;
                        break;
                case BPF_ALU64 | BPF_MOV | BPF_K:
                        reg[i->dst_reg] = (uint64_t) (int64_t) i->imm;
                        break;
                case BPF_JMP | BPF_EXIT:
                        return (int) reg[0];
                default:
                        ck_abort_msg("unexpected instruction 0x%x at %zu", i->code, pc);
                }
        }
        ck_abort_msg("the program runs off its end");
        return -1;
}

static bool table_allows(unsigned major, unsigned minor) {
        for (size_t i = 0; i < machine_devices_size; i++)
                if (machine_devices[i].major == major && (machine_devices[i].minor == DEVICE_MINOR_ANY ||
                                                          (unsigned) machine_devices[i].minor == minor))
                        return true;
        return false;
}

START_TEST(table_is_design) {
        /* The nodes: exactly the documented list, each one device. */
        static const char *const want[] = { "null", "zero", "full", "random", "urandom", "tty", "net/tun" };
        size_t named = 0;
        for (size_t i = 0; i < machine_devices_size; i++) {
                const MachineDevice *d = &machine_devices[i];
                if (!d->name)
                        continue;
                named++;
                ck_assert_msg(d->minor != DEVICE_MINOR_ANY, "/dev/%s must be one device", d->name);
                ck_assert_uint_eq(d->mode, 0666);
        }
        ck_assert_uint_eq(named, sizeof want / sizeof want[0]);
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
                bool found = false;
                for (size_t j = 0; j < machine_devices_size; j++)
                        found |= machine_devices[j].name && strcmp(machine_devices[j].name, want[i]) == 0;
                ck_assert_msg(found, "missing /dev/%s", want[i]);
        }
        ck_assert_str_eq(machine_devices[0].name, "null");
        ck_assert_uint_eq(machine_devices[0].major, 1);
        ck_assert_uint_eq(machine_devices[0].minor, 3);
        /* What the links of /dev lead to on the devpts is allowed too: the multiplexer and the ptys. */
        bool ptmx_link = false;
        for (size_t i = 0; i < device_links_size; i++)
                ptmx_link |= strcmp(device_links[i].name, "ptmx") == 0 &&
                             strcmp(device_links[i].target, "pts/ptmx") == 0;
        ck_assert(ptmx_link);
        ck_assert(table_allows(5, 2));
        ck_assert(table_allows(136, 0) && table_allows(136, 1048575));
        ck_assert(table_allows(10, 200)); /* /dev/net/tun */
        ck_assert(!table_allows(1, 1) && !table_allows(1, 4) && !table_allows(5, 1) && !table_allows(4, 1));
}
END_TEST

START_TEST(v1_lines_from_table) {
        char line[32];
        ck_assert_uint_eq(machine_devices_size, sizeof v1_expected / sizeof v1_expected[0]);
        for (size_t i = 0; i < sizeof v1_expected / sizeof v1_expected[0]; i++) {
                bool found = false;
                for (size_t j = 0; j < machine_devices_size; j++) {
                        ck_assert_int_eq(machine_device_v1_allow(&machine_devices[j], line, sizeof line), 0);
                        found |= strcmp(line, v1_expected[i]) == 0;
                }
                ck_assert_msg(found, "'%s' not generated from the table", v1_expected[i]);
        }
        ck_assert_int_eq(machine_device_v1_allow(&machine_devices[0], line, 5), -ENOBUFS);
}
END_TEST

/* The hybrid backend on a fake devices hierarchy, whose devices.deny and devices.allow are FIFOs so
 * that every write is kept (a real cgroup file takes each write on its own). */
START_TEST(v1_hybrid_writes_the_table) {
        char *dir = make_tmp_dir(), root[512], deny[768], allow[768];
        const char *payload = "machine.slice/machine-t.scope/payload";
        snprintf(root, sizeof root, "%s/devices", dir);
        make_file(root, "machine.slice/machine-t.scope/payload/x", 0644);
        snprintf(deny, sizeof deny, "%s/%s/devices.deny", root, payload);
        snprintf(allow, sizeof allow, "%s/%s/devices.allow", root, payload);
        ck_assert_int_eq(mkfifo(deny, 0600), 0);
        ck_assert_int_eq(mkfifo(allow, 0600), 0);
        int rdeny = open(deny, O_RDONLY | O_NONBLOCK | O_CLOEXEC),
            rallow = open(allow, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        ck_assert_int_ge(rdeny, 0);
        ck_assert_int_ge(rallow, 0);

        MachineCgroup cg = { .backend = &cgroup_backend_hybrid, .payload = (char *) payload, .n_v1 = 1 };
        cg.v1_roots[0] = root;
        ck_assert_int_eq(cgroup_backend_hybrid.restrict_devices(&cg), 0);

        char buf[4096] = { 0 };
        ck_assert_int_eq(read(rdeny, buf, sizeof buf - 1), 1);
        ck_assert_str_eq(buf, "a");
        /* One write per entry, in the table's order. */
        char want[4096] = "", line[32];
        for (size_t i = 0; i < machine_devices_size; i++) {
                ck_assert_int_eq(machine_device_v1_allow(&machine_devices[i], line, sizeof line), 0);
                strcat(want, line);
        }
        memset(buf, 0, sizeof buf);
        ck_assert_int_eq(read(rallow, buf, sizeof buf - 1), (int) strlen(want));
        ck_assert_str_eq(buf, want);
        close(rdeny);
        close(rallow);

        /* Without a devices hierarchy the backend says it cannot (the caller drops CAP_MKNOD). */
        cg.n_v1 = 0;
        ck_assert_int_eq(cgroup_backend_hybrid.restrict_devices(&cg), -EOPNOTSUPP);
        rm_rf_tmp(dir);
}
END_TEST

START_TEST(bpf_program_is_the_table) {
        struct bpf_insn p[64];
        size_t n = bpf_devices_build(p, 64);
        ck_assert_uint_gt(n, 0);
        ck_assert_uint_eq(bpf_devices_build(p, n - 1), 0); /* too small: refused, not cut short */
        ck_assert_uint_eq(bpf_devices_build(p, n), n);
        unsigned acc = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
        /* Every node dev.c makes, any access; the ptys of the devpts and its multiplexer. */
        for (size_t i = 0; i < machine_devices_size; i++) {
                const MachineDevice *d = &machine_devices[i];
                unsigned minor = d->minor == DEVICE_MINOR_ANY ? 7 : (unsigned) d->minor;
                for (unsigned a = 1; a <= acc; a++)
                        ck_assert_msg(bpf_run(p, n, BPF_DEVCG_DEV_CHAR, a, d->major, minor) == 1,
                                      "c %u:%u denied", d->major, minor);
                /* The same numbers as a block device are something else entirely. */
                ck_assert_int_eq(bpf_run(p, n, BPF_DEVCG_DEV_BLOCK, acc, d->major, minor), 0);
        }
        ck_assert_int_eq(bpf_run(p, n, BPF_DEVCG_DEV_CHAR, acc, 136, 4095), 1);
        ck_assert_int_eq(bpf_run(p, n, BPF_DEVCG_DEV_CHAR, acc, 5, 2), 1);
        ck_assert_int_eq(bpf_run(p, n, BPF_DEVCG_DEV_CHAR, acc, 10, 200), 1);
        /* And nothing else: the program and the table agree on every small number. */
        for (unsigned major = 0; major < 300; major++)
                for (unsigned minor = 0; minor < 300; minor++)
                        ck_assert_msg(bpf_run(p, n, BPF_DEVCG_DEV_CHAR, acc, major, minor) ==
                                              (int) table_allows(major, minor),
                                      "c %u:%u: program and table disagree", major, minor);
}
END_TEST

Suite *suite_devices(void) {
        Suite *s = suite_create("devices");
        TCase *t = tcase_create("devices");
        tcase_add_test(t, table_is_design);
        tcase_add_test(t, v1_lines_from_table);
        tcase_add_test(t, v1_hybrid_writes_the_table);
        tcase_add_test(t, bpf_program_is_the_table);
        suite_add_tcase(s, t);
        return s;
}
