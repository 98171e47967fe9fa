/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The watcher of a frozen machine (see machine_cgroup_watch_start() in cgroup.h). It exists only
 * while the machine is frozen, so a running machine costs no extra process. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "machines/cgroup.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/macro.h"

static _Noreturn void watcher_main(int in, int freezer, int scope) {
        int keep[] = { in, freezer, scope };
        (void) close_all_fds_except(keep, ELEMENTSOF(keep));
        (void) stdio_to_null(2);
        (void) prctl(PR_SET_NAME, "nspawnlite-wdog");
        /* Every signal stays blocked (fork() below), and a session of our own: what hits the
         * supervisor's process group (SIGQUIT from its terminal, kill -QUIT -PGID) must not end
         * us with it, the one time we are needed. */
        (void) setsid();

        char c;
        ssize_t k;
        do
                k = read(in, &c, 1);
        while (k < 0 && errno == EINTR);
        if (k == 1)
                _exit(0); /* thawed: the supervisor sent us away */

        /* EOF: the supervisor is gone. SIGKILL is left pending on the frozen tasks (nothing can
         * fork meanwhile), then the thaw lets it act; a few more rounds catch stragglers. */
        (void) cgroup_kill_procs_at(scope, 1);
        (void) write_file_at(freezer, "freezer.state", "THAWED");
        (void) cgroup_kill_procs_at(scope, 500);
        _exit(0);
}

static const char *freezer_root(const MachineCgroup *cg) {
        for (size_t i = 0; i < cg->n_v1; i++) {
                const char *base = strrchr(cg->v1_roots[i], '/');
                if (base && strcmp(base + 1, "freezer") == 0)
                        return cg->v1_roots[i];
        }
        return NULL;
}

int machine_cgroup_watch_start(MachineCgroup *cg, int *ret_fd) {
        const char *root = freezer_root(cg);
        if (!cg->backend || !cg->backend->frozen_survives_sigkill || !root) {
                *ret_fd = -EBADF;
                return 0;
        }
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", root, cg->scope);
        _cleanup_close_ int freezer = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (freezer < 0)
                return -errno;
        snprintf(p, sizeof p, "%s/%s", cg->unified_root, cg->scope);
        _cleanup_close_ int scope = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (scope < 0)
                return -errno;
        _cleanup_close_pair_ int pipefd[2] = { -EBADF, -EBADF };
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        sigset_t all, old;
        sigfillset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, &old);
        pid_t pid = fork();
        if (pid == 0)
                watcher_main(pipefd[0], freezer, scope);
        int r = pid < 0 ? -errno : 0;
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(pipefd[1]);
        return 0;
}

void machine_cgroup_watch_stop(int *fd) {
        if (*fd < 0)
                return;
        (void) loop_write(*fd, "t", 1);
        *fd = safe_close(*fd);
}
