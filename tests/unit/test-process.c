/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The process helpers of nspawnlite/basic: reaping a child through its pidfd. */
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nspawnlite/basic/process-util.h"
#include "tests/unit/unit.h"

static int fork_pidfd(int how) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                if (how < 0)
                        pause();
                _exit(how);
        }
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);
        ck_assert_int_ge(fd, 0);
        return fd;
}

START_TEST(pidfd_wait) {
        siginfo_t si;
        int fd = fork_pidfd(7);
        ck_assert_int_eq(pidfd_wait_exited(fd, &si), 0);
        ck_assert_int_eq(si.si_code, CLD_EXITED);
        ck_assert_int_eq(si.si_status, 7);
        /* Reaped: nothing left to wait for. */
        ck_assert_int_eq(pidfd_wait_exited(fd, &si), -ECHILD);
        close(fd);

        fd = fork_pidfd(-1);
        ck_assert_int_eq(syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0), 0);
        ck_assert_int_eq(pidfd_wait_exited(fd, &si), 0);
        ck_assert_int_eq(si.si_code, CLD_KILLED);
        ck_assert_int_eq(si.si_status, SIGKILL);
        close(fd);
        ck_assert_int_lt(pidfd_wait_exited(-1, &si), 0);
}
END_TEST

Suite *suite_process(void) {
        Suite *s = suite_create("process");
        TCase *t = tcase_create("process");
        tcase_add_test(t, pidfd_wait);
        suite_add_tcase(s, t);
        return s;
}
