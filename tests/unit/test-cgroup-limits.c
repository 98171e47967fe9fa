/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgroup backends on a fake tree laid out like /sys/fs/cgroup in a temp dir: which file each
 * limit key goes to and what is written there (cgroup v2 names and values on the unified backend,
 * their v1 mapping on the hybrid one), and what the accounting files read back as. The backends
 * take their hierarchies' roots from MachineCgroup, so no root and nothing global is touched. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "machines/cgroup.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/macro.h"
#include "tests/unit/unit.h"

#define SCOPE   "machine.slice/machine-t.scope"
#define PAYLOAD SCOPE "/payload"

static char *dir;
static char roots[6][512];

static void setup(void) {
        dir = make_tmp_dir();
}

static void teardown(void) {
        rm_rf_tmp(dir);
        dir = NULL;
}

/* ROOT/SCOPE/file as it is now ("" for an empty file, NULL when absent). */
static char *scope_file(const char *root, const char *path, const char *file) {
        char p[1024];
        char *text = NULL;
        snprintf(p, sizeof p, "%s/%s/%s", root, path, file);
        return read_file_at(AT_FDCWD, p, 4096, &text) < 0 ? NULL : text;
}

static void put(const char *root, const char *path, const char *file, const char *content) {
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", path, file);
        make_file(root, p, 0644);
        snprintf(p, sizeof p, "%s/%s/%s", root, path, file);
        FILE *f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        fputs(content, f);
        fclose(f);
}

/* A hierarchy at dir/NAME with the machine's scope and payload; files made empty. */
static const char *hierarchy(size_t i, const char *name, const char *const *files) {
        snprintf(roots[i], sizeof roots[i], "%s/%s", dir, name);
        for (; *files; files++) {
                put(roots[i], SCOPE, *files, "");
                put(roots[i], PAYLOAD, *files, ""); /* where a limit must never go: the guest's */
        }
        return roots[i];
}

static MachineCgroup fake_cgroup(const CgroupBackend *b) {
        return (MachineCgroup) { .backend = b,
                                .scope = (char *) SCOPE,
                                .payload = (char *) PAYLOAD,
                                .parent = (char *) "machine.slice",
                                .payload_fd = -EBADF };
}

typedef struct {
        LimitKey key;
        uint64_t value;
        const char *controller; /* hybrid only */
        const char *file;
        const char *written;
} LimitCase;

static void check_case(MachineCgroup *cg, const char *root, const LimitCase *t) {
        put(root, SCOPE, t->file, "");
        ck_assert_msg(cg->backend->set_limit(cg, t->key, t->value) == 0, "%s=%llu refused",
                      limit_info(t->key)->name, (unsigned long long) t->value);
        _cleanup_free_ char *got = scope_file(root, SCOPE, t->file),
                            *guest = scope_file(root, PAYLOAD, t->file);
        ck_assert_ptr_nonnull(got);
        ck_assert_msg(strcmp(got, t->written) == 0, "%s=%llu (%s): wrote '%s' to %s, want '%s'",
                      limit_info(t->key)->name, (unsigned long long) t->value, cg->backend->name, got,
                      t->file, t->written);
        ck_assert_msg(guest && guest[0] == 0, "%s written in the guest's payload", t->file);
}

