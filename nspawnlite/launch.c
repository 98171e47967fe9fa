/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The supervisor: checks, cgroup, clone3() into the namespaces, the named sync steps with the child,
 * then the event loop (console, signals, init's exit) and the teardown. */
#include "nspawnlite/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "machines/cgroup.h"
#include "machines/registry.h"
#include "nspawnlite/caps.h"
#include "nspawnlite/child.h"
#include "nspawnlite/console.h"
#include "nspawnlite/fd-util.h"
#include "nspawnlite/init-detect.h"
#include "nspawnlite/log.h"
#include "nspawnlite/sync.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* The namespaces of a machine; the cgroup namespace is unshared by the child later, once it sits
 * in the machine's cgroup in every hierarchy. */
static const struct {
        int flag;
        const char *name;
        bool only_own_network;
} namespace_table[] = {
        { CLONE_NEWNS, "mount", false }, { CLONE_NEWPID, "pid", false }, { CLONE_NEWUTS, "uts", false },
        { CLONE_NEWIPC, "ipc", false },  { CLONE_NEWNET, "net", true },
};

typedef struct {
        Config *config;
        ConsoleMode console;
        const char *init_path;
        InitKind init_kind;
        char uuid[40];
        MachineCgroup cgroup;
        MachineLock lock;
        ConsoleRelay relay;
        sigset_t original_mask;
        int signal_fd;

        /* per boot of the guest (a reboot makes a new one) */
        pid_t pid;
        int pidfd;
        int master;
        int notify;

        unsigned stop_requests;
        usec_t kill_deadline;
        bool killed_by_us;
} Supervisor;

static int pidfd_send(int pidfd, int sig) {
        return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

static int read_uuid(char ret[static 40]) {
        _cleanup_free_ char *s = NULL;
        int r = read_file_at(-EBADF, "/proc/sys/kernel/random/uuid", 64, &s);
        if (r < 0)
                return r;
        s[strcspn(s, "\n")] = 0;
        snprintf(ret, 40, "%s", s);
        return 0;
}

static int preflight(Supervisor *s) {
        Config *c = s->config;
        const char *verb = c->kind == LAUNCH_BOOT ? "boot" : "run";

        if (geteuid() != 0)
                return log_error_errno(EPERM, "nspawnlite %s must run as root: making namespaces, mounts and "
                                              "cgroups needs it.", verb);

        _cleanup_close_ int rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return log_error_errno(errno, "Cannot open root directory %s: %m", c->rootfs);

        if (c->kind == LAUNCH_BOOT) {
                if (!tree_has_os_release(rootfd))
                        return log_error_errno(ENOENT, "%s has neither /etc/os-release nor /usr/lib/os-release: "
                                                       "not an OS tree ('nspawnlite run' runs a command in any tree).",
                                               c->rootfs);
                if (init_detect(rootfd, &s->init_path, &s->init_kind) < 0)
                        return log_error_errno(ENOENT, "No init found in %s: looked for /usr/lib/systemd/systemd, "
                                                       "/lib/systemd/systemd and /sbin/init.", c->rootfs);
                log_debug("Init %s (%s).", s->init_path, init_kind_to_string(s->init_kind));
        } else
                s->init_kind = INIT_STUB;

        /* Kernel features we cannot do without, named so that the user knows what is missing. */
        static const struct {
                const char *path;
                const char *what;
        } features[] = {
                { "/proc/self/ns/pid", "PID namespaces (CONFIG_PID_NS)" },
                { "/proc/self/ns/cgroup", "cgroup namespaces (CONFIG_CGROUPS)" },
                { "/proc/self/ns/uts", "UTS namespaces (CONFIG_UTS_NS)" },
                { "/proc/self/ns/ipc", "IPC namespaces (CONFIG_IPC_NS)" },
                { "/proc/self/ns/net", "network namespaces (CONFIG_NET_NS)" },
        };
        for (size_t i = 0; i < ELEMENTSOF(features); i++)
                if (access(features[i].path, F_OK) < 0)
                        return log_error_errno(EOPNOTSUPP, "The kernel lacks %s, which nspawnlite needs.",
                                               features[i].what);
        CgroupLayout layout;
        int r = cgroup_detect_layout(&layout);
        if (r < 0)
                return log_error_errno(r, "No cgroup2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified: "
                                          "nspawnlite needs one for the guest's cgroup view.");
        return 0;
}

static int clone_child(Supervisor *s, int child_sync, bool *ret_into_cgroup) {
        uint64_t flags = CLONE_PIDFD;
        for (size_t i = 0; i < ELEMENTSOF(namespace_table); i++)
                if (!namespace_table[i].only_own_network || s->config->network != NETWORK_HOST)
                        flags |= (uint64_t) namespace_table[i].flag;

        int pidfd = -EBADF;
        struct clone_args args = {
                .flags = flags | CLONE_INTO_CGROUP,
                .pidfd = (uint64_t) (uintptr_t) &pidfd,
                .exit_signal = SIGCHLD,
                .cgroup = (uint64_t) s->cgroup.payload_fd,
        };
        bool into_cgroup = true;
        long pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid < 0 && (errno == EINVAL || errno == EOPNOTSUPP || errno == EBUSY || errno == E2BIG)) {
                /* Older kernel or a cgroup we cannot clone into: clone, then attach. */
                args.flags = flags;
                args.cgroup = 0;
                into_cgroup = false;
                pid = syscall(SYS_clone3, &args, sizeof args);
        }
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                ChildContext ctx = {
                        .config = s->config,
                        .console = s->console,
                        .init_path = s->init_path,
                        .init_kind = s->init_kind,
                        .uuid = s->uuid,
                        .term = s->console == CONSOLE_INTERACTIVE ? getenv("TERM") : NULL,
                        .caps = capability_machine_set(s->config->network != NETWORK_HOST, s->config->caps_add,
                                                       s->config->caps_drop |
                                                               (s->cgroup.devices_restricted ? 0 : CAP_MASK(CAP_MKNOD))),
                        .sync_fd = child_sync,
                        .original_mask = s->original_mask,
                };
                child_main(&ctx);
        }
        s->pid = (pid_t) pid;
        s->pidfd = pidfd;
        *ret_into_cgroup = into_cgroup;
        return 0;
}

