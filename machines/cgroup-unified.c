/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgroup v2 backend: one tree, controllers enabled down to the machine's scope. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "machines/bpf-devices.h"
#include "machines/cgroup.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/macro.h"

static const char *const wanted_controllers[] = { "cpu", "io", "memory", "pids" };

/* Enable in dir's subtree_control every wanted controller that dir offers. */
static int enable_controllers(const char *dir) {
        char p[PATH_MAX];
        _cleanup_free_ char *avail = NULL;
        snprintf(p, sizeof p, "%s/cgroup.controllers", dir);
        int r = read_file_at(-EBADF, p, 4096, &avail);
        if (r < 0)
                return r;
        snprintf(p, sizeof p, "%s/cgroup.subtree_control", dir);
        for (size_t i = 0; i < ELEMENTSOF(wanted_controllers); i++) {
                const char *c = wanted_controllers[i];
                size_t n = strlen(c);
                bool found = false;
                for (const char *s = avail; (s = strstr(s, c)); s += n)
                        if ((s == avail || s[-1] == ' ') && (s[n] == ' ' || s[n] == '\n' || s[n] == 0)) {
                                found = true;
                                break;
                        }
                if (!found)
                        continue;
                char v[32];
                snprintf(v, sizeof v, "+%s", c);
                (void) write_file_at(-EBADF, p, v); /* best effort: limits say later what is missing */
        }
        return 0;
}

/* The supervisor itself goes to …/supervisor, a leaf beside payload; it returns to
 * where it came from (cg->supervisor_origin) before the scope is removed. */
static int supervisor_enter(MachineCgroup *cg) {
        char sup[PATH_MAX];
        snprintf(sup, sizeof sup, "%s/supervisor", cg->scope);
        int r = cgroup_mkdir_p(cg->unified_root, sup, NULL, NULL);
        if (r < 0)
                return r;
        if (!cg->supervisor_origin) { /* the systemd path sets it, from before the unit */
                _cleanup_free_ char *self = NULL;
                r = read_file_at(-EBADF, "/proc/self/cgroup", 4096, &self);
                if (r < 0)
                        return r;
                char *line = strstr(self, "0::/");
                if (!line)
                        return -ENOMEDIUM;
                line[strcspn(line, "\n")] = 0;
                cg->supervisor_origin = strdup(line + 3);
                if (!cg->supervisor_origin)
                        return -ENOMEM;
        }
        return cgroup_write(cg->unified_root, sup, "cgroup.procs", "0");
}

static int unified_create(MachineCgroup *cg) {
        int r = cgroup_create_scope(cg, cg->unified_root, &cg->created_parent);
        if (r < 0)
                return r;
        /* In a unit systemd made we start in the scope itself: out of it first, as no process may
         * stay beside the child cgroups of one with controllers enabled. */
        if (cg->unit_mode != CGROUP_UNIT_NONE && (r = supervisor_enter(cg)) < 0)
                return r;
        /* From the hierarchy's root down to the scope; the payload is the guest's to manage. systemd
         * enables them down to a unit it made: only the delegated scope's own are ours. */
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/%s", cg->unified_root, cg->scope);
        size_t rootlen = strlen(cg->unified_root);
        char *p = cg->unit_mode == CGROUP_UNIT_NONE ? dir + rootlen : dir + strlen(dir);
        for (;;) {
                char saved = *p;
                *p = 0;
                (void) enable_controllers(dir);
                *p = saved;
                if (!saved)
                        break;
                p = strchr(p + 1, '/');
                if (!p)
                        p = dir + strlen(dir);
        }
        return cg->unit_mode == CGROUP_UNIT_NONE ? supervisor_enter(cg) : 0;
}

/* Leave …/supervisor (if we are in it) so that the scope can go. */
static void unified_supervisor_leave(MachineCgroup *cg) {
        if (!cg->supervisor_origin)
                return;
        if (cgroup_write(cg->unified_root, cg->supervisor_origin, "cgroup.procs", "0") < 0)
                (void) cgroup_write(cg->unified_root, "", "cgroup.procs", "0");
        free(cg->supervisor_origin);
        cg->supervisor_origin = NULL;
}

static int unified_restrict_devices(MachineCgroup *cg) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", cg->unified_root, cg->payload);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = bpf_devices_attach(fd);
        /* A kernel without cgroup BPF: the caller drops CAP_MKNOD instead. */
        return r == -EINVAL || r == -ENOSYS || r == -EPERM || r == -EOPNOTSUPP ? -EOPNOTSUPP : r;
}

/* The scope is systemd's: only what we made in it goes. A transient unit, empty once we have left,
 * is removed by systemd itself (a new start of the name waits for that, see unit_create()). */
