/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host's limits that many machines run into (host-limits.h). The judging is pure (unit
 * tested); reading is a few small files of /proc/sys, and the registry or /proc only where those
 * figures come near a limit, so that a start costs next to nothing more. */
#include "nspawnlite/host-limits.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "machines/registry.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/strv.h"

/* What to suggest: at least the value container hosts commonly set, and twice what is needed. */
static uint64_t suggest(uint64_t needed, uint64_t common) {
        uint64_t v = common;
        while (v < 2 * needed)
                v *= 2;
        return v;
}

static HostLimitLevel judge_inotify(const HostLimits *h, char *buf, size_t n) {
        if (!h->needs_inotify || h->inotify_max == 0)
                return HOST_LIMIT_OK;
        uint64_t needed = (uint64_t) (h->inotify_sharers + 1) * HOST_LIMIT_INOTIFY_PER_SYSTEMD;
        if (needed <= h->inotify_max)
                return HOST_LIMIT_OK;
        /* Inotify instances are counted per owner of the guest's user namespace, root here: the
         * guest still boots, but units that find none left fail ("Too many open files"). */
        snprintf(buf, n,
                 "%u systemd guests without -U run already and each holds about %u of root's %" PRIu64
                 " inotify instances: this one may come up degraded; set sysctl "
                 "fs.inotify.max_user_instances=%" PRIu64 ", or boot with -U.",
                 h->inotify_sharers, HOST_LIMIT_INOTIFY_PER_SYSTEMD, h->inotify_max, suggest(needed, 1024));
        return HOST_LIMIT_WARN;
}

static HostLimitLevel judge_pty(const HostLimits *h, char *buf, size_t n) {
        if (h->pty_max == 0 || h->ptys == 0)
                return HOST_LIMIT_OK;
        /* Ptys of every devpts instance but the host's own count against max - reserve. */
        uint64_t usable = h->pty_max > h->pty_reserve ? h->pty_max - h->pty_reserve : 0;
        uint64_t left = usable > h->pty_nr ? usable - h->pty_nr : 0;
        if (left >= 2 * (uint64_t) h->ptys) /* room for this machine, and as much for logins */
                return HOST_LIMIT_OK;
        /* Twice the current maximum, or more until this machine and as much again fit. */
        uint64_t want = 2 * h->pty_max;
        while (want < h->pty_nr + h->pty_reserve + 2 * (uint64_t) h->ptys)
                want *= 2;
        if (left < h->ptys) {
                snprintf(buf, n,
                         "Only %" PRIu64 " ptys are left for containers (kernel.pty.max=%" PRIu64
                         " less kernel.pty.reserve=%" PRIu64 ", %" PRIu64
                         " in use) and the machine needs %u (console and ttys): set sysctl "
                         "kernel.pty.max=%" PRIu64 ", or use fewer --ttys=.",
                         left, h->pty_max, h->pty_reserve, h->pty_nr, h->ptys, want);
                return HOST_LIMIT_FAIL;
        }
        snprintf(buf, n,
                 "Only %" PRIu64 " ptys are left for containers (kernel.pty.max=%" PRIu64
                 "): logins and shells into this machine may find none; set sysctl kernel.pty.max=%" PRIu64
                 ".",
                 left, h->pty_max, want);
        return HOST_LIMIT_WARN;
}

static HostLimitLevel judge_pids(const HostLimits *h, char *buf, size_t n) {
        bool by_pid_max = h->pid_max != 0 && (h->threads_max == 0 || h->pid_max <= h->threads_max);
        uint64_t limit = by_pid_max ? h->pid_max : h->threads_max;
        if (limit == 0)
                return HOST_LIMIT_OK;
        /* Keep a tenth free: forks on the host fail for everyone when none is left. The machine
         * may still start, so this only warns. */
        if (h->tasks + h->tasks_needed <= limit - limit / 10)
                return HOST_LIMIT_OK;
        if (by_pid_max)
                snprintf(buf, n,
                         "%" PRIu64 " of kernel.pid_max=%" PRIu64
                         " pids are taken and the machine needs about %u more: forks may fail, in it and on "
                         "the host; set sysctl kernel.pid_max=4194304.",
                         h->tasks, h->pid_max, h->tasks_needed);
        else
                snprintf(buf, n,
                         "%" PRIu64 " of kernel.threads-max=%" PRIu64
                         " tasks run and the machine needs about %u more: forks may fail, in it and on the "
                         "host; set sysctl kernel.threads-max=%" PRIu64 ".",
                         h->tasks, h->threads_max, h->tasks_needed,
                         suggest(h->tasks + h->tasks_needed, h->threads_max));
        return HOST_LIMIT_WARN;
}

static const struct {
        const char *sysctl;
        HostLimitLevel (*judge)(const HostLimits *h, char *buf, size_t n);
} host_limit_table[_HOST_LIMIT_MAX] = {
        [HOST_LIMIT_INOTIFY] = { "fs.inotify.max_user_instances", judge_inotify },
        [HOST_LIMIT_PTY] = { "kernel.pty.max", judge_pty },
        [HOST_LIMIT_PIDS] = { "kernel.pid_max", judge_pids },
};

