/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "machines/systemd-scope.h"
#include "nspawnlite/basic/name.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/path-util.h"
#include "nspawnlite/basic/strv.h"

#define CGROUP_FS "/sys/fs/cgroup"

int cgroup_detect_layout(CgroupLayout *ret) {
        struct statfs fs;
        if (statfs(CGROUP_FS, &fs) < 0)
                return -errno;
        if (fs.f_type == CGROUP2_SUPER_MAGIC) {
                *ret = CGROUP_LAYOUT_UNIFIED;
                return 0;
        }
        if (fs.f_type != TMPFS_MAGIC)
                return -ENOMEDIUM;
        if (statfs(CGROUP_FS "/unified", &fs) < 0 || fs.f_type != CGROUP2_SUPER_MAGIC)
                return -ENOMEDIUM; /* legacy without cgroup2: the guest's view needs cgroup2 */
        *ret = CGROUP_LAYOUT_HYBRID;
        return 0;
}

int cgroup_parent_from_env(char **ret) {
        const char *e = getenv("NSPAWNLITE_CGROUP_PARENT");
        if (!e)
                e = "machine.slice";
        /* Set but empty is most likely a mistake (an unset shell variable): it would quietly mean
         * machine.slice, where systemd's machines live. */
        if (!*e)
                return -ENODATA;
        while (*e == '/')
                e++;
        char abs[PATH_MAX];
        if (!*e || snprintf(abs, sizeof abs, "/%s", e) >= (int) sizeof abs || !path_is_safe_absolute(abs))
                return -EINVAL;
        *ret = strdup(e);
        return *ret ? 0 : -ENOMEM;
}

const char *cgroup_parent_error(int r) {
        if (r == -ENODATA)
                return "NSPAWNLITE_CGROUP_PARENT is set but empty: unset it to use machine.slice, or set a "
                       "cgroup path.";
        if (r == -EINVAL)
                return "Invalid NSPAWNLITE_CGROUP_PARENT: use a relative cgroup path without '..', e.g. "
                       "machine.slice.";
        return NULL;
}

int machine_cgroup_init(MachineCgroup *cg, const char *name) {
        *cg = (MachineCgroup){ .payload_fd = -EBADF };
        if (!machine_name_is_valid(name))
                return -EINVAL;

        CgroupLayout layout;
        int r = cgroup_detect_layout(&layout);
        if (r < 0)
                return r;
        cg->backend = layout == CGROUP_LAYOUT_UNIFIED ? &cgroup_backend_unified : &cgroup_backend_hybrid;
        cg->unified_root = strdup(layout == CGROUP_LAYOUT_UNIFIED ? CGROUP_FS : CGROUP_FS "/unified");

        r = cgroup_parent_from_env(&cg->parent);
        if (r < 0)
                return r;
        if (!(cg->name = strdup(name)))
                return -ENOMEM;
        if (asprintf(&cg->scope, "%s/machine-%s.scope", cg->parent, name) < 0 ||
            asprintf(&cg->payload, "%s/payload", cg->scope) < 0 || !cg->unified_root)
                return -ENOMEM;
        return cg->backend->init ? cg->backend->init(cg) : 0;
}

int machine_cgroup_init_recorded(MachineCgroup *cg, const char *name, const char *scope, const char *unit,
                                 bool kept) {
        int r = machine_cgroup_init(cg, name);
        if (r < 0 || !unit || !*unit)
                return r;
        /* Units are systemd's, on a cgroup2-only tree: elsewhere the default paths hold. */
        if (!machine_cgroup_is_unified(cg))
                return 0;
        char abs[PATH_MAX];
        const char *slash = scope ? strrchr(scope, '/') : NULL;
        if (!slash || slash == scope || !slash[1] ||
            snprintf(abs, sizeof abs, "/%s", scope) >= (int) sizeof abs || !path_is_safe_absolute(abs) ||
            strchr(unit, '/'))
                return -EINVAL;
        free(cg->parent);
        free(cg->scope);
        free(cg->payload);
        cg->payload = NULL;
        cg->parent = strndup(scope, slash - scope);
        cg->scope = strdup(scope);
        cg->unit = strdup(unit);
        cg->unit_mode = kept ? CGROUP_UNIT_KEEP : CGROUP_UNIT_TRANSIENT;
        if (!cg->parent || !cg->scope || !cg->unit || asprintf(&cg->payload, "%s/payload", cg->scope) < 0)
                return -ENOMEM;
        return 0;
}

