/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nspawnlite/basic/log.h"
#include "tests/unit/unit.h"

char *make_tmp_dir(void) {
        char *d = strdup("/tmp/nspawnlite-unit.XXXXXX");
        ck_assert_ptr_nonnull(d);
        ck_assert_ptr_nonnull(mkdtemp(d));
        return d;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

void rm_rf_tmp(char *dir) {
        if (dir && strncmp(dir, "/tmp/nspawnlite-unit.", 21) == 0)
                (void) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(dir);
}

static void mkdir_parents(const char *path) {
        char buf[PATH_MAX];
        snprintf(buf, sizeof buf, "%s", path);
        for (char *p = buf + 1; *p; p++)
                if (*p == '/') {
                        *p = 0;
                        (void) mkdir(buf, 0755);
                        *p = '/';
                }
}

void make_file(const char *dir, const char *rel, mode_t mode) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, rel);
        mkdir_parents(p);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(fchmod(fd, mode), 0);
        close(fd);
}

void make_symlink(const char *dir, const char *rel, const char *target) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, rel);
        mkdir_parents(p);
        ck_assert_int_eq(symlink(target, p), 0);
}

int main(void) {
        /* The parsers report bad input on stderr; keep the test log readable. */
        log_set_max_level(LOG_CRIT);

        SRunner *sr = srunner_create(suite_parse());
        srunner_add_suite(sr, suite_name());
        srunner_add_suite(sr, suite_options());
        srunner_add_suite(sr, suite_tables());
        srunner_add_suite(sr, suite_sync());
        srunner_add_suite(sr, suite_init_detect());
        srunner_add_suite(sr, suite_path());
        srunner_add_suite(sr, suite_environ());
        srunner_add_suite(sr, suite_limits());
        srunner_add_suite(sr, suite_host_limits());
        srunner_add_suite(sr, suite_registry());
        srunner_add_suite(sr, suite_devices());
        srunner_add_suite(sr, suite_process());
        srunner_add_suite(sr, suite_cgroup_limits());
        srunner_add_suite(sr, suite_control());
        srunner_add_suite(sr, suite_escape());
        srunner_add_suite(sr, suite_image_choose());
        srunner_add_suite(sr, suite_store());
        srunner_add_suite(sr, suite_settings());
        srunner_add_suite(sr, suite_transfer());
        srunner_add_suite(sr, suite_create_guest());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
