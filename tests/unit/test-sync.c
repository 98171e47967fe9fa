/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nspawnlite/sync.h"
#include "tests/unit/unit.h"

static int pair[2];

static void setup(void) {
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
}

static void teardown(void) {
        close(pair[0]);
        if (pair[1] >= 0)
                close(pair[1]);
}

START_TEST(step_roundtrip) {
        SyncMessage m;
        ck_assert_int_eq(sync_send_step(pair[1], SYNC_STEP_CGROUP_READY, NULL, 0), 0);
        ck_assert_int_eq(sync_expect(pair[0], SYNC_STEP_CGROUP_READY, &m, NULL, NULL), 0);
}
END_TEST

START_TEST(fds_pass) {
        int p[2];
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        int fds[2] = { p[0], p[1] };
        ck_assert_int_eq(sync_send_step(pair[1], SYNC_STEP_CONSOLE_READY, fds, 2), 0);
        SyncMessage m;
        int got[SYNC_FDS_MAX] = { -1, -1 };
        size_t n = 0;
        ck_assert_int_eq(sync_expect(pair[0], SYNC_STEP_CONSOLE_READY, &m, got, &n), 0);
        ck_assert_uint_eq(n, 2);
        /* The received pair works and is close-on-exec. */
        ck_assert_int_eq(write(got[1], "x", 1), 1);
        char c;
        ck_assert_int_eq(read(got[0], &c, 1), 1);
        ck_assert_int_eq(c, 'x');
        ck_assert(fcntl(got[0], F_GETFD) & FD_CLOEXEC);
        close(p[0]);
        close(p[1]);
        close(got[0]);
        close(got[1]);
}
END_TEST

START_TEST(error_report) {
        SyncMessage m;
        ck_assert_int_eq(sync_send_error(pair[1], CHILD_STAGE_MOUNTS, -ENOENT, "Failed to mount %s: %m", "/proc"), 0);
        ck_assert_int_eq(sync_expect(pair[0], SYNC_STEP_CONSOLE_READY, &m, NULL, NULL), -EPROTO);
        ck_assert_uint_eq(m.step, SYNC_STEP_ERROR);
        ck_assert_uint_eq(m.stage, CHILD_STAGE_MOUNTS);
        ck_assert_int_eq(m.error, ENOENT);
        ck_assert_str_eq(m.message, "Failed to mount /proc: No such file or directory");
        ck_assert_str_eq(child_stage_to_string(m.stage), "mounts");
}
END_TEST

START_TEST(eof_is_exec) {
        SyncMessage m;
        close(pair[1]);
        pair[1] = -1;
        ck_assert_int_eq(sync_recv(pair[0], &m, NULL, NULL), 0);
        ck_assert_int_eq(sync_expect(pair[0], SYNC_STEP_CGROUP_READY, &m, NULL, NULL), -EPIPE);
}
END_TEST

START_TEST(short_message_rejected) {
        SyncMessage m;
        ck_assert_int_eq(send(pair[1], "abc", 3, 0), 3);
        ck_assert_int_eq(sync_recv(pair[0], &m, NULL, NULL), -EBADMSG);
}
END_TEST

START_TEST(names) {
        ck_assert_str_eq(sync_step_to_string(SYNC_STEP_CGROUP_READY), "cgroup-ready");
        ck_assert_str_eq(sync_step_to_string((SyncStep) 99), "unknown");
        for (int i = 0; i < _CHILD_STAGE_MAX; i++)
                ck_assert_str_ne(child_stage_to_string((ChildStage) i), "unknown");
}
END_TEST

Suite *suite_sync(void) {
        Suite *s = suite_create("sync");
        TCase *t = tcase_create("protocol");
        tcase_add_checked_fixture(t, setup, teardown);
        tcase_add_test(t, step_roundtrip);
        tcase_add_test(t, fds_pass);
        tcase_add_test(t, error_report);
        tcase_add_test(t, eof_is_exec);
        tcase_add_test(t, short_message_rejected);
        tcase_add_test(t, names);
        suite_add_tcase(s, t);
        return s;
}
