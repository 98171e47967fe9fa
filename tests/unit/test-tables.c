/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/capability.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "machines/devices.h"
#include "nspawnlite/caps.h"
#include "nspawnlite/dev.h"
#include "nspawnlite/init-detect.h"
#include "nspawnlite/mounts.h"
#include "nspawnlite/seccomp-policy.h"
#include "nspawnlite/seccomp.h"
#include "tests/unit/unit.h"

static const MountEntry *find_mount(const char *where) {
        for (size_t i = 0; i < mount_table_size; i++)
                if (strcmp(mount_table[i].where, where) == 0)
                        return &mount_table[i];
        return NULL;
}

static size_t mount_index(const char *where) {
        for (size_t i = 0; i < mount_table_size; i++)
                if (strcmp(mount_table[i].where, where) == 0)
                        return i;
        return (size_t) -1;
}

START_TEST(mounts_api_filesystems) {
        const MountEntry *e;
        ck_assert_ptr_nonnull(e = find_mount("/proc"));
        ck_assert_str_eq(e->type, "proc");
        ck_assert_uint_eq(e->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC), MS_NOSUID | MS_NODEV | MS_NOEXEC);
        ck_assert_ptr_nonnull(e = find_mount("/sys"));
        ck_assert(e->flags & MS_RDONLY);
        ck_assert_ptr_nonnull(e = find_mount("/sys/fs/cgroup"));
        ck_assert_str_eq(e->type, "cgroup2");
        ck_assert(!(e->flags & MS_RDONLY));
        ck_assert_ptr_nonnull(e = find_mount("/dev"));
        ck_assert_str_eq(e->type, "tmpfs");
        ck_assert(!(e->flags & MS_NODEV));
        ck_assert_ptr_nonnull(e = find_mount("/dev/pts"));
        ck_assert_ptr_nonnull(strstr(e->options, "newinstance"));
        ck_assert_ptr_nonnull(strstr(e->options, "ptmxmode=0666"));
        ck_assert_ptr_nonnull(strstr(e->options, "gid=5"));
        static const char *const tmpfs[] = { "/dev/shm", "/run", "/tmp" };
        for (size_t i = 0; i < 3; i++) {
                ck_assert_ptr_nonnull(e = find_mount(tmpfs[i]));
                ck_assert_str_eq(e->type, "tmpfs");
                ck_assert(e->flags & MS_NODEV);
        }
        ck_assert_ptr_nonnull(e = find_mount("/dev/mqueue"));
        ck_assert_str_eq(e->type, "mqueue");
}
END_TEST

START_TEST(mounts_proc_masks) {
        static const char *const hidden[] = { "/proc/sysrq-trigger", "/proc/kcore", "/proc/kallsyms", "/proc/keys",
                                              "/proc/timer_list" };
        static const char *const ro[] = { "/proc/sys", "/proc/acpi", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/scsi" };
        for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++) {
                const MountEntry *e = find_mount(hidden[i]);
                ck_assert_msg(e && e->op == MOUNT_INACCESSIBLE, "%s must be inaccessible", hidden[i]);
        }
        for (size_t i = 0; i < sizeof ro / sizeof ro[0]; i++) {
                const MountEntry *e = find_mount(ro[i]);
                ck_assert_msg(e && e->op == MOUNT_BIND_SELF_RO, "%s must be read-only", ro[i]);
        }
        const MountEntry *net = find_mount("/proc/sys/net");
        ck_assert(net && net->op == MOUNT_BIND_SELF && (net->mode & MOUNT_NETNS_ONLY));
        /* Order matters: what a mount covers must exist first, and net before the read-only sys. */
        ck_assert_uint_lt(mount_index("/dev"), mount_index("/dev/pts"));
        ck_assert_uint_lt(mount_index("/run"), mount_index(INACCESSIBLE_FILE));
        ck_assert_uint_lt(mount_index(INACCESSIBLE_FILE), mount_index("/proc/kcore"));
        ck_assert_uint_lt(mount_index("/proc"), mount_index("/proc/sys/net"));
        ck_assert_uint_lt(mount_index("/proc/sys/net"), mount_index("/proc/sys"));
        ck_assert_uint_lt(mount_index("/sys"), mount_index("/sys/fs/cgroup"));
        /* Under -U, what the guest must not undo is made outside its user namespace (locked):
         * /proc and /sys with everything on them; the cgroup2 view is the guest's own to manage. */
        for (size_t i = 0; i < mount_table_size; i++) {
                const MountEntry *e = &mount_table[i];
                bool outer = strncmp(e->where, "/proc", 5) == 0 ||
                             (strncmp(e->where, "/sys", 4) == 0 && strcmp(e->where, "/sys/fs/cgroup") != 0);
                ck_assert_msg(!!(e->mode & MOUNT_OUTER) == outer, "%s: MOUNT_OUTER must be %s", e->where,
                              outer ? "set" : "clear");
        }
}
END_TEST

