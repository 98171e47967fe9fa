/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/init-detect.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/path-util.h"

/* SIGRTMIN is a function in glibc, hence the 0 + fix-up in init_info(). */
static InitInfo init_table[_INIT_KIND_MAX] = {
        [INIT_SYSTEMD] = { "systemd", 4, SIGINT, false },
        [INIT_SYSVINIT] = { "sysvinit", 4, SIGINT, true },
        [INIT_BUSYBOX] = { "busybox", SIGUSR2, SIGTERM, false },
        [INIT_OPENRC] = { "openrc-init", SIGPWR, SIGINT, false },
        [INIT_STUB] = { "stub", 4, SIGINT, false },
        [INIT_UNKNOWN] = { "unknown", 3, SIGINT, false },
};
/* Which entries hold an offset from SIGRTMIN rather than a signal number. */
static const bool rt_relative[_INIT_KIND_MAX] = {
        [INIT_SYSTEMD] = true,
        [INIT_SYSVINIT] = true,
        [INIT_STUB] = true,
        [INIT_UNKNOWN] = true,
};

const InitInfo *init_info(InitKind kind) {
        static bool fixed;
        if (!fixed) {
                for (int i = 0; i < _INIT_KIND_MAX; i++)
                        if (rt_relative[i])
                                init_table[i].poweroff_signal += SIGRTMIN;
                fixed = true;
        }
        return (unsigned) kind < _INIT_KIND_MAX ? &init_table[kind] : &init_table[INIT_UNKNOWN];
}

const char *init_kind_to_string(InitKind kind) {
        return init_info(kind)->name;
}

/* The order systemd-nspawn uses. */
static const char *const init_candidates[] = {
        "/usr/lib/systemd/systemd",
        "/lib/systemd/systemd",
        "/sbin/init",
};

static bool is_executable_file(int rootfd, const char *path, char *ret_target, size_t n) {
        int fd;
        if (chase_in_root(rootfd, path, O_PATH, &fd) < 0)
                return false;
        struct stat st;
        bool ok = fstat(fd, &st) >= 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
        if (ok && ret_target) {
                FdPath p = fd_path(fd);
                ssize_t k = readlink(p.path, ret_target, n - 1);
                ret_target[k > 0 ? k : 0] = 0;
        }
        close(fd);
        return ok;
}

static bool exists_in_root(int rootfd, const char *path) {
        int fd;
        if (chase_in_root(rootfd, path, O_PATH, &fd) < 0)
                return false;
        close(fd);
        return true;
}

int init_detect(int rootfd, const char **ret_path, InitKind *ret_kind) {
        for (size_t i = 0; i < ELEMENTSOF(init_candidates); i++) {
                char target[4096];
                if (!is_executable_file(rootfd, init_candidates[i], target, sizeof target))
                        continue;
                const char *base = strrchr(target, '/');
                base = base ? base + 1 : target;
                InitKind kind;
                if (strcmp(base, "systemd") == 0)
                        kind = INIT_SYSTEMD;
                else if (strcmp(base, "busybox") == 0)
                        kind = INIT_BUSYBOX;
                else if (strcmp(base, "openrc-init") == 0)
                        kind = INIT_OPENRC;
                else if (exists_in_root(rootfd, "/etc/inittab"))
                        kind = INIT_SYSVINIT;
                else
                        kind = INIT_UNKNOWN;
                *ret_path = init_candidates[i];
                *ret_kind = kind;
                return 0;
        }
        return -ENOENT;
}

bool tree_has_os_release(int rootfd) {
        return exists_in_root(rootfd, "/etc/os-release") || exists_in_root(rootfd, "/usr/lib/os-release");
}

/* sysvinit's initreq.h, as telinit sends it. */
#define INIT_MAGIC      0x03091969
#define INIT_CMD_RUNLVL 1
struct init_request {
        int magic;
        int cmd;
        int runlevel;
        int sleeptime;
        char data[368];
};
_Static_assert(sizeof(struct init_request) == 384, "init_request is 384 bytes");

int initctl_request_runlevel(pid_t pid, char runlevel) {
        char root[64];
        snprintf(root, sizeof root, "/proc/%d/root", (int) pid);
        _cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return -errno;
        /* Resolved inside the guest; non-blocking so that a FIFO nobody reads fails at once. */
        _cleanup_close_ int fd = -EBADF;
        int r = chase_in_root(rootfd, "/run/initctl", O_WRONLY | O_NONBLOCK | O_NOCTTY, &fd);
        if (r < 0)
                return r;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISFIFO(st.st_mode))
                return -ENOTSUP;
        struct init_request req = {
                .magic = INIT_MAGIC,
                .cmd = INIT_CMD_RUNLVL,
                .runlevel = runlevel,
                .sleeptime = 3,
        };
        return loop_write(fd, &req, sizeof req);
}