/* Wait for the child to die and turn its status into ours. */
static int reap_child(Supervisor *s, siginfo_t *ret) {
        siginfo_t si = {};
        if (waitid((idtype_t) P_PIDFD, (id_t) s->pidfd, &si, WEXITED) < 0)
                return -errno;
        s->pidfd = safe_close(s->pidfd);
        s->pid = 0;
        *ret = si;
        return 0;
}

/* What other verbs and the tests read about a running machine. */
static void write_state(Supervisor *s) {
        char buf[8192];
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(buf, sizeof buf,
                 "name=%s\nleader=%d\nsupervisor=%d\nrootfs=%s\ninit=%s\nuuid=%s\ncgroup=%s\nsince=%lld\n",
                 s->config->machine, (int) s->pid, (int) getpid(), s->config->rootfs,
                 init_kind_to_string(s->init_kind), s->uuid, s->cgroup.payload,
                 (long long) ts.tv_sec * 1000000LL + ts.tv_nsec / 1000);
        int r = machine_state_write(&s->lock, buf);
        if (r < 0)
                log_warning_errno(r, "Failed to write the state of machine %s: %m", s->config->machine);
}

/* Start the guest once: clone, the sync steps, and init running. On failure the child has been
 * reaped and the error printed. */
static int start_guest(Supervisor *s) {
        _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };
        SyncMessage m = {};
        bool kill_child = true;
        int r;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return log_error_errno(errno, "Failed to create the sync socket: %m");

        bool into_cgroup = false;
        r = clone_child(s, pair[1], &into_cgroup);
        if (r < 0)
                return log_error_errno(r, "Failed to create the container's namespaces: %m");
        pair[1] = safe_close(pair[1]);

        r = machine_cgroup_attach(&s->cgroup, s->pid, !into_cgroup);
        if (r < 0) {
                log_error_errno(r, "Failed to move the container into its cgroup: %m");
                goto fail;
        }
        r = sync_send_step(pair[0], SYNC_STEP_CGROUP_READY, NULL, 0);
        if (r < 0) {
                log_error_errno(r, "The container child died before it started.");
                goto fail;
        }

        int fds[SYNC_FDS_MAX] = { -EBADF, -EBADF };
        size_t n_fds = 0;
        r = sync_expect(pair[0], SYNC_STEP_CONSOLE_READY, &m, fds, &n_fds);
        if (r < 0)
                goto child_failed;
        s->notify = n_fds > 0 ? fds[0] : -EBADF;
        s->master = n_fds > 1 ? fds[1] : -EBADF;
        console_relay_set_master(&s->relay, s->master);

        /* Init runs once the child's end closes at execve(); the stub says so explicitly. */
        r = sync_recv(pair[0], &m, NULL, NULL);
        if (r == 1 && m.step == SYNC_STEP_COMMAND_STARTED)
                r = sync_recv(pair[0], &m, NULL, NULL);
        if (r == 0) {
                write_state(s);
                return 0;
        }

