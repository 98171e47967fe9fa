/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/shell.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "machines/cgroup.h"
#include "machines/control.h"
#include "machines/passwd.h"
#include "nspawnlite/caps.h"
#include "nspawnlite/console.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/path-util.h"
#include "nspawnlite/basic/process-util.h"
#include "nspawnlite/seccomp.h"
#include "nspawnlite/sync.h"

static int pidfd_open_(pid_t pid) {
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);
        return fd < 0 ? -errno : fd;
}

/* The leader as the machine's supervisor knows it: its pid and start time, checked against the
 * state file, and a pidfd of it from the supervisor's own. A state file says only what was
 * written in it; the supervisor (root, the one listening on the machine's socket) is who started
 * the leader. -ESTALE when the two disagree. */
static int leader_confirm(const MachineInfo *m, int *ret_pidfd) {
        _cleanup_close_ int fd = -EBADF, pidfd = -EBADF;
        int r = control_connect(m->name, &fd);
        if (r < 0)
                return r;
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        if (cred.uid != 0 || cred.pid != m->supervisor)
                return -ESTALE;
        char reply[CONTROL_MESSAGE_MAX];
        r = control_call(fd, CONTROL_LEADER, NULL, reply, sizeof reply, &pidfd);
        if (r < 0)
                return r;
        int pid, end = 0;
        uint64_t st;
        if (sscanf(reply, "%d %" SCNu64 "%n", &pid, &st, &end) != 2 || reply[end])
                return -EBADMSG;
        if (pid != m->leader || st != m->leader_starttime)
                return -ESTALE;
        *ret_pidfd = TAKE_FD(pidfd);
        return 0;
}

/* Read a file of the guest through /proc/LEADER/root, resolved inside the guest's tree. */
static int read_guest_file(pid_t leader, const char *path, char **ret) {
        char root[64];
        snprintf(root, sizeof root, "/proc/%d/root", (int) leader);
        _cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return -errno;
        _cleanup_close_ int fd = -EBADF;
        /* O_PATH: the guest owns this file; opening a FIFO (or a device) it put there would
         * block us or act on it. Only a regular file is then read, through a fresh open. */
        int r = chase_in_root(rootfd, path, O_PATH, &fd);
        if (r < 0)
                return r;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        r = read_file_at(AT_FDCWD, fd_path(fd).path, 1 << 20, ret);
        return r < 0 ? r : 0;
}

/* The cgroup a shell joins: the leaf PID 1 lives in (a guest systemd moves itself to init.scope,
 * and on cgroup v2 a cgroup with controllers for its children may hold no process). */
static int init_cgroup(pid_t leader, char *ret, size_t n) {
        char p[64];
        _cleanup_free_ char *text = NULL;
        snprintf(p, sizeof p, "/proc/%d/cgroup", (int) leader);
        int r = read_file_at(AT_FDCWD, p, 65536, &text);
        if (r < 0)
                return r;
        char *line = strstr(text, "0::");
        if (!line || (line != text && line[-1] != '\n'))
                return -ENODATA;
        line += 3;
        line[strcspn(line, "\n")] = 0;
        /* Seen from our namespace the path starts at the host's root: keep what lies below payload. */
        const char *below = strstr(line, "/payload");
        below = below ? below + 8 : "";
        if (strstr(below, "/..") || strlen(below) >= n)
                return -EINVAL;
        snprintf(ret, n, "%s", below);
        return 0;
}

static int join_cgroup(const MachineInfo *m) {
        MachineCgroup cg;
        int r = machine_cgroup_init(&cg, m->name);
        if (r < 0)
                return r;
        char leaf[512], v[32], path[1024];
        snprintf(v, sizeof v, "%d", (int) getpid());
        if (init_cgroup(m->leader, leaf, sizeof leaf) < 0)
                leaf[0] = 0;
        snprintf(path, sizeof path, "%s%s", cg.payload, leaf);
        r = cgroup_write(cg.unified_root, path, "cgroup.procs", v);
        if (r < 0 && leaf[0])
                r = cgroup_write(cg.unified_root, cg.payload, "cgroup.procs", v);
        if (r >= 0 && (r = machine_cgroup_open_join(&cg)) >= 0)
                r = machine_cgroup_join_self(&cg);
        machine_cgroup_done(&cg);
        return r;
}

