/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hybrid backend: v1 controller hierarchies (where limits apply and devices are filtered) plus
 * the cgroup2 tree at /sys/fs/cgroup/unified (what the guest sees, without controllers). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "machines/cgroup.h"
#include "machines/devices.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/macro.h"

#define CGROUP_FS "/sys/fs/cgroup"

/* The v1 hierarchies a machine is placed in: those whose controllers limit, account, freeze or
 * filter it, and systemd's named one, as systemd-nspawn does. The others (cpuset, net_cls,
 * perf_event, hugetlb, …) keep the caller's cgroup: a machine of its own there serves nothing, and
 * the first cpuset cgroup below the root costs the kernel a text patch of its static keys on every
 * machine start and stop. */
static bool v1_hierarchy_used(const char *name) {
        static const char *const used[] = { "memory", "cpu",     "cpuacct", "pids",
                                            "blkio",  "freezer", "devices", "systemd" };
        char buf[NAME_MAX + 1];
        snprintf(buf, sizeof buf, "%s", name);
        char *save = NULL;
        for (char *c = strtok_r(buf, ",", &save); c; c = strtok_r(NULL, ",", &save))
                for (size_t i = 0; i < ELEMENTSOF(used); i++)
                        if (strcmp(c, used[i]) == 0)
                                return true;
        return false;
}

static int enumerate_v1(MachineCgroup *cg) {
        if (cg->n_v1 > 0)
                return 0;
        DIR *d = opendir(CGROUP_FS);
        if (!d)
                return -errno;
        int r = 0;
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.' || !v1_hierarchy_used(de->d_name))
                        continue; /* co-mounted controllers appear as symlinks: skip those */
                char p[PATH_MAX];
                struct statfs fs;
                snprintf(p, sizeof p, CGROUP_FS "/%s", de->d_name);
                if (statfs(p, &fs) < 0 || fs.f_type != CGROUP_SUPER_MAGIC)
                        continue;
                if (cg->n_v1 >= CGROUP_V1_MAX) {
                        r = -E2BIG;
                        break;
                }
                if (!(cg->v1_roots[cg->n_v1++] = strdup(p))) {
                        r = -ENOMEM;
                        break;
                }
        }
        closedir(d);
        return r;
}