child_failed:
        if ((r == 1 || r == -EPROTO) && m.step == SYNC_STEP_ERROR) {
                log_error("Failed to start machine %s: %s", s->config->machine, m.message);
                /* The child _exit()s right after reporting: let it, its status may say more (127). */
                kill_child = false;
        } else
                log_error_errno(r < 0 ? r : EPROTO, "Failed to start machine %s: the container child died "
                                                    "during setup.", s->config->machine);
        r = -ECHILD;
fail: {
        siginfo_t si;
        if (s->pidfd >= 0) {
                if (kill_child)
                        (void) pidfd_send(s->pidfd, SIGKILL);
                if (reap_child(s, &si) >= 0 && si.si_code == CLD_EXITED && si.si_status > 1)
                        r = si.si_status; /* e.g. 127 from "run": command not found */
        }
        console_relay_set_master(&s->relay, -EBADF);
        s->master = safe_close(s->master);
        s->notify = safe_close(s->notify);
        return r > 0 ? r : -ECHILD;
}
}

static void request_stop(Supervisor *s) {
        const InitInfo *info = init_info(s->init_kind);
        int sig = s->config->kill_signal ?: info->poweroff_signal;

        if (++s->stop_requests > 1 || s->pidfd < 0) {
                log_info("Killing machine %s.", s->config->machine);
                s->killed_by_us = true;
                (void) pidfd_send(s->pidfd, SIGKILL);
                return;
        }
        s->kill_deadline = s->config->timeout == USEC_INFINITY ? USEC_INFINITY : now_usec() + s->config->timeout;
        if (!s->config->kill_signal && info->poweroff_via_initctl &&
            initctl_request_runlevel(s->pid, '0') >= 0) {
                log_info("Asked %s to power off through /run/initctl.", s->config->machine);
                return;
        }
        log_info("Asking %s to power off (%s to %s).", s->config->machine, signal_to_string(sig),
                 info->name);
        (void) pidfd_send(s->pidfd, sig);
}

static void drain_notify(Supervisor *s) {
        char buf[4096];
        for (;;) {
                ssize_t k = recv(s->notify, buf, sizeof buf - 1, MSG_DONTWAIT);
                if (k < 0)
                        return;
                buf[k] = 0;
                if (strstr(buf, "READY=1"))
                        log_debug("Machine %s reported READY=1.", s->config->machine);
        }
}

/* As a subreaper we may inherit stray processes: collect them, but leave our init to its pidfd. */
static void reap_orphans(Supervisor *s) {
        for (;;) {
                siginfo_t si = {};
                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0 ||
                    si.si_pid == s->pid)
                        return;
                (void) waitpid(si.si_pid, NULL, 0);
        }
}