START_TEST(devices) {
        /* Exactly the documented list: the nodes are the named rows of the device table. */
        static const char *const want[] = { "null", "zero", "full", "random", "urandom", "tty", "net/tun" };
        size_t n_nodes = 0;
        for (size_t j = 0; j < machine_devices_size; j++)
                n_nodes += machine_devices[j].name != NULL;
        ck_assert_uint_eq(n_nodes, sizeof want / sizeof want[0]);
        for (size_t i = 0; i < n_nodes; i++) {
                bool found = false;
                for (size_t j = 0; j < machine_devices_size; j++)
                        found |= machine_devices[j].name && strcmp(machine_devices[j].name, want[i]) == 0;
                ck_assert_msg(found, "missing /dev/%s", want[i]);
        }
        ck_assert_uint_eq(machine_devices[0].major, 1);
        ck_assert_uint_eq(machine_devices[0].minor, 3);
        static const char *const links[] = { "fd", "stdin", "stdout", "stderr", "ptmx" };
        ck_assert_uint_eq(device_links_size, 5);
        for (size_t i = 0; i < 5; i++)
                ck_assert_str_eq(device_links[i].name, links[i]);
        ck_assert_str_eq(device_links[4].target, "pts/ptmx");
}
END_TEST

START_TEST(capabilities) {
        uint64_t d = capability_default_set(false);
        ck_assert_int_eq(__builtin_popcountll(d), 26);
        ck_assert(d & CAP_MASK(CAP_SYS_ADMIN));
        ck_assert(d & CAP_MASK(CAP_MKNOD));
        ck_assert(d & CAP_MASK(CAP_SYS_BOOT));
        ck_assert(!(d & CAP_MASK(CAP_SYS_MODULE)));
        ck_assert(!(d & CAP_MASK(CAP_NET_ADMIN)));
        ck_assert(!(d & CAP_MASK(CAP_SYS_TIME)));
        ck_assert(capability_default_set(true) & CAP_MASK(CAP_NET_ADMIN));
        /* nspawn 252's value, before intersecting with a host that lacks SYS_RESOURCE. */
        ck_assert_uint_eq(capability_default_set(true), 0xfdecbfffULL);
        /* Never more than the host has. */
        uint64_t host = capability_host_bounding_set();
        ck_assert_uint_eq(capability_machine_set(true, CAP_MASK(CAP_SYS_MODULE), 0) & ~host, 0);
        ck_assert(!(capability_machine_set(true, 0, CAP_MASK(CAP_SYS_ADMIN)) & CAP_MASK(CAP_SYS_ADMIN)));
}
END_TEST

START_TEST(seccomp_table) {
        static const char *const must[] = { "keyctl", "add_key", "request_key", "kexec_load", "init_module",
                                            "finit_module", "delete_module", "open_by_handle_at", "bpf",
                                            "perf_event_open", "swapon", "swapoff", "quotactl", "fanotify_init",
                                            "lookup_dcookie", "iopl", "ioperm", "acct", "clock_settime",
                                            "settimeofday", "syslog" };
        for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
                bool found = false;
                for (unsigned j = 0; j < seccomp_n_denied_syscalls; j++)
                        found |= strcmp(seccomp_denied_syscalls[j], must[i]) == 0;
                ck_assert_msg(found, "%s must be denied", must[i]);
        }
}
END_TEST

/* The program built into nspawnlite is what the policy compiles to now. */
START_TEST(seccomp_program_matches_policy) {
        struct sock_filter *fresh;
        size_t n_fresh, n;
        ck_assert_int_eq(seccomp_policy_export(&fresh, &n_fresh), 0);
        const struct sock_filter *built_in = seccomp_machine_filter(&n);
        ck_assert_uint_eq(n_fresh, n);
        ck_assert(memcmp(fresh, built_in, n * sizeof *fresh) == 0);
        free(fresh);
}
END_TEST

START_TEST(init_signals) {
        ck_assert_int_eq(init_info(INIT_SYSTEMD)->poweroff_signal, SIGRTMIN + 4);
        ck_assert_int_eq(init_info(INIT_SYSTEMD)->reboot_signal, SIGINT);
        ck_assert_int_eq(init_info(INIT_BUSYBOX)->poweroff_signal, SIGUSR2);
        ck_assert(init_info(INIT_SYSVINIT)->poweroff_via_initctl);
        ck_assert_int_eq(init_info(INIT_SYSVINIT)->poweroff_signal, SIGRTMIN + 4);
        ck_assert_int_eq(init_info(INIT_UNKNOWN)->poweroff_signal, SIGRTMIN + 3);
        ck_assert_int_eq(init_info(INIT_STUB)->poweroff_signal, SIGRTMIN + 4);
        /* Asking twice gives the same (the table is fixed up once). */
        ck_assert_int_eq(init_info(INIT_SYSTEMD)->poweroff_signal, SIGRTMIN + 4);
        ck_assert_str_eq(init_kind_to_string(INIT_OPENRC), "openrc-init");
}
END_TEST

Suite *suite_tables(void) {
        Suite *s = suite_create("tables");
        TCase *t = tcase_create("tables");
        tcase_add_test(t, mounts_api_filesystems);
        tcase_add_test(t, mounts_proc_masks);
        tcase_add_test(t, devices);
        tcase_add_test(t, capabilities);
        tcase_add_test(t, seccomp_table);
        tcase_add_test(t, seccomp_program_matches_policy);
        tcase_add_test(t, init_signals);
        suite_add_tcase(s, t);
        return s;
}
