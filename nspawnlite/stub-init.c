/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tiny PID 1 of "nspawnlite run": a reaper that passes on the command's exit status. It runs our
 * own code in the guest's namespaces, already confined (capabilities, seccomp) like any guest init. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nspawnlite/child.h"
#include "nspawnlite/sync.h"

static volatile sig_atomic_t forward_signal;

static void on_signal(int sig) {
        forward_signal = sig;
}

/* In the command's process: the user's ids (primary group only), from root's. */
static int become_user(const GuestUser *user) {
        if (!user)
                return 0;
        if (setgroups(0, NULL) < 0 || setresgid(user->gid, user->gid, user->gid) < 0 ||
            setresuid(user->uid, user->uid, user->uid) < 0)
                return -errno;
        return 0;
}

_noreturn_ void stub_init_main(char *const *argv, char **envp, const GuestUser *user, int sync_fd,
                               bool console_tty) {
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                (void) sync_send_error(sync_fd, CHILD_STAGE_EXEC, errno, "Failed to create a pipe: %m");
                _exit(EXIT_FAILURE);
        }

        pid_t pid = fork();
        if (pid < 0) {
                (void) sync_send_error(sync_fd, CHILD_STAGE_EXEC, errno, "Failed to fork: %m");
                _exit(EXIT_FAILURE);
        }
        if (pid == 0) {
                close(pipefd[0]);
                /* On the console the command gets its own session, so Ctrl-C reaches it. */
                if (console_tty && setsid() >= 0)
                        (void) ioctl(STDIN_FILENO, TIOCSCTTY, 0);
                /* A failure to change ids travels as -errno, one of execvp() as errno. */
                int e = become_user(user);
                if (e == 0) {
                        environ = envp;
                        execvp(argv[0], argv);
                        e = errno;
                }
                (void) !write(pipefd[1], &e, sizeof e);
                _exit(e == ENOENT ? 127 : 126);
        }
        close(pipefd[1]);

        int exec_errno = 0;
        ssize_t k;
        do
                k = read(pipefd[0], &exec_errno, sizeof exec_errno);
        while (k < 0 && errno == EINTR);
        close(pipefd[0]);
        if (k == sizeof exec_errno) {
                if (exec_errno < 0)
                        (void) sync_send_error(sync_fd, CHILD_STAGE_EXEC, exec_errno,
                                               "Failed to become user %s (uid %u): %m", user->name,
                                               (unsigned) user->uid);
                else
                        (void) sync_send_error(sync_fd, CHILD_STAGE_EXEC, exec_errno,
                                               "Failed to execute %s: %m", argv[0]);
                close(sync_fd);
                (void) waitpid(pid, NULL, 0);
                _exit(exec_errno == ENOENT ? 127 : 126);
        }
        (void) sync_send_step(sync_fd, SYNC_STEP_COMMAND_STARTED, NULL, 0);
        close(sync_fd);

        /* As PID 1 we only get the signals we handle: pass shutdown requests on to the command. */
        struct sigaction sa = { .sa_handler = on_signal };
        sigemptyset(&sa.sa_mask);
        const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPWR };
        for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
                (void) sigaction(forwarded[i], &sa, NULL);
        for (int s = SIGRTMIN; s <= SIGRTMIN + 6; s++)
                (void) sigaction(s, &sa, NULL);

        for (;;) {
                int status;
                pid_t p = wait(&status);
                if (p < 0) {
                        if (errno == EINTR) {
                                int s = forward_signal;
                                forward_signal = 0;
                                /* The poweroff/halt signals of systemd-like inits mean "terminate". */
                                if (s >= SIGRTMIN)
                                        s = SIGTERM;
                                if (s > 0)
                                        (void) kill(pid, s);
                                continue;
                        }
                        _exit(EXIT_FAILURE);
                }
                if (p != pid)
                        continue; /* an orphan reparented to us */
                if (WIFEXITED(status))
                        _exit(WEXITSTATUS(status));
                if (WIFSIGNALED(status))
                        _exit(128 + WTERMSIG(status));
        }
}
