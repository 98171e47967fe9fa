/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "nspawnlite/init-detect.h"
#include "tests/unit/unit.h"

static char *tree;

static void setup(void) {
        tree = make_tmp_dir();
}

static void teardown(void) {
        rm_rf_tmp(tree);
}

static int detect(const char **path, InitKind *kind) {
        int fd = open(tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        int r = init_detect(fd, path, kind);
        close(fd);
        return r;
}

START_TEST(systemd_tree) {
        make_file(tree, "usr/lib/systemd/systemd", 0755);
        make_symlink(tree, "lib", "usr/lib");
        make_symlink(tree, "sbin/init", "/lib/systemd/systemd");
        const char *p;
        InitKind k;
        ck_assert_int_eq(detect(&p, &k), 0);
        ck_assert_str_eq(p, "/usr/lib/systemd/systemd");
        ck_assert_int_eq(k, INIT_SYSTEMD);
}
END_TEST

START_TEST(busybox_tree) {
        make_file(tree, "bin/busybox", 0755);
        make_symlink(tree, "sbin/init", "../bin/busybox");
        const char *p;
        InitKind k;
        ck_assert_int_eq(detect(&p, &k), 0);
        ck_assert_str_eq(p, "/sbin/init");
        ck_assert_int_eq(k, INIT_BUSYBOX);
}
END_TEST

START_TEST(sysvinit_tree) {
        make_file(tree, "sbin/init", 0755);
        make_file(tree, "etc/inittab", 0644);
        const char *p;
        InitKind k;
        ck_assert_int_eq(detect(&p, &k), 0);
        ck_assert_int_eq(k, INIT_SYSVINIT);
}
END_TEST

START_TEST(unknown_and_missing) {
        const char *p;
        InitKind k;
        ck_assert_int_eq(detect(&p, &k), -ENOENT);
        /* Not executable: not an init. */
        make_file(tree, "sbin/init", 0644);
        ck_assert_int_eq(detect(&p, &k), -ENOENT);
        unlink(strcat(strcpy((char[4096]) {}, tree), "/sbin/init"));
        make_file(tree, "sbin/init", 0755);
        ck_assert_int_eq(detect(&p, &k), 0);
        ck_assert_int_eq(k, INIT_UNKNOWN);
}
END_TEST

START_TEST(symlinks_stay_inside) {
        /* An absolute symlink to the host's /bin/sh must resolve inside the tree, where it is absent. */
        make_symlink(tree, "sbin/init", "/bin/sh");
        make_symlink(tree, "usr/lib/systemd/systemd", "../../../../../../../../bin/sh");
        const char *p;
        InitKind k;
        ck_assert_int_eq(detect(&p, &k), -ENOENT);
}
END_TEST

START_TEST(os_release) {
        int fd = open(tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert(!tree_has_os_release(fd));
        make_symlink(tree, "etc/os-release", "../usr/lib/os-release");
        ck_assert(!tree_has_os_release(fd)); /* dangling */
        make_file(tree, "usr/lib/os-release", 0644);
        ck_assert(tree_has_os_release(fd));
        close(fd);
}
END_TEST

Suite *suite_init_detect(void) {
        Suite *s = suite_create("init-detect");
        TCase *t = tcase_create("trees");
        tcase_add_checked_fixture(t, setup, teardown);
        tcase_add_test(t, systemd_tree);
        tcase_add_test(t, busybox_tree);
        tcase_add_test(t, sysvinit_tree);
        tcase_add_test(t, unknown_and_missing);
        tcase_add_test(t, symlinks_stay_inside);
        tcase_add_test(t, os_release);
        suite_add_tcase(s, t);
        return s;
}