typedef enum {
        GUEST_POWEROFF,
        GUEST_REBOOT,
        GUEST_EXITED,
} GuestEnd;

/* The event loop while init runs. Returns how it ended and the status to exit with. */
static int run_event_loop(Supervisor *s, GuestEnd *ret_end, int *ret_status) {
        for (;;) {
                struct pollfd p[8];
                size_t n = 0;
                p[n++] = (struct pollfd) { .fd = s->signal_fd, .events = POLLIN };
                p[n++] = (struct pollfd) { .fd = s->pidfd, .events = POLLIN };
                if (s->notify >= 0)
                        p[n++] = (struct pollfd) { .fd = s->notify, .events = POLLIN };
                size_t notify_idx = n - 1;
                console_relay_poll_add(&s->relay, p, &n);

                int timeout = -1;
                usec_t now = now_usec();
                if (s->kill_deadline && s->kill_deadline != USEC_INFINITY)
                        timeout = s->kill_deadline > now ? (int) ((s->kill_deadline - now) / USEC_PER_MSEC) + 1 : 0;
                if (console_relay_wants_tick(&s->relay) && (timeout < 0 || timeout > 100))
                        timeout = 100;

                int k = poll(p, n, timeout);
                if (k < 0 && errno != EINTR)
                        return log_error_errno(errno, "poll() failed: %m");
                now = now_usec();

                if (s->kill_deadline && s->kill_deadline != USEC_INFINITY && now >= s->kill_deadline &&
                    !s->killed_by_us) {
                        log_warning("Machine %s did not power off within the timeout; killing it.",
                                    s->config->machine);
                        s->killed_by_us = true;
                        (void) pidfd_send(s->pidfd, SIGKILL);
                }
                if (k <= 0) {
                        (void) console_relay_dispatch(&s->relay, p, now);
                        continue;
                }

                if (p[0].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        while (read(s->signal_fd, &si, sizeof si) == sizeof si) {
                                switch (si.ssi_signo) {
                                case SIGTERM:
                                case SIGINT:
                                case SIGHUP:
                                        request_stop(s);
                                        break;
                                case SIGWINCH:
                                        console_relay_winch(&s->relay);
                                        break;
                                case SIGCHLD:
                                        reap_orphans(s);
                                        break;
                                }
                        }
                }

                if (s->notify >= 0 && (p[notify_idx].revents & POLLIN))
                        drain_notify(s);

                if (console_relay_dispatch(&s->relay, p, now) > 0) {
                        log_info("Escape typed three times: killing machine %s.", s->config->machine);
                        s->stop_requests++;
                        s->killed_by_us = true;
                        (void) pidfd_send(s->pidfd, SIGKILL);
                }

                if (p[1].revents & POLLIN) {
                        console_relay_drain(&s->relay);
                        siginfo_t si;
                        int r = reap_child(s, &si);
                        if (r < 0)
                                return log_error_errno(r, "Failed to reap the container: %m");
                        if (si.si_code == CLD_EXITED) {
                                *ret_end = GUEST_EXITED;
                                *ret_status = si.si_status;
                        } else if (si.si_status == SIGINT) {
                                /* reboot(2) in the guest with POWER_OFF or HALT (pid_namespaces(7)). */
                                *ret_end = GUEST_POWEROFF;
                                *ret_status = 0;
                        } else if (si.si_status == SIGHUP) {
                                *ret_end = GUEST_REBOOT;
                                *ret_status = 0;
                        } else {
                                *ret_end = GUEST_EXITED;
                                *ret_status = 128 + si.si_status;
                        }
                        return 0;
                }
        }
}

static void end_guest(Supervisor *s) {
        console_relay_set_master(&s->relay, -EBADF);
        s->master = safe_close(s->master);
        s->notify = safe_close(s->notify);
}

