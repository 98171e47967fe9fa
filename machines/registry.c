/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nspawnlite/basic/name.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/macro.h"

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
        *ret = (MachineLock){ .dir = TAKE_PTR(dir), .lock_fd = TAKE_FD(fd) };
        return 0;
}

void machine_lock_release(MachineLock *l) {
        if (!l->dir)
                return;
        static const char *const files[] = { "state", "control", "console.log", "console.log.old",
                                             "inaccessible" };
        char p[PATH_MAX];
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(p, sizeof p, "%s/%s", l->dir, files[i]);
                (void) unlink(p);
        }
        /* What a supervisor killed while it replaced its state file left (we hold the lock). */
        remove_stale_tmp_files(l->dir);
        /* -U's and --image='s mount points, empty */
        static const char *const dirs[] = { "root", "stage", "image" };
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

int machine_lock_check(const char *name) {
        char p[PATH_MAX];
        int r = machine_path(name, "lock", p, sizeof p);
        if (r < 0)
                return r;
        /* O_NONBLOCK: a FIFO named lock would block the open for ever. */
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        if (flock(fd, LOCK_SH | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? 1 : -errno;
        (void) flock(fd, LOCK_UN);
        return 0;
}

bool machine_lock_held(const char *name) {
        return machine_lock_check(name) > 0;
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

/* One row per key of the state file, in the order it is written: format, parse and the fuzzer all
 * go through it. Limits follow as "limit.NAME", from the limits' own table. */
#define KEY(k, t, f, omit) \
        { #k, t, offsetof(MachineInfo, f), sizeof(((MachineInfo *) 0)->f), omit }
const MachineStateKey machine_state_keys[] = {
        KEY(name, STATE_KEY_STRING, name, false),
        KEY(state, STATE_KEY_STRING, state, false),
        KEY(init, STATE_KEY_STRING, init, false),
        KEY(leader, STATE_KEY_PID, leader, false),
        KEY(leader_starttime, STATE_KEY_U64, leader_starttime, false),
        KEY(supervisor, STATE_KEY_PID, supervisor, false),
        KEY(since, STATE_KEY_U64, since_usec, false),
        KEY(rootfs, STATE_KEY_STRING, rootfs, false),
        KEY(uuid, STATE_KEY_STRING, uuid, false),
        KEY(cgroup, STATE_KEY_STRING, cgroup, false),
        KEY(detached, STATE_KEY_BOOL, detached, false),
        KEY(caps, STATE_KEY_U64, caps, false),
        KEY(no_new_privileges, STATE_KEY_BOOL, no_new_privileges, false),
        KEY(uid_shift, STATE_KEY_U32, uid_shift, false),
        KEY(address, STATE_KEY_STRING, address, true),
        KEY(interface, STATE_KEY_STRING, interface, true),
        KEY(unit, STATE_KEY_STRING, unit, true),
        KEY(unit_kept, STATE_KEY_BOOL, unit_kept, true),
};
#undef KEY
const size_t machine_state_keys_n = ELEMENTSOF(machine_state_keys);

static bool byte_needs_escape(unsigned char c) {
        return c < 0x20 || c == 0x7f || c == '\\';
}

int state_value_escape(const char *s, char *buf, size_t n) {
        size_t len = 0;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                char e[5];
                size_t k;
                if (*p == '\\')
                        k = (size_t) snprintf(e, sizeof e, "\\\\");
                else if (*p == '\n')
                        k = (size_t) snprintf(e, sizeof e, "\\n");
                else if (byte_needs_escape(*p))
                        k = (size_t) snprintf(e, sizeof e, "\\x%02x", *p);
                else
                        e[0] = (char) *p, k = 1;
                if (len + k >= n)
                        return -ENOBUFS;
                memcpy(buf + len, e, k);
                len += k;
        }
        if (len >= n)
                return -ENOBUFS;
        buf[len] = 0;
        return (int) len;
}

static int hex_digit(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int state_value_unescape(const char *s, size_t len, char *buf, size_t n) {
        size_t out = 0;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c == '\\') {
                        if (i + 1 >= len)
                                return -EINVAL;
                        char t = s[++i];
                        if (t == '\\')
                                c = '\\';
                        else if (t == 'n')
                                c = '\n';
                        else if (t == 'x' && i + 2 < len && hex_digit(s[i + 1]) >= 0 &&
                                 hex_digit(s[i + 2]) >= 0) {
                                c = (unsigned char) (hex_digit(s[i + 1]) << 4 | hex_digit(s[i + 2]));
                                i += 2;
                                /* Only the canonical form: what format writes, and never a NUL. */
                                if (c == 0 || c == '\\' || c == '\n' || !byte_needs_escape(c))
                                        return -EINVAL;
                        } else
                                return -EINVAL;
                } else if (byte_needs_escape(c))
                        return -EINVAL; /* a raw control byte: never written by format */
                if (out + 1 >= n)
                        return -EINVAL;
                buf[out++] = (char) c;
        }
        if (out >= n)
                return -EINVAL;
        buf[out] = 0;
        return 0;
}

int machine_info_format(const MachineInfo *m, char *buf, size_t n) {
        size_t len = 0;
#define EMIT(...)                                                   \
        do {                                                        \
                int _k = snprintf(buf + len, n - len, __VA_ARGS__); \
                if (_k < 0 || (size_t) _k >= n - len)               \
                        return -ENOBUFS;                            \
                len += (size_t) _k;                                 \
        } while (0)
        for (size_t i = 0; i < machine_state_keys_n; i++) {
                const MachineStateKey *k = &machine_state_keys[i];
                const void *f = (const uint8_t *) m + k->offset;
                switch (k->type) {
                case STATE_KEY_STRING: {
                        const char *s = f;
                        if (k->omit_empty && !s[0])
                                break;
                        EMIT("%s=", k->key);
                        int r = state_value_escape(s, buf + len, n - len);
                        if (r < 0)
                                return r;
                        len += (size_t) r;
                        EMIT("\n");
                        break;
                }
                case STATE_KEY_PID:
                        EMIT("%s=%d\n", k->key, (int) *(const pid_t *) f);
                        break;
                case STATE_KEY_U64:
                        EMIT("%s=%" PRIu64 "\n", k->key, *(const uint64_t *) f);
                        break;
                case STATE_KEY_U32:
                        EMIT("%s=%" PRIu32 "\n", k->key, *(const uint32_t *) f);
                        break;
                case STATE_KEY_BOOL:
                        if (k->omit_empty && !*(const bool *) f)
                                break;
                        EMIT("%s=%d\n", k->key, *(const bool *) f ? 1 : 0);
                        break;
                }
        }
        for (int k = 0; k < _LIMIT_MAX; k++)
                if (m->limits.set[k])
                        EMIT("limit.%s=%" PRIu64 "\n", limit_info((LimitKey) k)->name, m->limits.value[k]);
#undef EMIT
        return (int) len;
}

/* Plain decimal digits only: no sign, no spaces, no leading "+" or "0x". */
static int parse_u64(const char *s, size_t len, uint64_t *ret) {
        char d[24];
        if (len == 0 || len >= sizeof d)
                return -EINVAL;
        for (size_t i = 0; i < len; i++)
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
        memcpy(d, s, len);
        d[len] = 0;
        errno = 0;
        unsigned long long v = strtoull(d, NULL, 10);
        if (errno)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_value(const MachineStateKey *k, const char *v, size_t len, MachineInfo *m) {
        void *f = (uint8_t *) m + k->offset;
        uint64_t u;
        if (k->type == STATE_KEY_STRING)
                return state_value_unescape(v, len, f, k->size);
        int r = parse_u64(v, len, &u);
        if (r < 0)
                return r;
        switch (k->type) {
        case STATE_KEY_PID:
                if (u > INT32_MAX)
                        return -EINVAL;
                *(pid_t *) f = (pid_t) u;
                return 0;
        case STATE_KEY_U64:
                *(uint64_t *) f = u;
                return 0;
        case STATE_KEY_U32:
                if (u > UINT32_MAX)
                        return -EINVAL;
                *(uint32_t *) f = (uint32_t) u;
                return 0;
        case STATE_KEY_BOOL:
                if (u > 1)
                        return -EINVAL;
                *(bool *) f = u == 1;
                return 0;
        default:
                return -EINVAL;
        }
}

/* One "KEY=VALUE" line; seen tracks the keys of the table already there. */
static int parse_line(const char *line, size_t len, MachineInfo *m, uint64_t *seen) {
        const char *eq = memchr(line, '=', len);
        if (!eq || eq == line)
                return -EINVAL;
        size_t klen = (size_t) (eq - line), vlen = len - klen - 1;
        const char *v = eq + 1;
        for (size_t i = 0; i < machine_state_keys_n; i++) {
                const MachineStateKey *k = &machine_state_keys[i];
                if (strlen(k->key) != klen || memcmp(k->key, line, klen) != 0)
                        continue;
                if (*seen & (UINT64_C(1) << i))
                        return -EINVAL; /* a second value would win over the first */
                *seen |= UINT64_C(1) << i;
                return parse_value(k, v, vlen, m);
        }
        char lname[32];
        LimitKey lk;
        if (klen <= 6 || klen - 6 >= sizeof lname || memcmp(line, "limit.", 6) != 0)
                return -EINVAL;
        memcpy(lname, line + 6, klen - 6);
        lname[klen - 6] = 0;
        uint64_t u;
        if (limit_from_name(lname, &lk) < 0 || m->limits.set[lk] || parse_u64(v, vlen, &u) < 0)
                return -EINVAL;
        m->limits.set[lk] = true;
        m->limits.value[lk] = u;
        return 0;
}

int machine_info_parse(const char *text, MachineInfo *ret) {
        _Static_assert(ELEMENTSOF(machine_state_keys) <= 64, "seen is a 64-bit mask");
        MachineInfo m = {};
        uint64_t seen = 0;
        for (const char *p = text; *p;) {
                const char *eol = strchr(p, '\n');
                size_t len = eol ? (size_t) (eol - p) : strlen(p);
                /* Every line is "KEY=VALUE": an empty one, an unknown or repeated key, or a value
                 * that is not in format's form means the file is not ours to trust. */
                if (parse_line(p, len, &m, &seen) < 0)
                        return -EINVAL;
                p += len + (eol ? 1 : 0);
        }
        if (!machine_name_is_valid(m.name) || m.leader <= 0)
                return -EINVAL;
        *ret = m;
        return 0;
}

int machine_state_write(const MachineLock *l, const MachineInfo *m) {
        char p[PATH_MAX];
        _cleanup_free_ char *buf = malloc(MACHINE_STATE_MAX);
        if (!buf)
                return -ENOMEM;
        int r = machine_info_format(m, buf, MACHINE_STATE_MAX);
        if (r < 0)
                return r;
        snprintf(p, sizeof p, "%s/state", l->dir);
        return write_file_atomic(p, buf, 0644);
}

int machine_info_read(const char *name, MachineInfo *ret) {
        char p[PATH_MAX];
        int r = machine_path(name, "state", p, sizeof p);
        if (r < 0)
                return r;
        _cleanup_free_ char *text = NULL;
        r = read_file_at(AT_FDCWD, p, MACHINE_STATE_MAX, &text);
        if (r < 0)
                return r;
        MachineInfo m;
        if ((size_t) r >= MACHINE_STATE_MAX || strlen(text) != (size_t) r ||
            machine_info_parse(text, &m) < 0 || strcmp(m.name, name) != 0)
                return -EBADMSG;
        *ret = m;
        return 0;
}

int machine_info_load(const char *name, MachineInfo *ret) {
        char p[PATH_MAX];
        int r = machine_path(name, "state", p, sizeof p);
        if (r < 0)
                return r;
        /* Whether the machine is alive takes its lock file, which only root may open: without
         * that, say so rather than call a running machine dead. */
        int held = machine_lock_check(name);
        if (held == -EACCES || held == -EPERM)
                return -EACCES;
        _cleanup_free_ char *text = NULL;
        r = read_file_at(AT_FDCWD, p, MACHINE_STATE_MAX, &text);
        if (r == -ENOENT) {
                char dir[PATH_MAX];
                (void) machine_path(name, NULL, dir, sizeof dir);
                return access(dir, F_OK) >= 0 ? (held > 0 ? -EAGAIN : -ESRCH) : -ENOENT;
        }
        if (r == -EACCES || r == -EPERM)
                return -EACCES;
        if (r < 0)
                return r;
        if (held <= 0)
                return -ESRCH;
        /* A NUL inside, or more than format ever writes, is not a state file of ours either. */
        MachineInfo m;
        if ((size_t) r >= MACHINE_STATE_MAX || strlen(text) != (size_t) r ||
            machine_info_parse(text, &m) < 0 || strcmp(m.name, name) != 0)
                return -EBADMSG;
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