START_TEST(unified_set_limit) {
        static const char *const files[] = { "memory.max", "cpu.weight", "cpu.max",
                                             "pids.max",   "io.weight",  NULL };
        MachineCgroup cg = fake_cgroup(&cgroup_backend_unified);
        cg.unified_root = (char *) hierarchy(0, "unified", files);
        static const LimitCase cases[] = {
                { LIMIT_MEMORY_MAX, 536870912, NULL, "memory.max", "536870912" },
                { LIMIT_MEMORY_MAX, LIMIT_INFINITY, NULL, "memory.max", "max" },
                { LIMIT_CPU_WEIGHT, 200, NULL, "cpu.weight", "200" },
                { LIMIT_CPU_QUOTA, 50, NULL, "cpu.max", "50000 100000" },
                { LIMIT_CPU_QUOTA, 250, NULL, "cpu.max", "250000 100000" },
                { LIMIT_CPU_QUOTA, LIMIT_INFINITY, NULL, "cpu.max", "max 100000" },
                { LIMIT_PIDS_MAX, 100, NULL, "pids.max", "100" },
                { LIMIT_PIDS_MAX, LIMIT_INFINITY, NULL, "pids.max", "max" },
                { LIMIT_IO_WEIGHT, 300, NULL, "io.weight", "default 300" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check_case(&cg, cg.unified_root, &cases[i]);
        /* A controller not enabled here has no file: the backend says it cannot. */
        char p[1024];
        snprintf(p, sizeof p, "%s/%s/io.weight", cg.unified_root, SCOPE);
        ck_assert_int_eq(unlink(p), 0);
        ck_assert_int_eq(cgroup_backend_unified.set_limit(&cg, LIMIT_IO_WEIGHT, 100), -EOPNOTSUPP);
}
END_TEST

START_TEST(hybrid_set_limit) {
        MachineCgroup cg = fake_cgroup(&cgroup_backend_hybrid);
        cg.v1_roots[0] = (char *) hierarchy(0, "memory", (const char *[]) { "memory.limit_in_bytes", NULL });
        cg.v1_roots[1] = (char *) hierarchy(
                1, "cpu", (const char *[]) { "cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", NULL });
        cg.v1_roots[2] = (char *) hierarchy(2, "pids", (const char *[]) { "pids.max", NULL });
        cg.v1_roots[3] = (char *) hierarchy(3, "blkio", (const char *[]) { "blkio.weight", NULL });
        cg.n_v1 = 4;
        cg.unified_root = (char *) hierarchy(4, "unified", (const char *[]) { "cgroup.procs", NULL });
        static const LimitCase cases[] = {
                { LIMIT_MEMORY_MAX, 536870912, "memory", "memory.limit_in_bytes", "536870912" },
                { LIMIT_MEMORY_MAX, LIMIT_INFINITY, "memory", "memory.limit_in_bytes", "-1" },
                /* v2's weight 100 is v1's 1024 shares; the least v1 takes is 2. */
                { LIMIT_CPU_WEIGHT, 100, "cpu", "cpu.shares", "1024" },
                { LIMIT_CPU_WEIGHT, 200, "cpu", "cpu.shares", "2048" },
                { LIMIT_CPU_WEIGHT, 10000, "cpu", "cpu.shares", "102400" },
                { LIMIT_CPU_WEIGHT, 1, "cpu", "cpu.shares", "10" },
                { LIMIT_CPU_QUOTA, 50, "cpu", "cpu.cfs_quota_us", "50000" },
                { LIMIT_CPU_QUOTA, LIMIT_INFINITY, "cpu", "cpu.cfs_quota_us", "-1" },
                { LIMIT_PIDS_MAX, 100, "pids", "pids.max", "100" },
                { LIMIT_PIDS_MAX, LIMIT_INFINITY, "pids", "pids.max", "max" },
                /* blkio.weight takes 10 to 1000; v2's default 100 is v1's 500. */
                { LIMIT_IO_WEIGHT, 100, "blkio", "blkio.weight", "500" },
                { LIMIT_IO_WEIGHT, 1, "blkio", "blkio.weight", "10" },
                { LIMIT_IO_WEIGHT, 300, "blkio", "blkio.weight", "1000" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *root = NULL;
                for (size_t j = 0; j < cg.n_v1; j++)
                        if (strcmp(strrchr(cg.v1_roots[j], '/') + 1, cases[i].controller) == 0)
                                root = cg.v1_roots[j];
                ck_assert_ptr_nonnull(root);
                check_case(&cg, root, &cases[i]);
        }
        /* The quota's period goes with it: the percentages are of this period. */
        _cleanup_free_ char *period = scope_file(cg.v1_roots[1], SCOPE, "cpu.cfs_period_us");
        ck_assert_str_eq(period, "100000");

        /* With swap accounting the memsw limit follows memory's, never below it. */
        put(cg.v1_roots[0], SCOPE, "memory.memsw.limit_in_bytes", "1048576");
        put(cg.v1_roots[0], SCOPE, "memory.limit_in_bytes", "1048576");
        ck_assert_int_eq(cgroup_backend_hybrid.set_limit(&cg, LIMIT_MEMORY_MAX, 2097152), 0);
        _cleanup_free_ char *m1 = scope_file(cg.v1_roots[0], SCOPE, "memory.limit_in_bytes"),
                            *s1 = scope_file(cg.v1_roots[0], SCOPE, "memory.memsw.limit_in_bytes");
        ck_assert_str_eq(m1, "2097152");
        ck_assert_str_eq(s1, "2097152");
        ck_assert_int_eq(cgroup_backend_hybrid.set_limit(&cg, LIMIT_MEMORY_MAX, 1048576), 0);
        _cleanup_free_ char *m2 = scope_file(cg.v1_roots[0], SCOPE, "memory.limit_in_bytes"),
                            *s2 = scope_file(cg.v1_roots[0], SCOPE, "memory.memsw.limit_in_bytes");
        ck_assert_str_eq(m2, "1048576");
        ck_assert_str_eq(s2, "1048576");

        /* blkio without BFQ has no blkio.weight; no blkio hierarchy at all: cannot either way. */
        char p[1024];
        snprintf(p, sizeof p, "%s/%s/blkio.weight", cg.v1_roots[3], SCOPE);
        ck_assert_int_eq(unlink(p), 0);
        ck_assert_int_eq(cgroup_backend_hybrid.set_limit(&cg, LIMIT_IO_WEIGHT, 100), -EOPNOTSUPP);
        cg.n_v1 = 3;
        ck_assert_int_eq(cgroup_backend_hybrid.set_limit(&cg, LIMIT_IO_WEIGHT, 100), -EOPNOTSUPP);
}
END_TEST

START_TEST(unified_stats) {
        MachineCgroup cg = fake_cgroup(&cgroup_backend_unified);
        cg.unified_root = (char *) hierarchy(0, "unified", (const char *[]) { NULL });
        CgroupStats st;
        /* Nothing to read: every value unknown. */
        ck_assert_int_eq(cgroup_backend_unified.read_stats(&cg, &st), 0);
        ck_assert(st.memory_current == UINT64_MAX && st.memory_peak == UINT64_MAX &&
                  st.pids_current == UINT64_MAX && st.cpu_usec == UINT64_MAX &&
                  st.io_read_bytes == UINT64_MAX && st.io_write_bytes == UINT64_MAX);
        put(cg.unified_root, SCOPE, "memory.current", "1234567\n");
        put(cg.unified_root, SCOPE, "memory.peak", "2345678\n");
        put(cg.unified_root, SCOPE, "pids.current", "7\n");
        put(cg.unified_root, SCOPE, "cpu.stat", "usage_usec 777\nuser_usec 500\nsystem_usec 277\n");
        put(cg.unified_root, SCOPE, "io.stat",
            "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n"
            "259:0 rbytes=1000 wbytes=2000 rios=3 wios=4 dbytes=0 dios=0\n");
        ck_assert_int_eq(cgroup_backend_unified.read_stats(&cg, &st), 0);
        ck_assert_uint_eq(st.memory_current, 1234567);
        ck_assert_uint_eq(st.memory_peak, 2345678);
        ck_assert_uint_eq(st.pids_current, 7);
        ck_assert_uint_eq(st.cpu_usec, 777);
        ck_assert_uint_eq(st.io_read_bytes, 1100);
        ck_assert_uint_eq(st.io_write_bytes, 2200);
}
END_TEST

START_TEST(hybrid_stats) {
        MachineCgroup cg = fake_cgroup(&cgroup_backend_hybrid);
        const char *none[] = { NULL };
        cg.v1_roots[0] = (char *) hierarchy(0, "memory", none);
        cg.v1_roots[1] = (char *) hierarchy(1, "pids", none);
        cg.v1_roots[2] = (char *) hierarchy(2, "cpuacct", none);
        cg.v1_roots[3] = (char *) hierarchy(3, "blkio", none);
        cg.n_v1 = 4;
        CgroupStats st;
        ck_assert_int_eq(cgroup_backend_hybrid.read_stats(&cg, &st), 0);
        ck_assert(st.memory_current == UINT64_MAX && st.pids_current == UINT64_MAX &&
                  st.cpu_usec == UINT64_MAX && st.io_read_bytes == UINT64_MAX);
        put(cg.v1_roots[0], SCOPE, "memory.usage_in_bytes", "1234567\n");
        put(cg.v1_roots[0], SCOPE, "memory.max_usage_in_bytes", "2345678\n");
        put(cg.v1_roots[1], SCOPE, "pids.current", "9\n");
        put(cg.v1_roots[2], SCOPE, "cpuacct.usage", "5000999\n"); /* nanoseconds */
        put(cg.v1_roots[3], SCOPE, "blkio.throttle.io_service_bytes_recursive",
            "8:0 Read 100\n8:0 Write 200\n8:0 Sync 300\n8:0 Total 300\n"
            "8:16 Read 1000\n8:16 Write 2000\nTotal 3300\n");
        ck_assert_int_eq(cgroup_backend_hybrid.read_stats(&cg, &st), 0);
        ck_assert_uint_eq(st.memory_current, 1234567);
        ck_assert_uint_eq(st.memory_peak, 2345678);
        ck_assert_uint_eq(st.pids_current, 9);
        ck_assert_uint_eq(st.cpu_usec, 5000);
        ck_assert_uint_eq(st.io_read_bytes, 1100);
        ck_assert_uint_eq(st.io_write_bytes, 2200);
}
END_TEST

/* The runtime dir's id marks a machine's scope in every hierarchy and is checked again at its
 * teardown: read once, and kept by the process that marked with it even if the file changes. */
START_TEST(runtime_id_read_once) {
        char other[600], id_path[600], a[33], b[33], c[33];
        snprintf(other, sizeof other, "%s/other", dir);
        ck_assert_int_eq(mkdir(other, 0755), 0);
        ck_assert_int_eq(setenv("NSPAWNLITE_RUNTIME_DIR", dir, 1), 0);
        ck_assert_int_eq(runtime_id(true, a), 0);
        ck_assert_uint_eq(strlen(a), 32);

        snprintf(id_path, sizeof id_path, "%s/id", dir);
        _cleanup_close_ int fd = open(id_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(loop_write(fd, "0123456789abcdef0123456789abcdef\n", 33), 0);
        ck_assert_int_eq(runtime_id(false, b), 0);
        ck_assert_str_eq(b, a);

        /* Another runtime dir has an id of its own. */
        ck_assert_int_eq(setenv("NSPAWNLITE_RUNTIME_DIR", other, 1), 0);
        ck_assert_int_eq(runtime_id(false, c), -ENOENT);
        ck_assert_int_eq(runtime_id(true, c), 0);
        ck_assert_str_ne(c, a);
        unsetenv("NSPAWNLITE_RUNTIME_DIR");
}
END_TEST

Suite *suite_cgroup_limits(void) {
        Suite *s = suite_create("cgroup-limits");
        TCase *t = tcase_create("fake-tree");
        tcase_add_checked_fixture(t, setup, teardown);
        tcase_add_test(t, unified_set_limit);
        tcase_add_test(t, hybrid_set_limit);
        tcase_add_test(t, unified_stats);
        tcase_add_test(t, hybrid_stats);
        tcase_add_test(t, runtime_id_read_once);
        suite_add_tcase(s, t);
        return s;
}
