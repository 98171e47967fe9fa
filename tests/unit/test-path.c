/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nspawnlite/basic/path-util.h"
#include "tests/unit/unit.h"

static char *tree, *outside;
static int rootfd = -1;

static void setup(void) {
        tree = make_tmp_dir();
        outside = make_tmp_dir();
        rootfd = open(tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(rootfd, 0);
}

static void teardown(void) {
        close(rootfd);
        rm_rf_tmp(tree);
        rm_rf_tmp(outside);
}

static void fd_target(int fd, char *buf, size_t n) {
        ssize_t k = readlink(fd_path(fd).path, buf, n - 1);
        ck_assert_int_gt(k, 0);
        buf[k] = 0;
}

/* The -U warning's question: can every host user walk down to this path? (/tmp is 1777.) */
START_TEST(reachable_by_all) {
        char open_dir[PATH_MAX], closed[PATH_MAX];
        snprintf(open_dir, sizeof open_dir, "%s/open", tree);
        ck_assert_int_eq(mkdir(open_dir, 0755), 0);
        ck_assert_int_eq(chmod(tree, 0755), 0);
        char t[PATH_MAX + 8];
        snprintf(t, sizeof t, "%s/tree", open_dir);
        ck_assert_int_eq(mkdir(t, 0755), 0);
        size_t closable = 0;
        ck_assert_int_eq(path_reachable_by_all(t, &closable), 1);
        ck_assert_uint_eq(closable, strlen(open_dir)); /* the tree's parent */
        ck_assert_int_eq(chmod(open_dir, 0700), 0);
        ck_assert_int_eq(path_reachable_by_all(t, &closable), 0);
        ck_assert_int_eq(chmod(open_dir, 0755), 0);
        ck_assert_int_eq(chmod(t, 0750), 0); /* the tree itself closed to others */
        ck_assert_int_eq(path_reachable_by_all(t, &closable), 0);
        snprintf(closed, sizeof closed, "%s/missing", open_dir);
        ck_assert_int_eq(path_reachable_by_all(closed, &closable), -ENOENT);
        ck_assert_int_eq(path_reachable_by_all("relative", &closable), -EINVAL);
}
END_TEST

/* Root's runtime dir: nobody else may change what it names (as root only: root owns the tree). */
START_TEST(only_root_changes) {
        if (geteuid() != 0)
                return;
        char d[PATH_MAX], bad[PATH_MAX], link[PATH_MAX];
        ck_assert_int_eq(chmod(tree, 0755), 0);
        snprintf(d, sizeof d, "%s/rt", tree);
        ck_assert_int_eq(mkdir(d, 0755), 0);
        ck_assert_int_eq(path_only_root_changes(d, bad, sizeof bad), 0);
        ck_assert_int_eq(path_only_root_changes("/", bad, sizeof bad), 0);
        snprintf(link, sizeof link, "%s/rt/missing/deeper", tree);
        ck_assert_int_eq(path_only_root_changes(link, bad, sizeof bad), 0); /* ours to create */
        /* sticky above: fine */
        ck_assert_int_eq(chmod(tree, 01777), 0);
        ck_assert_int_eq(path_only_root_changes(d, bad, sizeof bad), 0);
        ck_assert_int_eq(chmod(d, 01777), 0); /* sticky itself: others add what they like */
        ck_assert_int_eq(path_only_root_changes(d, bad, sizeof bad), -EPERM);
        ck_assert_str_eq(bad, d);
        ck_assert_int_eq(chmod(d, 0775), 0);
        ck_assert_int_eq(path_only_root_changes(d, bad, sizeof bad), -EPERM);
        ck_assert_int_eq(chmod(d, 0755), 0);
        ck_assert_int_eq(chown(d, 65534, 0), 0);
        ck_assert_int_eq(path_only_root_changes(d, bad, sizeof bad), -EPERM);
        ck_assert_int_eq(chown(d, 0, 0), 0);
        /* A symlink: root's to root's is fine; anyone else's, or to anyone else's, is not. */
        snprintf(link, sizeof link, "%s/link", tree);
        ck_assert_int_eq(symlink(d, link), 0);
        ck_assert_int_eq(path_only_root_changes(link, bad, sizeof bad), 0);
        ck_assert_int_eq(lchown(link, 65534, 0), 0);
        ck_assert_int_eq(path_only_root_changes(link, bad, sizeof bad), -EPERM);
        ck_assert_str_eq(bad, link);
        ck_assert_int_eq(lchown(link, 0, 0), 0);
        ck_assert_int_eq(chown(d, 65534, 0), 0);
        ck_assert_int_eq(path_only_root_changes(link, bad, sizeof bad), -EPERM);
        ck_assert_str_eq(bad, d);
        ck_assert_int_eq(chown(d, 0, 0), 0);
        ck_assert_int_eq(chmod(tree, 0700), 0);
        ck_assert_int_eq(path_only_root_changes("relative", bad, sizeof bad), -EINVAL);
}
END_TEST

START_TEST(safe_paths) {
        ck_assert(path_is_safe_absolute("/a/b"));
        ck_assert(path_is_safe_absolute("/a//b/"));
        ck_assert(!path_is_safe_absolute("/"));
        ck_assert(!path_is_safe_absolute("a/b"));
        ck_assert(!path_is_safe_absolute("/a/../b"));
        ck_assert(!path_is_safe_absolute("/a/./b"));
        ck_assert(!path_is_safe_absolute("/.."));
        ck_assert(!path_is_safe_absolute(""));
        ck_assert(!path_is_safe_absolute(NULL));
}
END_TEST

START_TEST(absolute_symlink_stays_in_tree) {
        /* /run -> /outside-dir (as a guest could make it): creating /run/host must not leave. */
        char target[PATH_MAX];
        snprintf(target, sizeof target, "%s", outside);
        make_symlink(tree, "run", target);
        int fd;
        ck_assert_int_eq(mkdir_p_in_root(rootfd, "/run/host", 0755, &fd), 0);
        char got[PATH_MAX], want[PATH_MAX];
        fd_target(fd, got, sizeof got);
        snprintf(want, sizeof want, "%s%s/host", tree, outside);
        ck_assert_str_eq(got, want);
        close(fd);
        /* Nothing appeared in the real outside directory. */
        char probe[PATH_MAX];
        snprintf(probe, sizeof probe, "%s/host", outside);
        ck_assert_int_eq(access(probe, F_OK), -1);
}
END_TEST

START_TEST(dotdot_symlink_clamped) {
        make_symlink(tree, "etc", "../../../../../../../../");
        int fd;
        ck_assert_int_eq(mount_target_in_root(rootfd, "/etc/console-file", false, &fd), 0);
        char got[PATH_MAX], want[PATH_MAX];
        fd_target(fd, got, sizeof got);
        snprintf(want, sizeof want, "%s/console-file", tree);
        ck_assert_str_eq(got, want);
        close(fd);
}
END_TEST

START_TEST(targets) {
        int fd;
        ck_assert_int_eq(mount_target_in_root(rootfd, "/a/b/c", true, &fd), 0);
        close(fd);
        char p[PATH_MAX];
        struct stat st;
        snprintf(p, sizeof p, "%s/a/b/c", tree);
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert(S_ISDIR(st.st_mode));
        ck_assert_int_eq(mount_target_in_root(rootfd, "/a/f", false, &fd), 0);
        close(fd);
        snprintf(p, sizeof p, "%s/a/f", tree);
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert(S_ISREG(st.st_mode));
        /* A file where a directory is wanted, and the other way round. */
        ck_assert_int_lt(mount_target_in_root(rootfd, "/a/f", true, &fd), 0);
        ck_assert_int_eq(mount_target_in_root(rootfd, "/a/b", false, &fd), -EISDIR);
        ck_assert_int_eq(chase_in_root(rootfd, "/nope", O_PATH, &fd), -ENOENT);
}
END_TEST

START_TEST(loops) {
        make_symlink(tree, "l1", "l2");
        make_symlink(tree, "l2", "l1");
        int fd;
        ck_assert_int_eq(chase_in_root(rootfd, "/l1", O_PATH | O_DIRECTORY, &fd), -ELOOP);
        ck_assert_int_lt(mkdir_p_in_root(rootfd, "/l1/x", 0755, &fd), 0);
}
END_TEST

Suite *suite_path(void) {
        Suite *s = suite_create("path");
        TCase *t = tcase_create("in-root");
        tcase_add_checked_fixture(t, setup, teardown);
        tcase_add_test(t, safe_paths);
        tcase_add_test(t, reachable_by_all);
        tcase_add_test(t, only_root_changes);
        tcase_add_test(t, absolute_symlink_stays_in_tree);
        tcase_add_test(t, dotdot_symlink_clamped);
        tcase_add_test(t, targets);
        tcase_add_test(t, loops);
        suite_add_tcase(s, t);
        return s;
}