int launch_machine(Config *c) {
        Supervisor s = {
                .config = c,
                .signal_fd = -EBADF,
                .pidfd = -EBADF,
                .master = -EBADF,
                .notify = -EBADF,
                .lock = { .lock_fd = -EBADF },
        };
        int status = 1, r;

        if (preflight(&s) < 0)
                return 1;

        s.console = console_mode_resolve(c->console, c->kind == LAUNCH_RUN);
        if (read_uuid(s.uuid) < 0)
                return log_error("Failed to generate a machine UUID."), 1;

        r = machine_lock_acquire(c->machine, &s.lock);
        if (r == -EBUSY)
                return log_error("Machine %s is already running; choose another name with -M.", c->machine), 1;
        if (r < 0)
                return log_error_errno(r, "Failed to lock machine name %s in %s: %m", c->machine, runtime_dir()), 1;

        r = machine_cgroup_init(&s.cgroup, c->machine);
        if (r == -EINVAL)
                log_error("Invalid NSPAWNLITE_CGROUP_PARENT: use a relative cgroup path without '..'.");
        else if (r < 0)
                log_error_errno(r, "Failed to find the cgroup hierarchies: %m");
        else if ((r = machine_cgroup_create(&s.cgroup)) < 0)
                log_error_errno(r, "Failed to create cgroup %s: %m", s.cgroup.payload);
        if (r < 0)
                goto out_cgroup;

        /* Signals arrive through a signalfd; the child restores this mask before exec. */
        sigset_t mask;
        sigemptyset(&mask);
        int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGWINCH };
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                sigaddset(&mask, sigs[i]);
        sigprocmask(SIG_BLOCK, &mask, &s.original_mask);
        s.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (s.signal_fd < 0) {
                log_error_errno(errno, "Failed to create a signalfd: %m");
                sigprocmask(SIG_SETMASK, &s.original_mask, NULL);
                goto out;
        }
        (void) prctl(PR_SET_CHILD_SUBREAPER, 1);

        r = console_relay_init(&s.relay, s.console, STDIN_FILENO, STDOUT_FILENO);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the terminal: %m");
                goto out;
        }

        for (;;) {
                s.stop_requests = 0;
                s.kill_deadline = 0;
                s.killed_by_us = false;
                r = start_guest(&s);
                if (r != 0) {
                        status = r > 0 ? r : 1;
                        break;
                }
                if (s.console == CONSOLE_INTERACTIVE && c->kind == LAUNCH_BOOT)
                        log_info("Machine %s started. Press Ctrl-] three times within 1 s to kill it.", c->machine);

                GuestEnd end = GUEST_EXITED;
                r = run_event_loop(&s, &end, &status);
                end_guest(&s);
                if (r < 0) {
                        status = 1;
                        break;
                }
                if (end == GUEST_REBOOT && c->kind == LAUNCH_BOOT && !s.stop_requests) {
                        log_info("Machine %s is rebooting.", c->machine);
                        continue;
                }
                if (end == GUEST_POWEROFF)
                        log_debug("Machine %s powered off.", c->machine);
                else if (s.killed_by_us)
                        log_info("Machine %s was killed.", c->machine);
                break;
        }

out:
        if (s.pidfd >= 0) {
                siginfo_t si;
                (void) pidfd_send(s.pidfd, SIGKILL);
                (void) reap_child(&s, &si);
        }
        end_guest(&s);
        console_relay_done(&s.relay);
        if (s.signal_fd >= 0) {
                s.signal_fd = safe_close(s.signal_fd);
                sigprocmask(SIG_SETMASK, &s.original_mask, NULL);
        }
out_cgroup:
        r = machine_cgroup_destroy(&s.cgroup);
        if (r < 0)
                log_warning_errno(r, "Failed to remove cgroup %s: %m", strempty(s.cgroup.scope));
        machine_cgroup_done(&s.cgroup);
        machine_lock_release(&s.lock);
        return status;
}