int machine_cgroup_use_systemd(MachineCgroup *cg, const char *slice, bool keep_unit, const Limits *limits) {
        /* The hybrid layout is left to today's path: systemd's v1 hierarchies are not delegated. */
        if (!systemd_booted() || getenv("NSPAWNLITE_CGROUP_PARENT") || !machine_cgroup_is_unified(cg))
                return 0;
        cg->unit_mode = keep_unit ? CGROUP_UNIT_KEEP : CGROUP_UNIT_TRANSIENT;
        cg->unit_limits = keep_unit ? NULL : limits;
        if (!(cg->slice = strdup(slice ?: "machine.slice")))
                return -ENOMEM;
        if (!keep_unit && asprintf(&cg->unit, "machine-%s.scope", cg->name) < 0)
                return -ENOMEM;
        return 1;
}

/* Our cgroup in the unified tree, "/a/b" ("/" at its root). */
static int self_cgroup(char **ret) {
        _cleanup_free_ char *self = NULL;
        int r = read_file_at(-EBADF, "/proc/self/cgroup", 4096, &self);
        if (r < 0)
                return r;
        char *line = strstr(self, "0::/");
        if (!line)
                return -ENOMEDIUM;
        line[strcspn(line, "\n")] = 0;
        *ret = strdup(line + 3);
        return *ret ? 0 : -ENOMEM;
}

/* Have systemd make the scope (or take the unit we run in), then point the paths at it: the
 * backend makes payload and supervisor inside as without systemd. */
static int unit_create(MachineCgroup *cg) {
        _cleanup_free_ char *origin = NULL, *scope = NULL;
        int r = self_cgroup(&origin);
        if (r < 0)
                return r;
        if (cg->unit_mode == CGROUP_UNIT_TRANSIENT) {
                char desc[128];
                snprintf(desc, sizeof desc, "nspawnlite machine %s", cg->name);
                ScopeUnitSpec u = { .unit = cg->unit,
                                    .slice = cg->slice,
                                    .description = desc,
                                    .pid = getpid(),
                                    .limits = cg->unit_limits,
                                    .controller = true };
                /* The unit of the last machine of this name is gone a moment after it ended. */
                for (int i = 0;
                     (r = systemd_scope_start(&u, cg->unit_error, sizeof cg->unit_error)) == -EEXIST &&
                     i < 100;
                     i++)
                        nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
                if (r < 0)
                        return r;
                if ((r = self_cgroup(&scope)) < 0)
                        return r;
        } else {
                const char *base = strrchr(origin, '/') + 1;
                size_t l = strlen(base);
                if (l < 6 || (strcmp(base + l - 6, ".scope") != 0 &&
                              (l < 8 || strcmp(base + l - 8, ".service") != 0))) {
                        snprintf(cg->unit_error, sizeof cg->unit_error,
                                 "--keep-unit: nspawnlite does not run in a scope or service of its own (its "
                                 "cgroup is "
                                 "%s); start it from one (systemd-run --scope, a service) or drop "
                                 "--keep-unit.",
                                 origin);
                        return -EMEDIUMTYPE;
                }
                if (!(cg->unit = strdup(base)) || !(scope = strdup(origin)))
                        return -ENOMEM;
        }
        /* Where the supervisor returns to before the scope can go: out of a transient unit (then
         * empty, systemd removes it). A kept unit ends with the supervisor. */
        free(cg->supervisor_origin);
        cg->supervisor_origin = TAKE_PTR(origin);
        free(cg->scope);
        free(cg->payload);
        free(cg->parent);
        cg->payload = NULL;
        cg->parent = strndup(scope + 1, strrchr(scope, '/') - scope - 1);
        cg->scope = strdup(scope + 1);
        if (!cg->supervisor_origin || !cg->parent || !cg->scope ||
            asprintf(&cg->payload, "%s/payload", cg->scope) < 0)
                return -ENOMEM;
        return cgroup_mark_scope(cg, cg->unified_root);
}

