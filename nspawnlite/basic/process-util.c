/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/basic/process-util.h"

#include <errno.h>
#include <sys/wait.h>

int wait_exit_status(pid_t pid) {
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int pidfd_wait_exited(int pidfd, siginfo_t *ret) {
        siginfo_t si = {};
        while (waitid((idtype_t) P_PIDFD, (id_t) pidfd, &si, WEXITED) < 0)
                if (errno != EINTR)
                        return -errno;
        *ret = si;
        return 0;
}
