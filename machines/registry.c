/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "machines/name.h"
#include "nspawnlite/fd-util.h"
#include "nspawnlite/macro.h"

const char *runtime_dir(void) {
        const char *e = getenv("NSPAWNLITE_RUNTIME_DIR");
        return e && e[0] == '/' ? e : "/run/nspawnlite";
}

int machine_path(const char *name, const char *file, char *buf, size_t n) {
        if (!machine_name_is_valid(name))
                return -EINVAL;
        int k = file ? snprintf(buf, n, "%s/machines/%s/%s", runtime_dir(), name, file)
                     : snprintf(buf, n, "%s/machines/%s", runtime_dir(), name);
        return k < 0 || (size_t) k >= n ? -ENAMETOOLONG : 0;
}

static int mkdir_if_missing(const char *p, mode_t mode) {
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int machine_lock_acquire(const char *name, MachineLock *ret) {
        char p[PATH_MAX];
        int r = machine_path(name, NULL, p, sizeof p);
        if (r < 0)
                return r;
        char machines[PATH_MAX];
        snprintf(machines, sizeof machines, "%s/machines", runtime_dir());
        if ((r = mkdir_if_missing(runtime_dir(), 0755)) < 0 || (r = mkdir_if_missing(machines, 0755)) < 0 ||
            (r = mkdir_if_missing(p, 0755)) < 0)
                return r;

        _cleanup_free_ char *dir = strdup(p);
        if (!dir)
                return -ENOMEM;
        snprintf(p, sizeof p, "%s/lock", dir);
        /* A lock file left by a dead supervisor is simply taken over. */
        _cleanup_close_ int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : -errno;
        *ret = (MachineLock) { .dir = TAKE_PTR(dir), .lock_fd = TAKE_FD(fd) };
        return 0;
}

void machine_lock_release(MachineLock *l) {
        if (!l->dir)
                return;
        static const char *const files[] = { "state", "control", "console.log", "console.log.old", "inaccessible" };
        char p[PATH_MAX];
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(p, sizeof p, "%s/%s", l->dir, files[i]);
                (void) unlink(p);
        }
        /* What a supervisor killed while it replaced its state file left (we hold the lock). */
        remove_stale_tmp_files(l->dir);
        static const char *const dirs[] = { "root", "stage" }; /* -U's mount points, empty */
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                snprintf(p, sizeof p, "%s/%s", l->dir, dirs[i]);
                (void) rmdir(p);
        }
        /* The lock file goes last, while we still hold it. */
        snprintf(p, sizeof p, "%s/lock", l->dir);
        (void) unlink(p);
        (void) rmdir(l->dir);
        l->lock_fd = safe_close(l->lock_fd);
        free(l->dir);
        l->dir = NULL;
}

bool machine_lock_held(const char *name) {
        char p[PATH_MAX];
        if (machine_path(name, "lock", p, sizeof p) < 0)
                return false;
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return false;
        if (flock(fd, LOCK_SH | LOCK_NB) < 0)
                return errno == EWOULDBLOCK;
        (void) flock(fd, LOCK_UN);
        return false;
}

int pid_starttime(pid_t pid, uint64_t *ret) {
        char p[64];
        _cleanup_free_ char *s = NULL;
        snprintf(p, sizeof p, "/proc/%d/stat", (int) pid);
        int r = read_file_at(AT_FDCWD, p, 4096, &s);
        if (r < 0)
                return r;
        /* The name may hold spaces and parentheses: fields count from the last ')'. */
        char *q = strrchr(s, ')');
        if (!q)
                return -EBADMSG;
        unsigned long long v = 0;
        q++;
        for (int field = 3; field <= 22; field++) {
                while (*q == ' ')
                        q++;
                if (!*q)
                        return -EBADMSG;
                if (field == 22) {
                        v = strtoull(q, NULL, 10);
                        break;
                }
                q = strchr(q, ' ');
                if (!q)
                        return -EBADMSG;
        }
        *ret = v;
        return 0;
}

int machine_info_format(const MachineInfo *m, char *buf, size_t n) {
        size_t len = 0;
#define EMIT(...)                                                                                  \
        do {                                                                                       \
                int _k = snprintf(buf + len, n - len, __VA_ARGS__);                                \
                if (_k < 0 || (size_t) _k >= n - len)                                              \
                        return -ENOBUFS;                                                           \
                len += (size_t) _k;                                                                \
        } while (0)
        EMIT("name=%s\nstate=%s\ninit=%s\nleader=%d\nleader_starttime=%" PRIu64 "\nsupervisor=%d\n"
             "since=%" PRIu64 "\nrootfs=%s\nuuid=%s\ncgroup=%s\ndetached=%d\n",
             m->name, m->state, m->init, (int) m->leader, m->leader_starttime, (int) m->supervisor,
             m->since_usec, m->rootfs, m->uuid, m->cgroup, m->detached);
        EMIT("caps=%" PRIu64 "\nno_new_privileges=%d\nuid_shift=%" PRIu32 "\n", m->caps, m->no_new_privileges,
             m->uid_shift);
        if (m->address[0])
                EMIT("address=%s\n", m->address);
        if (m->interface[0])
                EMIT("interface=%s\n", m->interface);
        for (int k = 0; k < _LIMIT_MAX; k++)
                if (m->limits.set[k])
                        EMIT("limit.%s=%" PRIu64 "\n", limit_info((LimitKey) k)->name, m->limits.value[k]);
#undef EMIT
        return (int) len;
}

