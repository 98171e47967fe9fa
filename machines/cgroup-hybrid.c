/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hybrid backend: v1 controller hierarchies (where limits apply and devices are filtered) plus
 * the cgroup2 tree at /sys/fs/cgroup/unified (what the guest sees, without controllers). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "machines/cgroup.h"
#include "nspawnlite/fd-util.h"
#include "nspawnlite/macro.h"

#define CGROUP_FS "/sys/fs/cgroup"

/* Devices a machine may use: what DESIGN.md §3 puts in /dev, plus the ptys of its devpts. */
static const char *const device_allow[] = {
        "c 1:3 rwm",   /* null */
        "c 1:5 rwm",   /* zero */
        "c 1:7 rwm",   /* full */
        "c 1:8 rwm",   /* random */
        "c 1:9 rwm",   /* urandom */
        "c 5:0 rwm",   /* tty */
        "c 5:2 rwm",   /* ptmx */
        "c 136:* rwm", /* pts */
        "c 10:200 rwm", /* net/tun */
};

static int enumerate_v1(MachineCgroup *cg) {
        if (cg->n_v1 > 0)
                return 0;
        DIR *d = opendir(CGROUP_FS);
        if (!d)
                return -errno;
        int r = 0;
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.' || strcmp(de->d_name, "unified") == 0)
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

/* A new cpuset cgroup starts with no CPUs and no memory nodes, and nothing can join it until it
 * has them: copy them from the parent at each level. */
static int cpuset_fill(const char *root, const char *path) {
        char buf[PATH_MAX];
        snprintf(buf, sizeof buf, "%s", path);
        for (char *p = buf;; p++) {
                if (*p != '/' && *p != 0)
                        continue;
                char saved = *p;
                *p = 0;
                static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
                for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                        char child[PATH_MAX], parent[PATH_MAX];
                        _cleanup_free_ char *cur = NULL, *want = NULL;
                        snprintf(child, sizeof child, "%s/%s/%s", root, buf, files[i]);
                        snprintf(parent, sizeof parent, "%s/%s", root, buf);
                        char *slash = strrchr(parent, '/');
                        *slash = 0;
                        strcat(parent, "/");
                        strcat(parent, files[i]);
                        if (read_file_at(-EBADF, child, 4096, &cur) < 0 || (cur[0] && cur[0] != '\n'))
                                continue;
                        if (read_file_at(-EBADF, parent, 4096, &want) < 0)
                                continue;
                        int r = write_file_at(-EBADF, child, want);
                        if (r < 0)
                                return r;
                }
                *p = saved;
                if (!saved)
                        break;
        }
        return 0;
}

static int hybrid_create(MachineCgroup *cg) {
        int r = enumerate_v1(cg);
        if (r < 0)
                return r;
        r = cgroup_mkdir_p(cg->unified_root, cg->payload, &cg->created_parent, cg->parent);
        if (r < 0)
                return r;
        for (size_t i = 0; i < cg->n_v1; i++) {
                r = cgroup_mkdir_p(cg->v1_roots[i], cg->payload, NULL, NULL);
                if (r < 0)
                        return r;
                if (strcmp(cg->v1_roots[i], CGROUP_FS "/cpuset") == 0) {
                        r = cpuset_fill(cg->v1_roots[i], cg->payload);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int hybrid_attach(MachineCgroup *cg, pid_t pid, bool unified_too) {
        char v[32];
        snprintf(v, sizeof v, "%d", (int) pid);
        for (size_t i = 0; i < cg->n_v1; i++) {
                int r = cgroup_write(cg->v1_roots[i], cg->payload, "cgroup.procs", v);
                if (r < 0)
                        return r;
        }
        return unified_too ? cgroup_write(cg->unified_root, cg->payload, "cgroup.procs", v) : 0;
}

static int hybrid_restrict_devices(MachineCgroup *cg) {
        const char *root = NULL;
        for (size_t i = 0; i < cg->n_v1; i++)
                if (strcmp(cg->v1_roots[i], CGROUP_FS "/devices") == 0)
                        root = cg->v1_roots[i];
        if (!root)
                return -EOPNOTSUPP;
        int r = cgroup_write(root, cg->payload, "devices.deny", "a");
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(device_allow); i++) {
                r = cgroup_write(root, cg->payload, "devices.allow", device_allow[i]);
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
                int k = cgroup_rmdir_retry(roots[i], cg->payload);
                if (k >= 0)
                        k = cgroup_rmdir_retry(roots[i], cg->scope);
                if (k < 0 && r >= 0)
                        r = k;
                if (cg->created_parent) {
                        char p[PATH_MAX];
                        snprintf(p, sizeof p, "%s/%s", roots[i], cg->parent);
                        (void) rmdir(p);
                }
        }
        return r;
}

const CgroupBackend cgroup_backend_hybrid = {
        .name = "hybrid",
        .create = hybrid_create,
        .attach = hybrid_attach,
        .restrict_devices = hybrid_restrict_devices,
        .destroy = hybrid_destroy,
};