int machine_cgroup_create(MachineCgroup *cg) {
        if (cg->unit_mode != CGROUP_UNIT_NONE) {
                int r = unit_create(cg);
                /* No libsystemd or no system bus (a minimal container with systemd but without
                 * D-Bus): systemd cannot be asked, the cgroups are made as without it. */
                if (cg->unit_mode == CGROUP_UNIT_TRANSIENT &&
                    (r == -ENOPKG || r == -ENOENT || r == -ECONNREFUSED)) {
                        cg->unit_mode = CGROUP_UNIT_NONE;
                        cg->unit_fallback = r;
                } else if (r < 0)
                        return r;
        }
        /* What create makes is marked ours, and what it finds must be ours already (and destroy
         * removes nothing else): the failure path may clear up. */
        cg->owned = true;
        int r = cgroup_creating_begin(cg);
        if (r < 0)
                return r;
        r = cg->backend->create(cg);
        if (r < 0) {
                if (cg->backend->destroy(cg) >= 0)
                        cgroup_creating_end(cg);
                return r;
        }
        cgroup_creating_end(cg);
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", cg->unified_root, cg->payload);
        cg->payload_fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cg->payload_fd < 0) {
                r = -errno;
                (void) cg->backend->destroy(cg);
                return r;
        }
        r = cg->backend->restrict_devices(cg);
        cg->devices_restricted = r >= 0;
        if (r < 0 && r != -EOPNOTSUPP) {
                (void) cg->backend->destroy(cg);
                return r;
        }
        return 0;
}

/* Before the guest starts again (reboot): the payload as the last guest left it may hold its child
 * cgroups, controllers it enabled in payload's cgroup.subtree_control (then no process may join
 * payload: cgroup v2's "no internal processes" rule, EBUSY) and values it wrote to payload's own
 * files. Start the new guest in a fresh payload. */
int machine_cgroup_reset_payload(MachineCgroup *cg) {
        cg->payload_fd = safe_close(cg->payload_fd);
        int r = cgroup_kill_procs(cg->unified_root, cg->payload);
        if (r < 0)
                return r;
        r = cgroup_rmdir_retry(cg->unified_root, cg->payload);
        if (r < 0)
                return r;
        r = cgroup_mkdir_p(cg->unified_root, cg->payload, NULL, NULL);
        if (r < 0)
                return r;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", cg->unified_root, cg->payload);
        cg->payload_fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cg->payload_fd < 0)
                return -errno;
        /* A device program went with the old payload directory. */
        if (cg->devices_restricted && (r = cg->backend->restrict_devices(cg)) < 0)
                return r;
        return 0;
}

int machine_cgroup_attach_unified(MachineCgroup *cg, pid_t pid) {
        char v[32];
        snprintf(v, sizeof v, "%d", (int) pid);
        return cgroup_write(cg->unified_root, cg->payload, "cgroup.procs", v);
}

int machine_cgroup_open_join(MachineCgroup *cg) {
        machine_cgroup_close_join(cg);
        int r = cg->backend->open_join ? cg->backend->open_join(cg) : 0;
        if (r < 0)
                machine_cgroup_close_join(cg);
        return r;
}

int machine_cgroup_join_self(const MachineCgroup *cg) {
        for (size_t i = 0; i < cg->n_join_fds; i++)
                if (write(cg->join_fds[i], "0", 1) != 1)
                        return -errno;
        return 0;
}

void machine_cgroup_close_join(MachineCgroup *cg) {
        for (size_t i = 0; i < cg->n_join_fds; i++)
                safe_close(cg->join_fds[i]);
        cg->n_join_fds = 0;
}

/* cgroup2's cgroup.events says whether any process is left in a subtree; the unified tree holds
 * every process under both backends. When it cannot be read, assume there is. */
static bool scope_populated(const MachineCgroup *cg) {
        char p[PATH_MAX];
        _cleanup_free_ char *events = NULL;
        snprintf(p, sizeof p, "%s/%s/cgroup.events", cg->unified_root, cg->scope);
        if (read_file_at(AT_FDCWD, p, 4096, &events) < 0)
                return true;
        return !strstr(events, "populated 0\n");
}

int machine_cgroup_kill_all(MachineCgroup *cg) {
        if (!cg->backend)
                return 0;
        if (!cg->owned)
                return -EPERM;
        if (!scope_populated(cg))
                return 0;
        /* The v1 kill freezes the machine for a moment: should we die then, the watcher ends it. */
        _cleanup_(machine_cgroup_watch_stop) int watch = -EBADF;
        (void) machine_cgroup_watch_start(cg, &watch);
        return cg->backend->kill_all(cg);
}

int machine_cgroup_destroy(MachineCgroup *cg) {
        if (!cg->backend)
                return 0;
        if (!cg->owned)
                return -EPERM;
        cg->payload_fd = safe_close(cg->payload_fd);
        int r = cg->backend->destroy(cg);
        if (r >= 0)
                cgroup_creating_end(cg); /* what a supervisor killed while it made them left */
        return r;
}