static int setenv_list(char ***envp, size_t *n, const char *assignment) {
        size_t keylen = strcspn(assignment, "=");
        for (size_t i = 0; i < *n; i++)
                if (strncmp((*envp)[i], assignment, keylen) == 0 && (*envp)[i][keylen] == '=') {
                        (*envp)[i] = (char *) assignment;
                        return 0;
                }
        char **nl = realloc(*envp, sizeof(char *) * (*n + 2));
        if (!nl)
                return -ENOMEM;
        nl[(*n)++] = (char *) assignment;
        nl[*n] = NULL;
        *envp = nl;
        return 0;
}

/* In the grandchild, inside every namespace: become the user and run the command. */
_noreturn_ static void exec_in_guest(const ShellRequest *rq, const GuestUser *u, bool use_pty) {
        /* stdio is all we hold (see child()); on a pty, it becomes our controlling terminal. */
        if (setsid() < 0 || (use_pty && ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0))
                _exit(EXIT_FAILURE);

        const char *dir = rq->chdir ?: u->home;
        if (chdir(dir) < 0) {
                if (rq->chdir) {
                        fprintf(stderr, "nspawnlite: Cannot change to %s in machine %s: %m\n", dir,
                                rq->machine->name);
                        _exit(EXIT_FAILURE);
                }
                (void) chdir("/");
        }

        /* The machine's bounds and filter, while we still may; then the user's identity. */
        int k = keyring_new_session();
        if ((k < 0 && !keyring_unavailable(k)) || capability_apply_bounding(rq->machine->caps) < 0 ||
            seccomp_load_machine_filter(rq->machine->no_new_privileges) < 0 || setgroups(0, NULL) < 0 ||
            setresgid(u->gid, u->gid, u->gid) < 0 || setresuid(u->uid, u->uid, u->uid) < 0) {
                fprintf(stderr, "nspawnlite: Failed to take the machine's credentials: %m\n");
                _exit(EXIT_FAILURE);
        }
        if (u->uid == 0 && capability_drop_permitted(rq->machine->caps) < 0)
                _exit(EXIT_FAILURE);

        char home[300], user[80], logname[80], shell[300], term[80];
        snprintf(home, sizeof home, "HOME=%s", u->home);
        snprintf(user, sizeof user, "USER=%s", u->name);
        snprintf(logname, sizeof logname, "LOGNAME=%s", u->name);
        snprintf(shell, sizeof shell, "SHELL=%s", u->shell);
        snprintf(term, sizeof term, "TERM=%s", use_pty && rq->term ? rq->term : "dumb");
        char **envp = NULL;
        size_t n = 0;
        const char *fixed[] = {
                u->uid == 0 ? "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
                            : "PATH=/usr/local/bin:/usr/bin:/bin",
                home,
                user,
                logname,
                shell,
                term,
                "container=nspawnlite",
        };
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                (void) setenv_list(&envp, &n, fixed[i]);
        for (char *const *e = rq->setenv; e && *e; e++)
                (void) setenv_list(&envp, &n, *e);
        environ = envp;

        if (rq->argv && rq->argv[0]) {
                execvp(rq->argv[0], rq->argv);
                int e = errno;
                fprintf(stderr, "nspawnlite: %s: %s in machine %s\n", rq->argv[0],
                        e == ENOENT ? "command not found" : strerror(e), rq->machine->name);
                _exit(e == ENOENT ? 127 : 126);
        }
        /* A login shell: argv[0] is "-" and the shell's name. */
        const char *base = strrchr(u->shell, '/');
        char arg0[300];
        snprintf(arg0, sizeof arg0, "-%s", base ? base + 1 : u->shell);
        execv(u->shell, (char *[]){ arg0, NULL });
        fprintf(stderr, "nspawnlite: Cannot run %s in machine %s: %m\n", u->shell, rq->machine->name);
        _exit(127);
}

/* The child: joins the machine, makes the pty there (sending its master to the parent), forks
 * into the PID namespace, and passes the grandchild's status on. */