static int hybrid_create(MachineCgroup *cg) {
        int r = cgroup_create_scope(cg, cg->unified_root, &cg->created_parent);
        if (r < 0)
                return r;
        for (size_t i = 0; i < cg->n_v1; i++) {
                r = cgroup_create_scope(cg, cg->v1_roots[i], NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int hybrid_open_join(MachineCgroup *cg) {
        for (size_t i = 0; i < cg->n_v1; i++) {
                char p[PATH_MAX];
                if (snprintf(p, sizeof p, "%s/%s/tasks", cg->v1_roots[i], cg->payload) >= (int) sizeof p)
                        return -ENAMETOOLONG;
                int fd = open(p, O_WRONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return -errno;
                cg->join_fds[cg->n_join_fds++] = fd;
        }
        return 0;
}

static const char *v1_root(MachineCgroup *cg, const char *controller) {
        for (size_t i = 0; i < cg->n_v1; i++) {
                const char *base = strrchr(cg->v1_roots[i], '/') + 1;
                if (strcmp(base, controller) == 0)
                        return cg->v1_roots[i];
        }
        return NULL;
}

/* Found by controller name, not by path, so that a test can lay out a fake tree elsewhere. */
static int hybrid_restrict_devices(MachineCgroup *cg) {
        const char *root = v1_root(cg, "devices");
        if (!root)
                return -EOPNOTSUPP;
        int r = cgroup_write(root, cg->payload, "devices.deny", "a");
        if (r < 0)
                return r;
        for (size_t i = 0; i < machine_devices_size; i++) {
                char line[32];
                r = machine_device_v1_allow(&machine_devices[i], line, sizeof line);
                if (r >= 0)
                        r = cgroup_write(root, cg->payload, "devices.allow", line);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int hybrid_destroy(MachineCgroup *cg) {
        int r = 0;
        const char *roots[CGROUP_V1_MAX + 1];
        size_t n = 0;
        roots[n++] = cg->unified_root;
        for (size_t i = 0; i < cg->n_v1; i++)
                roots[n++] = cg->v1_roots[i];
        for (size_t i = 0; i < n; i++) {
                /* A hierarchy where the same path is someone else's (create found it there) keeps it. */
                char why[256];
                int k = cgroup_scope_claim_at(cg, roots[i], why, sizeof why);
                if (k >= 0)
                        k = cgroup_rmdir_retry(roots[i], cg->payload);
                if (k >= 0)
                        k = cgroup_rmdir_retry(roots[i], cg->scope);
                if (k < 0 && r >= 0)
                        r = k;
                if (cgroup_parent_removable(cg)) {
                        char p[PATH_MAX];
                        snprintf(p, sizeof p, "%s/%s", roots[i], cg->parent);
                        (void) rmdir(p);
                }
        }
        return r;
}

static int hybrid_set_limit(MachineCgroup *cg, LimitKey key, uint64_t value) {
        const LimitInfo *i = limit_info(key);
        const char *root = v1_root(cg, i->v1_controller);
        char v[64];
        if (!root)
                return -EOPNOTSUPP;
        int r = limit_format_v1(key, value, v, sizeof v);
        if (r < 0)
                return r;
        if (key == LIMIT_CPU_QUOTA) {
                char period[32];
                snprintf(period, sizeof period, "%d", CPU_QUOTA_PERIOD_USEC);
                r = cgroup_write(root, cg->scope, "cpu.cfs_period_us", period);
                if (r < 0)
                        return r == -ENOENT ? -EOPNOTSUPP : r;
        }
        if (key == LIMIT_MEMORY_MAX) {
                /* memsw must stay ≥ the memory limit: order the writes so each one is valid. */
                uint64_t cur = 0;
                bool has_memsw = cgroup_read_u64(root, cg->scope, "memory.memsw.limit_in_bytes", &cur) >= 0;
                bool raising = value == LIMIT_INFINITY || (has_memsw && value > cur);
                if (has_memsw && raising &&
                    (r = cgroup_write(root, cg->scope, "memory.memsw.limit_in_bytes", v)) < 0)
                        return r;
                r = cgroup_write(root, cg->scope, i->v1_file, v);
                if (r < 0)
                        return r;
                /* Without this a machine with swap would page instead of meeting its limit. */
                if (has_memsw && !raising)
                        r = cgroup_write(root, cg->scope, "memory.memsw.limit_in_bytes", v);
                return r;
        }
        r = cgroup_write(root, cg->scope, i->v1_file, v);
        return r == -ENOENT ? -EOPNOTSUPP : r;
}

static int hybrid_read_stats(MachineCgroup *cg, CgroupStats *ret) {
        CgroupStats st = { UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX };
        const char *root;
        uint64_t ns;
        if ((root = v1_root(cg, "memory"))) {
                (void) cgroup_read_u64(root, cg->scope, "memory.usage_in_bytes", &st.memory_current);
                (void) cgroup_read_u64(root, cg->scope, "memory.max_usage_in_bytes", &st.memory_peak);
        }
        if ((root = v1_root(cg, "pids")))
                (void) cgroup_read_u64(root, cg->scope, "pids.current", &st.pids_current);
        if ((root = v1_root(cg, "cpuacct")) && cgroup_read_u64(root, cg->scope, "cpuacct.usage", &ns) >= 0)
                st.cpu_usec = ns / 1000;
        if ((root = v1_root(cg, "blkio"))) {
                char p[PATH_MAX];
                _cleanup_free_ char *text = NULL;
                snprintf(p, sizeof p, "%s/%s/blkio.throttle.io_service_bytes_recursive", root, cg->scope);
                if (read_file_at(-EBADF, p, 1 << 16, &text) >= 0)
                        (void) parse_blkio_bytes(text, &st.io_read_bytes, &st.io_write_bytes);
        }
        *ret = st;
        return 0;
}

static int hybrid_freeze(MachineCgroup *cg, bool frozen) {
        const char *root = v1_root(cg, "freezer");
        if (!root)
                return -EOPNOTSUPP;
        int r = cgroup_write(root, cg->scope, "freezer.state", frozen ? "FROZEN" : "THAWED");
        if (r < 0 || !frozen)
                return r;
        /* FREEZING until every task stopped. */
        for (int i = 0; i < 200; i++) {
                char p[PATH_MAX];
                _cleanup_free_ char *state = NULL;
                snprintf(p, sizeof p, "%s/%s/freezer.state", root, cg->scope);
                if (read_file_at(-EBADF, p, 64, &state) >= 0 && strncmp(state, "FROZEN", 6) == 0)
                        return 0;
                nanosleep(&(struct timespec){ .tv_nsec = 5 * 1000 * 1000 }, NULL);
        }
        return -ETIMEDOUT;
}

/* No cgroup.kill on v1: freeze so nothing forks away, SIGKILL every task (one round: frozen tasks
 * do not die, so more would only signal the same ones again), thaw so they die, and then the
 * stragglers. */
static int hybrid_kill_all(MachineCgroup *cg) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", cg->unified_root, cg->scope);
        _cleanup_close_ int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        const char *freezer = v1_root(cg, "freezer");
        bool frozen = freezer && hybrid_freeze(cg, true) >= 0;
        if (frozen) {
                (void) cgroup_kill_procs_at(fd, 1);
                (void) hybrid_freeze(cg, false);
        }
        return cgroup_kill_procs_at(fd, 50);
}

const CgroupBackend cgroup_backend_hybrid = {
        .name = "hybrid",
        .init = enumerate_v1,
        .set_limit = hybrid_set_limit,
        .read_stats = hybrid_read_stats,
        .freeze = hybrid_freeze,
        .kill_all = hybrid_kill_all,
        .create = hybrid_create,
        .open_join = hybrid_open_join,
        .restrict_devices = hybrid_restrict_devices,
        .destroy = hybrid_destroy,
        .frozen_survives_sigkill = true,
};