const char *host_limit_sysctl(HostLimitKind k) {
        return k >= 0 && k < _HOST_LIMIT_MAX ? host_limit_table[k].sysctl : NULL;
}

HostLimitLevel host_limit_judge(HostLimitKind k, const HostLimits *h, char *buf, size_t n) {
        if (n > 0)
                buf[0] = 0;
        if (k < 0 || k >= _HOST_LIMIT_MAX)
                return HOST_LIMIT_OK;
        return host_limit_table[k].judge(h, buf, n);
}

unsigned host_limit_tasks_for_init(InitKind kind) {
        switch (kind) {
        case INIT_SYSTEMD:
                return 48; /* PID 1, journald, logind, dbus, gettys, and what they fork */
        case INIT_STUB:
                return 4;
        default:
                return 16;
        }
}

/* A number from /proc/sys, 0 when it cannot be read (the check then passes). */
static uint64_t read_sysctl(const char *path) {
        _cleanup_free_ char *s = NULL;
        if (read_file_at(-EBADF, path, 64, &s) < 0)
                return 0;
        return strtoull(s, NULL, 10);
}

/* Tasks on the host: /proc/loadavg's "running/total". */
static uint64_t read_tasks(void) {
        _cleanup_free_ char *s = NULL;
        if (read_file_at(-EBADF, "/proc/loadavg", 128, &s) < 0)
                return 0;
        const char *slash = strchr(s, '/');
        return slash ? strtoull(slash + 1, NULL, 10) : 0;
}

/* In a pid namespace of its own, whose kernel.pid_max may be lower than the host's, the host's
 * total overstates what counts: there, and only where that total comes near the limit, count the
 * namespace's processes. The initial namespace has a fixed inode number (PROC_PID_INIT_INO). */
static uint64_t count_own_processes(uint64_t host_tasks) {
        struct stat st;
        if (stat("/proc/self/ns/pid", &st) < 0 || st.st_ino == 0xEFFFFFFCU)
                return host_tasks;
        DIR *d = opendir("/proc");
        if (!d)
                return host_tasks;
        uint64_t n = 0;
        for (struct dirent *de; (de = readdir(d));)
                if (isdigit((unsigned char) de->d_name[0]))
                        n++;
        closedir(d);
        return n;
}

/* Running systemd guests whose user namespace root owns: read only when there are enough
 * machine directories to matter. */
static unsigned count_root_systemd_guests(uint64_t inotify_max) {
        _cleanup_(strv_freep) char **names = NULL;
        if (machine_list_names(&names) < 0 || !names)
                return 0;
        size_t n = 0;
        while (names[n])
                n++;
        if ((n + 1) * HOST_LIMIT_INOTIFY_PER_SYSTEMD <= inotify_max)
                return 0; /* even if all were, there is room */
        unsigned sharers = 0;
        for (size_t i = 0; i < n; i++) {
                MachineInfo *m = calloc(1, sizeof *m); /* large: not on the stack */
                if (!m)
                        break;
                if (machine_info_load(names[i], m) >= 0 && m->uid_shift == 0 &&
                    strcmp(m->init, init_kind_to_string(INIT_SYSTEMD)) == 0)
                        sharers++;
                free(m);
        }
        return sharers;
}

int host_limits_check(InitKind init, bool userns, unsigned ptys) {
        HostLimits h = {
                .needs_inotify = init == INIT_SYSTEMD && !userns,
                .pty_max = read_sysctl("/proc/sys/kernel/pty/max"),
                .pty_nr = read_sysctl("/proc/sys/kernel/pty/nr"),
                .pty_reserve = read_sysctl("/proc/sys/kernel/pty/reserve"),
                .ptys = ptys,
                .pid_max = read_sysctl("/proc/sys/kernel/pid_max"),
                .threads_max = read_sysctl("/proc/sys/kernel/threads-max"),
                .tasks = read_tasks(),
                .tasks_needed = host_limit_tasks_for_init(init),
        };
        if (h.needs_inotify) {
                h.inotify_max = read_sysctl("/proc/sys/fs/inotify/max_user_instances");
                /* Nested in a user namespace, its own limit may be the lower one. */
                uint64_t own = read_sysctl("/proc/sys/user/max_inotify_instances");
                if (own != 0 && (h.inotify_max == 0 || own < h.inotify_max))
                        h.inotify_max = own;
                h.inotify_sharers = count_root_systemd_guests(h.inotify_max);
        }
        char line[512];
        if (host_limit_judge(HOST_LIMIT_PIDS, &h, line, sizeof line) != HOST_LIMIT_OK)
                h.tasks = count_own_processes(h.tasks);

        int r = 0;
        for (HostLimitKind k = 0; k < _HOST_LIMIT_MAX; k++)
                switch (host_limit_judge(k, &h, line, sizeof line)) {
                case HOST_LIMIT_OK:
                        break;
                case HOST_LIMIT_WARN:
                        log_warning("Warning: %s", line);
                        break;
                case HOST_LIMIT_FAIL:
                        r = log_error_errno(ENOSPC, "%s", line);
                        break;
                }
        return r;
}