int machine_cgroup_freeze(MachineCgroup *cg, bool frozen) {
        return cg->backend ? cg->backend->freeze(cg, frozen) : -EOPNOTSUPP;
}

int machine_cgroup_set_limit(MachineCgroup *cg, LimitKey key, uint64_t value) {
        char err[512];
        /* systemd holds the unit's limits, and writes them to the cgroup itself. */
        if (cg->unit_mode != CGROUP_UNIT_NONE)
                return systemd_unit_set_limit(cg->unit, key, value, err, sizeof err);
        return cg->backend ? cg->backend->set_limit(cg, key, value) : -EOPNOTSUPP;
}

int machine_cgroup_read_stats(MachineCgroup *cg, CgroupStats *ret) {
        return cg->backend ? cg->backend->read_stats(cg, ret) : -EOPNOTSUPP;
}

bool machine_cgroup_is_unified(const MachineCgroup *cg) {
        return cg->backend == &cgroup_backend_unified;
}

/* The names of PARENT/machine-NAME.scope in dir. */
static int scope_names(const char *dir, char ***names) {
        DIR *d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        int r = 0;
        for (struct dirent *de; (de = readdir(d));) {
                size_t l = strlen(de->d_name);
                if (strncmp(de->d_name, "machine-", 8) != 0 || l < 15 ||
                    strcmp(de->d_name + l - 6, ".scope") != 0)
                        continue;
                char name[128];
                snprintf(name, sizeof name, "%.*s", (int) (l - 14), de->d_name + 8);
                if (!machine_name_is_valid(name) || strv_contains(*names, name))
                        continue;
                if ((r = strv_push(names, name)) < 0)
                        break;
        }
        closedir(d);
        return r;
}

int machine_cgroup_list_scopes(const MachineCgroup *cg, char ***names) {
        if (!cg->backend)
                return 0;
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/%s", cg->unified_root, cg->parent);
        int r = scope_names(dir, names);
        for (size_t i = 0; r >= 0 && i < cg->n_v1; i++) {
                snprintf(dir, sizeof dir, "%s/%s", cg->v1_roots[i], cg->parent);
                r = scope_names(dir, names);
        }
        return r;
}

void machine_cgroup_remove_parent(const MachineCgroup *cg) {
        if (!cg->backend)
                return;
        char dir[PATH_MAX];
        for (size_t i = 0; i < cg->n_v1; i++) {
                snprintf(dir, sizeof dir, "%s/%s", cg->v1_roots[i], cg->parent);
                (void) rmdir(dir);
        }
        snprintf(dir, sizeof dir, "%s/%s", cg->unified_root, cg->parent);
        (void) rmdir(dir);
}

int machine_cgroup_delegate(MachineCgroup *cg, uid_t uid) {
        /* The directory, and the files a delegatee writes (cgroup v2's delegation model). */
        static const char *const files[] = { "", "/cgroup.procs", "/cgroup.threads",
                                             "/cgroup.subtree_control" };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                char p[PATH_MAX];
                snprintf(p, sizeof p, "%s/%s%s", cg->unified_root, cg->payload, files[i]);
                if (chown(p, uid, uid) < 0 && !(errno == ENOENT && i > 0))
                        return -errno;
        }
        return 0;
}

void machine_cgroup_done(MachineCgroup *cg) {
        safe_close(cg->payload_fd);
        machine_cgroup_close_join(cg);
        free(cg->name);
        free(cg->parent);
        free(cg->scope);
        free(cg->payload);
        free(cg->unified_root);
        free(cg->supervisor_origin);
        free(cg->unit);
        free(cg->slice);
        for (size_t i = 0; i < cg->n_v1; i++)
                free(cg->v1_roots[i]);
        *cg = (MachineCgroup){ .payload_fd = -EBADF };
}

/* mkdir -p ROOT/PATH. *ret_created_first tells whether the component "first" (the parent slice)
 * was made by us, so that we remove it again only then. */
static int mkdir_p_once(const char *root, const char *path, bool *ret_created_first, const char *first);

/* Another machine's teardown may remove the empty parent slice between our mkdir()s: try again. */
int cgroup_mkdir_p(const char *root, const char *path, bool *ret_created_first, const char *first) {
        int r = -ENOENT;
        for (int attempt = 0; attempt < 5 && r == -ENOENT; attempt++)
                r = mkdir_p_once(root, path, ret_created_first, first);
        return r;
}