_noreturn_ static void child(const ShellRequest *rq, const GuestUser *u, int pidfd, int sock, bool use_pty) {
        int r = join_cgroup(rq->machine);
        if (r < 0) {
                fprintf(stderr, "nspawnlite: Failed to join the cgroup of machine %s: %s\n",
                        rq->machine->name, strerror(-r));
                _exit(EXIT_FAILURE);
        }
        int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWCGROUP;
        if (rq->machine->uid_shift)
                flags |= CLONE_NEWUSER; /* -U: then our ids are those of the guest's namespace */
        if (setns(pidfd, flags) < 0) {
                fprintf(stderr, "nspawnlite: Failed to enter the namespaces of machine %s: %m\n",
                        rq->machine->name);
                _exit(EXIT_FAILURE);
        }
        close(pidfd);

        int tty = -EBADF;
        if (use_pty) {
                /* The machine's own devpts, so the guest can never reach the caller's terminal. */
                _cleanup_close_ int ptmx = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
                struct stat st;
                if (ptmx < 0 || fstat(ptmx, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 ||
                    unlockpt(ptmx) < 0 ||
                    (tty = ioctl(ptmx, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
                        fprintf(stderr, "nspawnlite: Failed to allocate a pty in machine %s: %m\n",
                                rq->machine->name);
                        _exit(EXIT_FAILURE);
                }
                if (sync_send_step(sock, SYNC_STEP_CONSOLE_READY, &ptmx, 1) < 0)
                        _exit(EXIT_FAILURE);
        }

        /* Before a process of ours appears in the machine's PID namespace, where the guest's root
         * could take its fds (pidfd_getfd) or read its memory: stdio only (the pty, or our pipes),
         * none of the caller's environment, and not dumpable until the exec. */
        if (tty >= 0) {
                for (int i = 0; i < 3; i++)
                        if (dup2(tty, i) < 0)
                                _exit(EXIT_FAILURE);
                tty = safe_close(tty);
        }
        if (close_range(3, ~0U, 0) < 0 || prctl(PR_SET_DUMPABLE, 0) < 0)
                _exit(EXIT_FAILURE);
        for (char **e = environ; e && *e; e++)
                explicit_bzero(*e, strlen(*e));

        pid_t pid = fork();
        if (pid < 0)
                _exit(EXIT_FAILURE);
        if (pid == 0)
                exec_in_guest(rq, u, use_pty);
        r = wait_exit_status(pid);
        _exit(r < 0 ? EXIT_FAILURE : r);
}

/* Copy the caller's stdio to and from the command's pipes (never handing over the caller's own).
 * The command's stdin is written without blocking: while it is full, its stdout and stderr are
 * still drained, or a command that writes before it reads would wait on us as we wait on it. */
static void relay_pipes(int in_w, int out_r, int err_r) {
        int fds[3] = { in_w, out_r, err_r };
        char buf[65536], pending[65536];
        size_t pending_len = 0, pending_off = 0;
        bool in_open = true;
        (void) fd_nonblock(in_w, 1);
        while (fds[1] >= 0 || fds[2] >= 0) {
                struct pollfd p[4] = {
                        { .fd = in_open && fds[0] >= 0 && pending_len == 0 ? STDIN_FILENO : -1,
                          .events = POLLIN },
                        { .fd = fds[1], .events = POLLIN },
                        { .fd = fds[2], .events = POLLIN },
                        /* POLLOUT while input waits; POLLERR once the reader is gone */
                        { .fd = fds[0], .events = pending_len > 0 ? POLLOUT : 0 },
                };
                if (poll(p, 4, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[0].revents) {
                        ssize_t k = read(STDIN_FILENO, pending, sizeof pending);
                        if (k > 0) {
                                pending_len = (size_t) k;
                                pending_off = 0;
                        } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
                                in_open = false;
                                fds[0] = safe_close(fds[0]); /* EOF for the command */
                        }
                }
                if (fds[0] >= 0 && pending_len > 0) {
                        ssize_t k = write(fds[0], pending + pending_off, pending_len);
                        if (k > 0) {
                                pending_off += (size_t) k;
                                pending_len -= (size_t) k;
                        } else if (k < 0 && errno != EINTR && errno != EAGAIN) {
                                in_open = false;
                                pending_len = 0;
                                fds[0] = safe_close(fds[0]);
                        }
                }
                if (fds[0] >= 0 && (p[3].revents & (POLLERR | POLLHUP))) {
                        in_open = false;
                        pending_len = 0;
                        fds[0] = safe_close(fds[0]);
                }
                for (int i = 1; i <= 2; i++) {
                        if (!p[i].revents)
                                continue;
                        ssize_t k = read(fds[i], buf, sizeof buf);
                        if (k <= 0)
                                fds[i] = safe_close(fds[i]);
                        else
                                (void) loop_write(i == 1 ? STDOUT_FILENO : STDERR_FILENO, buf, (size_t) k);
                }
        }
        safe_close(fds[0]);
}

/* Relay the caller's terminal and the pty master until the command ends. */
static void relay_pty(int master, int pidfd) {
        ConsoleRelay relay;
        if (console_relay_init(&relay, CONSOLE_INTERACTIVE, STDIN_FILENO, STDOUT_FILENO) < 0)
                return;
        console_relay_set_master(&relay, master);

        /* Ctrl-] belongs to the shell; the relay ends with the command. */
        (void) console_relay_run(&relay, pidfd, false, false);
        console_relay_set_master(&relay, -EBADF);
        console_relay_done(&relay);
}

int shell_run(const ShellRequest *rq) {
        const MachineInfo *m = rq->machine;
        /* Read now, on the host: the child must open nothing once it is in the machine. */
        (void) capability_last();
        _cleanup_close_ int pidfd = -EBADF;
        int r = leader_confirm(m, &pidfd);
        if (r == -ESTALE)
                return log_error("Machine %s: its supervisor does not confirm leader %d of its state file; "
                                 "refusing to join it.",
                                 m->name, (int) m->leader),
                       1;
        if (r < 0)
                return log_error_errno(r, "Failed to ask the supervisor of %s for its leader: %m", m->name),
                       1;
        GuestUser u;
        _cleanup_free_ char *passwd = NULL;
        r = read_guest_file(m->leader, "/etc/passwd", &passwd);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Failed to read /etc/passwd of machine %s: %m", m->name), 1;
        r = passwd_find(passwd ?: "", rq->user ?: "root", &u);
        if (r < 0 && rq->user)
                return log_error(r == -ESRCH ? "User %s does not exist in machine %s."
                                             : "Invalid user '%s' for machine %s.",
                                 rq->user, m->name),
                       1;
        if (r < 0) /* a tree without root in its passwd: root all the same */
                u = (GuestUser){ .name = "root", .home = "/root", .shell = "/bin/sh" };

        /* Still alive (so its pid, through which we read above, was not reused meanwhile). */
        if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
                return log_error("Machine %s is gone.", m->name), 1;

        bool use_pty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
        _cleanup_close_pair_ int sock[2] = { -EBADF, -EBADF };
        int in[2] = { -EBADF, -EBADF }, out[2] = { -EBADF, -EBADF }, err[2] = { -EBADF, -EBADF };
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) < 0)
                return log_error_errno(errno, "Failed to create a socket pair: %m"), 1;
        if (!use_pty && (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0))
                return log_error_errno(errno, "Failed to create pipes: %m"), 1;

        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "Failed to fork: %m"), 1;
        if (pid == 0) {
                /* The caller's stdio stays on the host: the guest gets our pipes or its own pty. */
                if (!use_pty) {
                        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
                                _exit(EXIT_FAILURE);
                        /* Our copies of the parent's ends would keep the command from ever
                         * seeing EOF; the child never execs, so close them for real. */
                        int ends[] = { in[0], in[1], out[0], out[1], err[0], err[1] };
                        for (size_t i = 0; i < ELEMENTSOF(ends); i++)
                                safe_close(ends[i]);
                } else {
                        if (stdio_to_null(STDOUT_FILENO) < 0)
                                _exit(EXIT_FAILURE);
                        /* stderr stays until the pty exists: it reports failures to join */
                }
                sock[0] = safe_close(sock[0]);
                child(rq, &u, pidfd, sock[1], use_pty);
        }
        sock[1] = safe_close(sock[1]);
        safe_close(in[0]);
        safe_close(out[1]);
        safe_close(err[1]);

        _cleanup_close_ int child_pidfd = pidfd_open_(pid);
        if (use_pty) {
                SyncMessage msg;
                int master = -EBADF;
                size_t n = 0;
                if (sync_expect(sock[0], SYNC_STEP_CONSOLE_READY, &msg, &master, &n) >= 0 && n == 1) {
                        relay_pty(master, child_pidfd);
                        safe_close(master);
                }
        } else
                relay_pipes(in[1], out[0], err[0]);

        r = wait_exit_status(pid);
        return r < 0 ? 1 : r;
}
