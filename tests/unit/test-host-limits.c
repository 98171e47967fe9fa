/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which host limits warn, which refuse, and what the line says (nspawnlite/host-limits.h). */
#include <stdint.h>
#include <string.h>

#include "nspawnlite/host-limits.h"
#include "tests/unit/unit.h"

/* Debian's defaults, nothing running: a lone machine passes every check. */
static HostLimits debian_host(void) {
        return (HostLimits){
                .inotify_max = 128,
                .needs_inotify = true,
                .pty_max = 4096,
                .pty_nr = 1,
                .pty_reserve = 1024,
                .ptys = 5,
                .pid_max = 32768,
                .threads_max = 192735,
                .tasks = 180,
                .tasks_needed = 48,
        };
}

START_TEST(defaults_pass) {
        HostLimits h = debian_host();
        char buf[512];
        for (HostLimitKind k = 0; k < _HOST_LIMIT_MAX; k++) {
                ck_assert_int_eq(host_limit_judge(k, &h, buf, sizeof buf), HOST_LIMIT_OK);
                ck_assert_str_eq(buf, "");
                ck_assert_ptr_nonnull(host_limit_sysctl(k));
        }
        ck_assert_ptr_null(host_limit_sysctl(_HOST_LIMIT_MAX));
        /* Unknown limits (unreadable: 0) pass. */
        HostLimits none = { .needs_inotify = true, .ptys = 5, .tasks = 100000, .tasks_needed = 48 };
        for (HostLimitKind k = 0; k < _HOST_LIMIT_MAX; k++)
                ck_assert_int_eq(host_limit_judge(k, &none, buf, sizeof buf), HOST_LIMIT_OK);
}
END_TEST

START_TEST(inotify) {
        HostLimits h = debian_host();
        char buf[512];
        /* 128 hold 18 systemd guests (7 each): the 19th warns, it may still boot. */
        h.inotify_sharers = 17;
        ck_assert_int_eq(host_limit_judge(HOST_LIMIT_INOTIFY, &h, buf, sizeof buf), HOST_LIMIT_OK);
        h.inotify_sharers = 18;
        ck_assert_int_eq(host_limit_judge(HOST_LIMIT_INOTIFY, &h, buf, sizeof buf), HOST_LIMIT_WARN);
        ck_assert_str_eq(
                buf, "18 systemd guests without -U run already and each holds about 7 of root's 128 inotify "
                     "instances: this one may come up degraded; set sysctl "
                     "fs.inotify.max_user_instances=1024, or boot with -U.");
        /* The value suggested is twice the need, in powers of two from 1024. */
        h.inotify_sharers = 99;
        ck_assert_int_eq(host_limit_judge(HOST_LIMIT_INOTIFY, &h, buf, sizeof buf), HOST_LIMIT_WARN);
        ck_assert_ptr_nonnull(strstr(buf, "fs.inotify.max_user_instances=2048,"));
        /* -U guests and other inits do not count against root's instances. */
        h.needs_inotify = false;
        ck_assert_int_eq(host_limit_judge(HOST_LIMIT_INOTIFY, &h, buf, sizeof buf), HOST_LIMIT_OK);
        ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(pty) {
        HostLimits h = debian_host();
        char buf[512];
        /* A container's devpts gets max - reserve: 3072 - 3060 = 12 left, enough for 5 and 5 more. */
        h.pty_nr = 3060;
        ck_assert_int_eq(host_limit_judge(HOST_LIMIT_PTY, &h, buf, sizeof buf), HOST_LIMIT_OK);
        /* 9 left: the machine starts, a login may find none. */
        h.pty_nr = 3063;
        ck_assert_int_eq(host_limit_judge(HOST_LIMIT_PTY, &h, buf, sizeof buf), HOST_LIMIT_WARN);
        ck_assert_str_eq(buf,
                         "Only 9 ptys are left for containers (kernel.pty.max=4096): logins and shells into "
                         "this machine may find none; set sysctl kernel.pty.max=8192.");
        /* 4 left for 5: it cannot start. */
        h.pty_nr = 3068;
        ck_assert_int_eq(host_limit_judge(HOST_LIMIT_PTY, &h, buf, sizeof buf), HOST_LIMIT_FAIL);
        ck_assert_str_eq(
                buf, "Only 4 ptys are left for containers (kernel.pty.max=4096 less kernel.pty.reserve=1024, "
                     "3068 in use) and the machine needs 5 (console and ttys): set sysctl "
                     "kernel.pty.max=8192, or use fewer --ttys=.");
        /* A max below the reserve leaves containers nothing. */
        h = debian_host();
        h.pty_max = 1000;
        ck_assert_int_eq(host_limit_judge(HOST_LIMIT_PTY, &h, buf, sizeof buf), HOST_LIMIT_FAIL);
        ck_assert_ptr_nonnull(strstr(buf, "Only 0 ptys"));
}
END_TEST

START_TEST(pids) {
        HostLimits h = debian_host();
        char buf[512];
        /* A tenth of pid_max kept free: 32768 - 3276 = 29492. */
        h.tasks = 29492 - 48;
        ck_assert_int_eq(host_limit_judge(HOST_LIMIT_PIDS, &h, buf, sizeof buf), HOST_LIMIT_OK);
        h.tasks++;
        ck_assert_int_eq(host_limit_judge(HOST_LIMIT_PIDS, &h, buf, sizeof buf), HOST_LIMIT_WARN);
        ck_assert_str_eq(buf,
                         "29445 of kernel.pid_max=32768 pids are taken and the machine needs about 48 more: "
                         "forks may fail, in it and on the host; set sysctl kernel.pid_max=4194304.");
        /* Where threads-max is the lower one, it is the one named. */
        h.pid_max = 4194304;
        h.threads_max = 20000;
        h.tasks = 19000;
        ck_assert_int_eq(host_limit_judge(HOST_LIMIT_PIDS, &h, buf, sizeof buf), HOST_LIMIT_WARN);
        ck_assert_str_eq(buf,
                         "19000 of kernel.threads-max=20000 tasks run and the machine needs about 48 more: "
                         "forks may fail, in it and on the host; set sysctl kernel.threads-max=40000.");
        ck_assert_uint_gt(host_limit_tasks_for_init(INIT_SYSTEMD), host_limit_tasks_for_init(INIT_BUSYBOX));
        ck_assert_uint_gt(host_limit_tasks_for_init(INIT_BUSYBOX), host_limit_tasks_for_init(INIT_STUB));
}
END_TEST

Suite *suite_host_limits(void) {
        Suite *s = suite_create("host-limits");
        TCase *t = tcase_create("core");
        tcase_add_test(t, defaults_pass);
        tcase_add_test(t, inotify);
        tcase_add_test(t, pty);
        tcase_add_test(t, pids);
        suite_add_tcase(s, t);
        return s;
}