static int mkdir_p_once(const char *root, const char *path, bool *ret_created_first, const char *first) {
        char buf[PATH_MAX];
        if (snprintf(buf, sizeof buf, "%s/%s", root, path) >= (int) sizeof buf)
                return -ENAMETOOLONG;
        size_t rootlen = strlen(root);
        size_t firstlen = first ? strlen(root) + 1 + strlen(first) : 0;
        for (char *p = buf + rootlen + 1;; p++) {
                if (*p != '/' && *p != 0)
                        continue;
                char saved = *p;
                *p = 0;
                if (mkdir(buf, 0755) < 0) {
                        if (errno != EEXIST)
                                return -errno;
                } else if (ret_created_first && (size_t) (p - buf) == firstlen)
                        *ret_created_first = true;
                *p = saved;
                if (!saved)
                        break;
        }
        return 0;
}

int cgroup_write(const char *root, const char *path, const char *file, const char *value) {
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s/%s/%s", root, path, file) >= (int) sizeof p)
                return -ENAMETOOLONG;
        return write_file_at(AT_FDCWD, p, value);
}

/* Remove p and every cgroup below it (the guest's own init makes those), deepest first. The
 * processes of a dead pid namespace take a moment to leave: retry for up to two seconds. */
static int rmdir_tree(const char *p, int depth) {
        if (depth > 64)
                return -ELOOP;
        /* Usually there is nothing below and nobody left: one call. */
        if (rmdir(p) >= 0 || errno == ENOENT)
                return 0;
        if (errno != EBUSY && errno != ENOTEMPTY)
                return -errno;
        DIR *d = opendir(p);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        int r = 0;
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                char sub[PATH_MAX];
                if (snprintf(sub, sizeof sub, "%s/%s", p, de->d_name) >= (int) sizeof sub) {
                        r = -ENAMETOOLONG;
                        continue;
                }
                int k = rmdir_tree(sub, depth + 1);
                if (k < 0 && r >= 0)
                        r = k;
        }
        closedir(d);
        if (r < 0)
                return r;
        for (int i = 0; i < 200; i++) {
                if (rmdir(p) >= 0 || errno == ENOENT)
                        return 0;
                if (errno != EBUSY)
                        return -errno;
                nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
        return -EBUSY;
}

bool cgroup_parent_removable(const MachineCgroup *cg) {
        return cg->created_parent || access("/run/systemd/system", F_OK) < 0;
}

int cgroup_read_u64(const char *root, const char *path, const char *file, uint64_t *ret) {
        char p[PATH_MAX];
        _cleanup_free_ char *s = NULL;
        snprintf(p, sizeof p, "%s/%s/%s", root, path, file);
        int r = read_file_at(AT_FDCWD, p, 64, &s);
        if (r < 0)
                return r;
        if (strncmp(s, "max", 3) == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s)
                return -EBADMSG;
        *ret = v;
        return 0;
}

static int kill_tree_at(int dfd, int depth, unsigned *killed) {
        if (depth > 64)
                return -ELOOP;
        _cleanup_free_ char *pids = NULL;
        if (read_file_at(dfd, "cgroup.procs", 1 << 20, &pids) >= 0)
                for (char *q = pids; *q;) {
                        long pid = strtol(q, &q, 10);
                        if (pid > 0 && kill((pid_t) pid, SIGKILL) >= 0)
                                (*killed)++;
                        while (*q == '\n')
                                q++;
                        if (pid <= 0)
                                break;
                }
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                int r = -errno;
                safe_close(fd);
                return r == -ENOENT || r == -ENODEV ? 0 : r;
        }
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                _cleanup_close_ int sub =
                        openat(dirfd(d), de->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub >= 0)
                        (void) kill_tree_at(sub, depth + 1, killed);
        }
        closedir(d);
        return 0;
}

int cgroup_kill_procs_at(int dfd, int rounds) {
        for (int round = 0; round < rounds; round++) {
                unsigned killed = 0;
                int r = kill_tree_at(dfd, 0, &killed);
                if (r < 0)
                        return r;
                if (killed == 0)
                        return 0;
                nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
        return -EBUSY;
}

int cgroup_kill_procs(const char *root, const char *path) {
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s/%s", root, path) >= (int) sizeof p)
                return -ENAMETOOLONG;
        _cleanup_close_ int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        return cgroup_kill_procs_at(fd, 50);
}

int cgroup_rmdir_retry(const char *root, const char *path) {
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s/%s", root, path) >= (int) sizeof p)
                return -ENAMETOOLONG;
        return rmdir_tree(p, 0);
}
