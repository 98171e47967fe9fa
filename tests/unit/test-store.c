/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image store's mechanics in a temporary store: temporaries and their commit, names, locks,
 * gc of abandoned temporaries, rename, remove, read-only marks of raw images, listing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "machines/images/store.h"
#include "nspawnlite/cli/options.h"
#include "tests/unit/unit.h"

static char *tmp;
static int store_fd = -EBADF;

static void setup(void) {
        tmp = make_tmp_dir();
        char dir[512];
        snprintf(dir, sizeof dir, "%s/store", tmp);
        setenv("NSPAWNLITE_MACHINES_DIR", dir, 1);
        ck_assert_int_eq(store_open(&store_fd), 0);
        struct stat st;
        ck_assert_int_eq(fstat(store_fd, &st), 0);
        ck_assert_int_eq(st.st_mode & 07777, 0700);
}

static void teardown(void) {
        store_fd = safe_close(store_fd);
        unsetenv("NSPAWNLITE_MACHINES_DIR");
        rm_rf_tmp(tmp);
        tmp = NULL;
}

/* How many entries of the store start with prefix (".#" for temporaries). */
static int count_prefix(const char *prefix) {
        int fd = openat(store_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        DIR *d = fdopendir(fd);
        ck_assert_ptr_nonnull(d);
        int n = 0;
        for (struct dirent *de; (de = readdir(d));)
                if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 && strcmp(de->d_name, ".") != 0 &&
                    strcmp(de->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

static void make_dir_image(const char *name) {
        StoreTemp t = STORE_TEMP_NULL;
        ck_assert_int_eq(store_begin(store_fd, name, STORE_DIRECTORY, &t), 0);
        ck_assert_int_eq(mkdirat(t.fd, "etc", 0755), 0);
        int f = openat(t.fd, "etc/os-release", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ck_assert_int_ge(f, 0);
        close(f);
        ck_assert_int_eq(store_commit(&t), 0);
        store_abort(&t); /* nothing after a commit */
}

START_TEST(store_begin_commit_directory) {
        StoreTemp t = STORE_TEMP_NULL;
        ck_assert_int_eq(store_begin(store_fd, "deb", STORE_DIRECTORY, &t), 0);
        ck_assert_int_eq(strncmp(t.temp, ".#deb.", 6), 0);
        ck_assert_int_eq(count_prefix(".#deb."), 1);
        StoreImage img;
        /* Not an image before the commit. */
        ck_assert_int_eq(store_find(store_fd, "deb", &img), -ENOENT);
        ck_assert_int_eq(mkdirat(t.fd, "usr", 0755), 0);
        ck_assert_int_eq(store_commit(&t), 0);
        ck_assert_int_eq(count_prefix(".#"), 0);
        ck_assert_int_eq(store_find(store_fd, "deb", &img), 0);
        ck_assert_str_eq(img.name, "deb");
        ck_assert_str_eq(img.file, "deb");
        ck_assert_int_eq(img.kind, STORE_DIRECTORY);
        ck_assert(!img.read_only);
        ck_assert_int_gt(img.mtime, 0);
        ck_assert_str_eq(store_kind_to_string(img.kind), "directory");
        struct stat st;
        ck_assert_int_eq(fstatat(store_fd, "deb/usr", &st, 0), 0);
}
END_TEST

START_TEST(store_names_and_collisions) {
        StoreTemp t = STORE_TEMP_NULL;
        make_dir_image("a");
        ck_assert_int_eq(store_begin(store_fd, "a", STORE_DIRECTORY, &t), -EEXIST);
        ck_assert_int_eq(store_begin(store_fd, "a", STORE_RAW, &t), -EEXIST);
        static const char *const bad[] = { "../x", ".hidden", "", "a/b", ".#a.123456", "-x" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ck_assert_int_eq(store_begin(store_fd, bad[i], STORE_DIRECTORY, &t), -EINVAL);
                StoreImage img;
                ck_assert_int_eq(store_find(store_fd, bad[i], &img), -EINVAL);
        }
        ck_assert_int_eq(count_prefix(".#"), 0);
        StoreImage img;
        ck_assert_int_eq(store_find(store_fd, "nope", &img), -ENOENT);
        /* Two writers of one new name: the second commit finds the first's image. */
        StoreTemp t1 = STORE_TEMP_NULL, t2 = STORE_TEMP_NULL;
        ck_assert_int_eq(store_begin(store_fd, "b", STORE_DIRECTORY, &t1), 0);
        ck_assert_int_eq(store_begin(store_fd, "b", STORE_RAW, &t2), 0);
        ck_assert_int_eq(store_commit(&t1), 0);
        ck_assert_int_eq(store_commit(&t2), -EEXIST);
        store_abort(&t2);
        ck_assert_int_eq(count_prefix(".#"), 0);
        ck_assert_int_eq(store_find(store_fd, "b", &img), 0);
        ck_assert_int_eq(img.kind, STORE_DIRECTORY);
}
END_TEST

START_TEST(store_raw_list_usage_read_only) {
        StoreTemp t = STORE_TEMP_NULL;
        ck_assert_int_eq(store_begin(store_fd, "disk", STORE_RAW, &t), 0);
        char buf[8192];
        memset(buf, 'x', sizeof buf);
        ck_assert_int_eq(write(t.fd, buf, sizeof buf), (ssize_t) sizeof buf);
        ck_assert_int_eq(fsync(t.fd), 0);
        ck_assert_int_eq(store_commit(&t), 0);
        make_dir_image("zeta");
        make_dir_image("alpha");
        /* Not images: a hidden entry, a plain file, a symlink, a settings file. */
        ck_assert_int_eq(mkdirat(store_fd, ".hidden", 0755), 0);
        ck_assert_int_eq(close(openat(store_fd, "notes.txt", O_CREAT | O_WRONLY | O_CLOEXEC, 0644)), 0);
        ck_assert_int_eq(close(openat(store_fd, "alpha.nspawn", O_CREAT | O_WRONLY | O_CLOEXEC, 0644)), 0);
        ck_assert_int_eq(symlinkat("/", store_fd, "link"), 0);
        StoreImage *list = NULL;
        size_t n = 0;
        ck_assert_int_eq(store_list(store_fd, &list, &n), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_str_eq(list[0].name, "alpha");
        ck_assert_str_eq(list[1].name, "disk");
        ck_assert_str_eq(list[1].file, "disk.raw");
        ck_assert_int_eq(list[1].kind, STORE_RAW);
        ck_assert_str_eq(list[2].name, "zeta");
        uint64_t usage = 0;
        ck_assert_int_eq(store_usage(store_fd, &list[1], &usage), 0);
        ck_assert_uint_ge(usage, sizeof buf);
        /* machinectl's mark of a read-only raw image: no write bits. */
        ck_assert_int_eq(store_set_read_only(store_fd, &list[1], true), 0);
        StoreImage img;
        ck_assert_int_eq(store_find(store_fd, "disk", &img), 0);
        ck_assert(img.read_only);
        struct stat st;
        ck_assert_int_eq(fstatat(store_fd, "disk.raw", &st, 0), 0);
        ck_assert_int_eq(st.st_mode & 0222, 0);
        ck_assert_int_eq(store_set_read_only(store_fd, &img, false), 0);
        ck_assert_int_eq(store_find(store_fd, "disk", &img), 0);
        ck_assert(!img.read_only);
        free(list);
}
END_TEST

START_TEST(store_locks) {
        make_dir_image("m");
        int w = -EBADF, r1 = -EBADF, r2 = -EBADF, x = -EBADF;
        ck_assert_int_eq(store_lock_image(store_fd, "m", false, &r1), 0);
        ck_assert_int_eq(store_lock_image(store_fd, "m", false, &r2), 0);
        ck_assert_int_eq(store_lock_image(store_fd, "m", true, &w), -EBUSY);
        r1 = safe_close(r1);
        r2 = safe_close(r2);
        ck_assert_int_eq(store_lock_image(store_fd, "m", true, &w), 0);
        ck_assert_int_eq(store_lock_image(store_fd, "m", false, &x), -EBUSY);
        ck_assert_int_eq(store_lock_image(store_fd, "m", true, &x), -EBUSY);
        /* The lock is the image's own: it follows a rename. */
        StoreImage img;
        ck_assert_int_eq(store_find(store_fd, "m", &img), 0);
        ck_assert_int_eq(store_rename(store_fd, &img, "n"), 0);
        ck_assert_int_eq(store_lock_image(store_fd, "n", false, &x), -EBUSY);
        w = safe_close(w);
        ck_assert_int_eq(store_lock_image(store_fd, "n", true, &x), 0);
        x = safe_close(x);
        ck_assert_int_eq(store_lock_image(store_fd, "gone", true, &x), -ENOENT);
}
END_TEST

START_TEST(store_gc_abandoned_only) {
        StoreTemp held = STORE_TEMP_NULL, dead = STORE_TEMP_NULL, dead_raw = STORE_TEMP_NULL;
        ck_assert_int_eq(store_begin(store_fd, "held", STORE_DIRECTORY, &held), 0);
        ck_assert_int_eq(store_begin(store_fd, "dead", STORE_DIRECTORY, &dead), 0);
        ck_assert_int_eq(mkdirat(dead.fd, "deep", 0755), 0);
        ck_assert_int_eq(mkdirat(dead.fd, "deep/er", 0755), 0);
        ck_assert_int_eq(store_begin(store_fd, "dead", STORE_RAW, &dead_raw), 0);
        /* A writer killed: its fds close, its temporaries stay. */
        dead.fd = safe_close(dead.fd);
        dead.store_fd = safe_close(dead.store_fd);
        dead_raw.fd = safe_close(dead_raw.fd);
        dead_raw.store_fd = safe_close(dead_raw.store_fd);
        make_dir_image("kept");
        ck_assert_int_eq(count_prefix(".#"), 3);
        unsigned removed = 0;
        ck_assert_int_eq(store_gc(store_fd, &removed), 0);
        ck_assert_uint_eq(removed, 2);
        ck_assert_int_eq(count_prefix(".#"), 1);
        ck_assert_int_eq(count_prefix(".#held."), 1);
        StoreImage img;
        ck_assert_int_eq(store_find(store_fd, "kept", &img), 0);
        store_abort(&held);
        ck_assert_int_eq(count_prefix(".#"), 0);
}
END_TEST

START_TEST(store_rename_remove) {
        make_dir_image("one");
        make_dir_image("two");
        StoreImage img;
        ck_assert_int_eq(store_find(store_fd, "one", &img), 0);
        ck_assert_int_eq(store_rename(store_fd, &img, "two"), -EEXIST);
        ck_assert_int_eq(store_rename(store_fd, &img, "../x"), -EINVAL);
        ck_assert_int_eq(store_rename(store_fd, &img, "three"), 0);
        ck_assert_int_eq(store_find(store_fd, "one", &img), -ENOENT);
        ck_assert_int_eq(store_find(store_fd, "three", &img), 0);
        ck_assert_int_eq(store_remove(store_fd, &img), 0);
        ck_assert_int_eq(store_find(store_fd, "three", &img), -ENOENT);
        ck_assert_int_eq(count_prefix(".#"), 0);
        ck_assert_int_eq(count_prefix("t"), 1); /* two */
}
END_TEST

static int parse_argv(Config *c, LaunchKind kind, char **argv) {
        int argc = 0;
        while (argv[argc])
                argc++;
        return config_parse(c, kind, argc, argv);
}

/* -M NAME with no ROOTFS: the store's image (a tree, or a raw one the --image= way), locked as the
 * store's images are; a path given still wins. */
START_TEST(store_machine_option) {
        make_dir_image("web");
        StoreTemp t = STORE_TEMP_NULL;
        ck_assert_int_eq(store_begin(store_fd, "disk", STORE_RAW, &t), 0);
        ck_assert_int_eq(store_commit(&t), 0);
        char want[1024], raw[1024];
        snprintf(want, sizeof want, "%s/store/web", tmp);
        snprintf(raw, sizeof raw, "%s/store/disk.raw", tmp);

        Config c;
        ck_assert_int_eq(parse_argv(&c, LAUNCH_BOOT, (char *[]){ "boot", "-M", "web", NULL }), 0);
        ck_assert_str_eq(c.rootfs, want);
        ck_assert_ptr_null(c.image);
        ck_assert(c.lock_root);
        ck_assert(config_launch_spec(&c).lock_root);
        config_done(&c);
        ck_assert_int_eq(parse_argv(&c, LAUNCH_RUN, (char *[]){ "run", "-M", "web", "/bin/true", NULL }), 0);
        ck_assert_str_eq(c.rootfs, want);
        ck_assert_str_eq(c.args[0], "/bin/true");
        config_done(&c);
        ck_assert_int_eq(parse_argv(&c, LAUNCH_RUN, (char *[]){ "run", "-M", "disk", "--", "true", NULL }),
                         0);
        ck_assert_str_eq(c.image, raw);
        config_done(&c);
        ck_assert_int_eq(parse_argv(&c, LAUNCH_BOOT, (char *[]){ "boot", "-M", "nope", NULL }), -EINVAL);
        config_done(&c);
        /* A path: as before, and not the store's, so not locked. */
        ck_assert_int_eq(parse_argv(&c, LAUNCH_BOOT, (char *[]){ "boot", "-M", "web", tmp, NULL }), 0);
        ck_assert_str_eq(c.rootfs, tmp);
        ck_assert(!c.lock_root);
        config_done(&c);
        /* The store's tree by its path is locked all the same. */
        ck_assert_int_eq(parse_argv(&c, LAUNCH_BOOT, (char *[]){ "boot", "-M", "other", want, NULL }), 0);
        ck_assert(c.lock_root);
        config_done(&c);
}
END_TEST

Suite *suite_store(void) {
        Suite *s = suite_create("store");
        TCase *tc = tcase_create("store");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, store_begin_commit_directory);
        tcase_add_test(tc, store_names_and_collisions);
        tcase_add_test(tc, store_raw_list_usage_read_only);
        tcase_add_test(tc, store_locks);
        tcase_add_test(tc, store_gc_abandoned_only);
        tcase_add_test(tc, store_rename_remove);
        tcase_add_test(tc, store_machine_option);
        suite_add_tcase(s, tc);
        return s;
}