static int parse_u64(const char *s, uint64_t *ret) {
        if (!*s || *s < '0' || *s > '9')
                return -EINVAL;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_pid(const char *s, pid_t *ret) {
        uint64_t v;
        if (parse_u64(s, &v) < 0 || v > INT32_MAX)
                return -EINVAL;
        *ret = (pid_t) v;
        return 0;
}

static int copy_field(char *dst, size_t n, const char *v) {
        size_t l = strlen(v);
        if (l >= n)
                return -EINVAL;
        memcpy(dst, v, l + 1);
        return 0;
}

int machine_info_parse(const char *text, MachineInfo *ret) {
        MachineInfo m = {};
        const char *p = text;
        while (*p) {
                const char *eol = strchr(p, '\n');
                size_t len = eol ? (size_t) (eol - p) : strlen(p);
                char line[4200];
                if (len >= sizeof line)
                        return -EINVAL;
                memcpy(line, p, len);
                line[len] = 0;
                p += len + (eol ? 1 : 0);
                if (len == 0)
                        continue;
                char *eq = strchr(line, '=');
                if (!eq)
                        return -EINVAL;
                *eq = 0;
                const char *k = line, *v = eq + 1;
                int r = 0;
                uint64_t u;
                if (strcmp(k, "name") == 0)
                        r = copy_field(m.name, sizeof m.name, v);
                else if (strcmp(k, "state") == 0)
                        r = copy_field(m.state, sizeof m.state, v);
                else if (strcmp(k, "init") == 0)
                        r = copy_field(m.init, sizeof m.init, v);
                else if (strcmp(k, "leader") == 0)
                        r = parse_pid(v, &m.leader);
                else if (strcmp(k, "leader_starttime") == 0)
                        r = parse_u64(v, &m.leader_starttime);
                else if (strcmp(k, "supervisor") == 0)
                        r = parse_pid(v, &m.supervisor);
                else if (strcmp(k, "since") == 0)
                        r = parse_u64(v, &m.since_usec);
                else if (strcmp(k, "rootfs") == 0)
                        r = copy_field(m.rootfs, sizeof m.rootfs, v);
                else if (strcmp(k, "uuid") == 0)
                        r = copy_field(m.uuid, sizeof m.uuid, v);
                else if (strcmp(k, "cgroup") == 0)
                        r = copy_field(m.cgroup, sizeof m.cgroup, v);
                else if (strcmp(k, "address") == 0)
                        r = copy_field(m.address, sizeof m.address, v);
                else if (strcmp(k, "interface") == 0)
                        r = copy_field(m.interface, sizeof m.interface, v);
                else if (strcmp(k, "caps") == 0)
                        r = parse_u64(v, &m.caps);
                else if (strcmp(k, "uid_shift") == 0) {
                        r = parse_u64(v, &u);
                        if (r >= 0 && u > UINT32_MAX)
                                r = -EINVAL;
                        m.uid_shift = (uint32_t) u;
                }
                else if (strcmp(k, "no_new_privileges") == 0) {
                        r = parse_u64(v, &u);
                        m.no_new_privileges = u != 0;
                } else if (strcmp(k, "detached") == 0) {
                        r = parse_u64(v, &u);
                        m.detached = u != 0;
                } else if (strncmp(k, "limit.", 6) == 0) {
                        LimitKey lk;
                        if (limit_from_name(k + 6, &lk) >= 0 && (r = parse_u64(v, &u)) >= 0) {
                                m.limits.set[lk] = true;
                                m.limits.value[lk] = u;
                        }
                }
                /* Unknown keys: written by a newer nspawnlite; ignored. */
                if (r < 0)
                        return -EINVAL;
        }
        if (!machine_name_is_valid(m.name) || m.leader <= 0)
                return -EINVAL;
        *ret = m;
        return 0;
}

int machine_state_write(const MachineLock *l, const MachineInfo *m) {
        char buf[8192], p[PATH_MAX];
        int r = machine_info_format(m, buf, sizeof buf);
        if (r < 0)
                return r;
        snprintf(p, sizeof p, "%s/state", l->dir);
        return write_file_atomic(p, buf, 0644);
}

int machine_info_load(const char *name, MachineInfo *ret) {
        char p[PATH_MAX];
        int r = machine_path(name, "state", p, sizeof p);
        if (r < 0)
                return r;
        _cleanup_free_ char *text = NULL;
        r = read_file_at(AT_FDCWD, p, 16384, &text);
        if (r == -ENOENT) {
                char dir[PATH_MAX];
                (void) machine_path(name, NULL, dir, sizeof dir);
                return access(dir, F_OK) >= 0 ? (machine_lock_held(name) ? -EAGAIN : -ESRCH) : -ENOENT;
        }
        if (r < 0)
                return r;
        MachineInfo m;
        if (machine_info_parse(text, &m) < 0 || strcmp(m.name, name) != 0)
                return -ESRCH;
        if (!machine_lock_held(name))
                return -ESRCH;
        uint64_t st;
        if (pid_starttime(m.leader, &st) < 0 || st != m.leader_starttime)
                return -ESRCH;
        *ret = m;
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int machine_list_names(char ***ret) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/machines", runtime_dir());
        size_t n = 0, cap = 8;
        char **l = calloc(cap + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        DIR *d = opendir(p);
        if (!d) {
                *ret = l;
                return errno == ENOENT ? 0 : -errno;
        }
        for (struct dirent *de; (de = readdir(d));) {
                if (!machine_name_is_valid(de->d_name))
                        continue;
                if (n == cap) {
                        char **nl = realloc(l, sizeof(char *) * (cap * 2 + 1));
                        if (!nl)
                                break;
                        l = nl;
                        cap *= 2;
                }
                if (!(l[n] = strdup(de->d_name)))
                        break;
                l[++n] = NULL;
        }
        closedir(d);
        qsort(l, n, sizeof(char *), cmp_str);
        *ret = l;
        return (int) n;
}