static int unit_scope_leave(MachineCgroup *cg, int r) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/supervisor", cg->scope);
        /* A kept unit usually ends with the supervisor, still in …/supervisor: systemd clears it
         * then. Once the supervisor is dead (gc) the unit may live on: its …/supervisor goes now. */
        if (cg->unit_mode == CGROUP_UNIT_KEEP) {
                char d[PATH_MAX];
                snprintf(d, sizeof d, "%s/%s", cg->unified_root, p);
                (void) rmdir(d); /* EBUSY while we are in it */
                return r;
        }
        int k = cgroup_rmdir_retry(cg->unified_root, p);
        if (r >= 0)
                r = k;
        return r;
}

static int unified_destroy(MachineCgroup *cg) {
        if (cg->unit_mode != CGROUP_UNIT_KEEP)
                unified_supervisor_leave(cg);
        /* Someone else's scope (create found it there) stays. */
        char why[256];
        int r = cgroup_scope_claim_at(cg, cg->unified_root, why, sizeof why);
        if (r < 0)
                return r;
        r = cgroup_rmdir_retry(cg->unified_root, cg->payload);
        if (cg->unit_mode != CGROUP_UNIT_NONE)
                return unit_scope_leave(cg, r);
        int k = cgroup_rmdir_retry(cg->unified_root, cg->scope);
        if (r >= 0)
                r = k;
        if (cgroup_parent_removable(cg)) {
                char p[PATH_MAX];
                snprintf(p, sizeof p, "%s/%s", cg->unified_root, cg->parent);
                (void) rmdir(p); /* still in use by another machine: fine */
        }
        return r;
}

static int unified_set_limit(MachineCgroup *cg, LimitKey key, uint64_t value) {
        char v[64];
        int r = limit_format_v2(key, value, v, sizeof v);
        if (r < 0)
                return r;
        r = cgroup_write(cg->unified_root, cg->scope, limit_info(key)->v2_file, v);
        /* A missing file means the controller is not enabled here. */
        return r == -ENOENT ? -EOPNOTSUPP : r;
}

static int unified_read_stats(MachineCgroup *cg, CgroupStats *ret) {
        CgroupStats st = { UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX };
        char p[PATH_MAX];
        _cleanup_free_ char *text = NULL;
        (void) cgroup_read_u64(cg->unified_root, cg->scope, "memory.current", &st.memory_current);
        (void) cgroup_read_u64(cg->unified_root, cg->scope, "memory.peak", &st.memory_peak);
        (void) cgroup_read_u64(cg->unified_root, cg->scope, "pids.current", &st.pids_current);
        snprintf(p, sizeof p, "%s/%s/cpu.stat", cg->unified_root, cg->scope);
        if (read_file_at(-EBADF, p, 4096, &text) >= 0)
                (void) parse_cpu_stat_usage(text, &st.cpu_usec);
        free(text);
        text = NULL;
        snprintf(p, sizeof p, "%s/%s/io.stat", cg->unified_root, cg->scope);
        if (read_file_at(-EBADF, p, 1 << 16, &text) >= 0)
                (void) parse_io_stat(text, &st.io_read_bytes, &st.io_write_bytes);
        *ret = st;
        return 0;
}

static int unified_freeze(MachineCgroup *cg, bool frozen) {
        int r = cgroup_write(cg->unified_root, cg->payload, "cgroup.freeze", frozen ? "1" : "0");
        if (r < 0 || !frozen)
                return r;
        /* The kernel freezes asynchronously: return once cgroup.events says so, as v1 does. */
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s/cgroup.events", cg->unified_root, cg->payload);
        for (int i = 0; i < 200; i++) {
                _cleanup_free_ char *ev = NULL;
                if (read_file_at(-EBADF, p, 256, &ev) >= 0 && strstr(ev, "frozen 1"))
                        return 0;
                nanosleep(&(struct timespec){ .tv_nsec = 5 * 1000 * 1000 }, NULL);
        }
        return -ETIMEDOUT;
}

static int unified_kill_all(MachineCgroup *cg) {
        int r = cgroup_write(cg->unified_root, cg->payload, "cgroup.kill", "1");
        if (r == -ENOENT) /* before 5.14 */
                return cgroup_kill_procs(cg->unified_root, cg->payload);
        return r;
}

const CgroupBackend cgroup_backend_unified = {
        .name = "unified",
        .set_limit = unified_set_limit,
        .read_stats = unified_read_stats,
        .freeze = unified_freeze,
        .kill_all = unified_kill_all,
        .create = unified_create,
        .restrict_devices = unified_restrict_devices,
        .destroy = unified_destroy,
};
