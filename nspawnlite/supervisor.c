/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The supervisor's event loop while the guest runs: its console (the caller's terminal, a log, and
 * attached clients), signals, the control socket, the notify socket, and the end of init. */
#include "nspawnlite/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "machines/control.h"
#include "machines/systemd-scope.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/process-util.h"

#define CONSOLE_LOG_MAX (1024 * 1024)

int pidfd_send(int pidfd, int sig) {
        return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

int supervisor_write_state(Supervisor *s, const char *state) {
        MachineInfo m = {
                .leader = s->pid,
                .supervisor = getpid(),
                .since_usec = s->since_usec,
                .detached = s->spec->detach,
                .limits = s->limits,
                .caps = s->caps,
                .no_new_privileges = s->spec->no_new_privileges,
                .uid_shift = s->userns.lock_fd >= 0 ? s->userns.base : 0,
        };
        (void) pid_starttime(s->pid, &m.leader_starttime);
        snprintf(m.name, sizeof m.name, "%s", s->spec->machine);
        snprintf(m.state, sizeof m.state, "%s", state);
        snprintf(m.init, sizeof m.init, "%s", init_kind_to_string(s->init_kind));
        snprintf(m.rootfs, sizeof m.rootfs, "%s", s->spec->rootfs);
        snprintf(m.uuid, sizeof m.uuid, "%s", s->uuid);
        snprintf(m.cgroup, sizeof m.cgroup, "%s", s->cgroup.scope);
        if (s->cgroup.unit_mode != CGROUP_UNIT_NONE) {
                snprintf(m.unit, sizeof m.unit, "%s", s->cgroup.unit);
                m.unit_kept = s->cgroup.unit_mode == CGROUP_UNIT_KEEP;
        }
        GuestNetwork g;
        network_guest_config(&s->network, &g);
        if (g.configure)
                ipv4_format(g.address, m.address, sizeof m.address);
        if (s->network.leased)
                snprintf(m.interface, sizeof m.interface, "%s", s->network.lease.ifname);
        int r = machine_state_write(&s->lock, &m);
        if (r < 0)
                log_warning_errno(r, "Failed to write the state of machine %s: %m", s->spec->machine);
        return r;
}

/* Run as a Type=notify service (nspawnlite@.service, systemd-run -p Type=notify): tell systemd the
 * machine is ready, and which process is its main one (with -d that is the supervisor, not the
 * command that systemd started). Best effort: the service's own start timeout catches a miss. */
static void notify_service_ready(void) {
        const char *e = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t l = e ? strlen(e) : 0;
        if (l < 2 || l >= sizeof sa.sun_path || (e[0] != '/' && e[0] != '@'))
                return;
        memcpy(sa.sun_path, e, l);
        if (e[0] == '@')
                sa.sun_path[0] = 0; /* abstract */
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        char msg[64];
        int n = snprintf(msg, sizeof msg, "READY=1\nMAINPID=%d", (int) getpid());
        if (fd >= 0)
                (void) sendto(fd, msg, (size_t) n, MSG_NOSIGNAL, (struct sockaddr *) &sa,
                              (socklen_t) (offsetof(struct sockaddr_un, sun_path) + l));
}

void supervisor_report_ready(Supervisor *s) {
        if (s->ready)
                return;
        s->ready = true;
        s->ready_deadline = 0;
        notify_service_ready();
        if (s->ready_fd < 0)
                return;
        (void) loop_write(s->ready_fd, "1", 1);
        s->ready_fd = safe_close(s->ready_fd);
        /* From now on nobody reads our stderr: messages go to the console log. */
        if (stdio_to_null(s->log_fd >= 0 ? STDOUT_FILENO : STDERR_FILENO) >= 0 && s->log_fd >= 0)
                (void) dup2(s->log_fd, STDERR_FILENO);
}

/* Keep console.log bounded: past the limit it becomes console.log.old and a new one starts. */
static void log_rotate(Supervisor *s) {
        char cur[PATH_MAX], old[PATH_MAX];
        if (machine_path(s->spec->machine, "console.log", cur, sizeof cur) < 0 ||
            machine_path(s->spec->machine, "console.log.old", old, sizeof old) < 0)
                return;
        if (rename(cur, old) < 0)
                return;
        int fd = open(cur, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return;
        if (s->ready)
                (void) dup2(fd, STDERR_FILENO);
        safe_close(s->log_fd);
        s->log_fd = fd;
        s->log_size = 0;
        s->relay.out = fd;
}

/* The session on a tty whose login client went away ends as a modem hang-up would end it; its
 * getty then offers a fresh prompt to the next login. */
static void release_tty(Supervisor *s, int client_fd) {
        for (unsigned t = 0; t < s->n_ttys; t++) {
                if (s->ttys[t].client_fd != client_fd)
                        continue;
                s->ttys[t].client_fd = -EBADF;
                int peer = ioctl(s->ttys[t].master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
                if (peer >= 0) {
                        (void) ioctl(peer, TIOCVHANGUP);
                        close(peer);
                }
        }
}

static void drop_client(Supervisor *s, size_t i) {
        if (s->clients[i].kind == CLIENT_LOGIN)
                release_tty(s, s->clients[i].fd);
        safe_close(s->clients[i].fd);
        s->clients[i] = s->clients[--s->n_clients];
}

void supervisor_drop_logins(Supervisor *s) {
        for (size_t i = s->n_clients; i-- > 0;)
                if (s->clients[i].kind == CLIENT_LOGIN) {
                        s->clients[i].kind = CLIENT_REQUEST; /* no hang-up: the tty itself is going */
                        drop_client(s, i);
                }
        for (unsigned t = 0; t < s->n_ttys; t++)
                s->ttys[t].client_fd = -EBADF;
}

/* A tty with a getty on it: some process in the guest has the slave open. */
static bool tty_has_reader(int master) {
        struct pollfd p = { .fd = master, .events = POLLIN };
        return poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP);
}

static int handle_login(Supervisor *s, ControlClient *c, char *err, size_t errlen) {
        unsigned busy = 0;
        for (unsigned t = 0; t < s->n_ttys; t++) {
                if (s->ttys[t].client_fd >= 0) {
                        busy++;
                        continue;
                }
                if (!tty_has_reader(s->ttys[t].master))
                        continue;
                char reply[32];
                snprintf(reply, sizeof reply, "OK pts/%u", s->ttys[t].pts);
                int r = control_send_text_fd(c->fd, reply, s->ttys[t].master);
                if (r < 0)
                        return r;
                s->ttys[t].client_fd = c->fd;
                c->kind = CLIENT_LOGIN;
                return 1;
        }
        if (s->n_ttys == 0) {
                snprintf(err, errlen, "Machine %s has no login ttys (it was started with --ttys=0).",
                         s->spec->machine);
                return -ENOTTY;
        }
        if (busy == s->n_ttys) {
                snprintf(err, errlen, "All %u ttys of machine %s are in use.", s->n_ttys, s->spec->machine);
                return -EBUSY;
        }
        /* No getty on any free tty; maybe one is just respawning: the client asks again. */
        snprintf(err, errlen, "Machine %s runs no getty on its ttys (/dev/tty1..%u).", s->spec->machine,
                 s->n_ttys);
        return -EAGAIN;
}

/* Everything the guest writes on its console passes here. */
static void on_console_output(void *userdata, const char *buf, size_t n) {
        Supervisor *s = userdata;

        if (s->log_fd >= 0) {
                s->log_size += (off_t) n;
                if (s->log_size > CONSOLE_LOG_MAX)
                        log_rotate(s);
        }

        char msg[1 + 4096];
        msg[0] = 'D';
        for (size_t off = 0; off < n;) {
                size_t chunk = n - off > 4096 ? 4096 : n - off;
                memcpy(msg + 1, buf + off, chunk);
                for (size_t i = 0; i < s->n_clients; i++)
                        if (s->clients[i].kind == CLIENT_CONSOLE)
                                /* A client too slow to keep up loses output rather than stall us. */
                                (void) send(s->clients[i].fd, msg, chunk + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                off += chunk;
        }

        /* --wait-ready for inits that send no READY=1: their console's login prompt. */
        if (!s->ready && s->ready_deadline) {
                size_t keep = strlen(s->ready_scan);
                char window[sizeof s->ready_scan + 4096 + 1];
                size_t take = n > 4096 ? 4096 : n;
                memcpy(window, s->ready_scan, keep);
                memcpy(window + keep, buf + n - take, take);
                window[keep + take] = 0;
                if (strstr(window, "login: "))
                        supervisor_report_ready(s);
                size_t wl = keep + take, tail = sizeof s->ready_scan - 1;
                snprintf(s->ready_scan, sizeof s->ready_scan, "%s", wl > tail ? window + wl - tail : window);
        }
}

static void request_stop(Supervisor *s, usec_t timeout) {
        const InitInfo *info = init_info(s->init_kind);
        int sig = s->spec->kill_signal ?: info->poweroff_signal;

        if (++s->stop_requests > 1 || s->pidfd < 0) {
                log_info("Killing machine %s.", s->spec->machine);
                s->killed_by_us = true;
                (void) machine_cgroup_kill_all(&s->cgroup);
                (void) pidfd_send(s->pidfd, SIGKILL);
                return;
        }
        (void) supervisor_write_state(s, "stopping");
        s->kill_deadline = timeout == USEC_INFINITY ? USEC_INFINITY : now_usec() + timeout;
        if (s->frozen && machine_cgroup_freeze(&s->cgroup, false) >= 0) {
                s->frozen = false;
                machine_cgroup_watch_stop(&s->freeze_watch_fd);
        }
        if (!s->spec->kill_signal && info->poweroff_via_initctl &&
            initctl_request_runlevel(s->pid, '0') >= 0) {
                log_info("Asked %s to power off through /run/initctl.", s->spec->machine);
                return;
        }
        log_info("Asking %s to power off (%s to %s).", s->spec->machine, signal_to_string(sig), info->name);
        (void) pidfd_send(s->pidfd, sig);
}

static void kill_machine(Supervisor *s) {
        s->stop_requests++;
        s->killed_by_us = true;
        (void) machine_cgroup_kill_all(&s->cgroup);
        (void) pidfd_send(s->pidfd, SIGKILL);
        if (s->frozen) {
                s->frozen = false; /* kill_all thaws */
                machine_cgroup_watch_stop(&s->freeze_watch_fd);
        }
}

static void drain_notify(Supervisor *s) {
        char buf[4096];
        for (;;) {
                ssize_t k = recv(s->notify, buf, sizeof buf - 1, MSG_DONTWAIT);
                if (k < 0)
                        return;
                buf[k] = 0;
                /* One assignment per line; READY=1 alone on one. */
                for (char *line = buf; line && *line;) {
                        char *nl = strchr(line, '\n');
                        if (nl)
                                *nl = 0;
                        if (strcmp(line, "READY=1") == 0) {
                                log_debug("Machine %s reported READY=1.", s->spec->machine);
                                if (s->ready_deadline)
                                        supervisor_report_ready(s);
                        }
                        line = nl ? nl + 1 : NULL;
                }
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

/* The limits of want go back to what before had, or to a fresh cgroup's values. */
static int undo_limits(MachineCgroup *cg, const Limits *want, const Limits *before) {
        int ret = 0;
        for (int k = 0; k < _LIMIT_MAX; k++) {
                if (!want->set[k])
                        continue;
                uint64_t v = before->set[k] ? before->value[k] : limit_info((LimitKey) k)->fresh;
                int r = machine_cgroup_set_limit(cg, (LimitKey) k, v);
                if (r < 0 && ret >= 0)
                        ret = r;
        }
        return ret;
}

int supervisor_apply_limits(MachineCgroup *cg, const Limits *want, const Limits *before, const char *prefix,
                            char *err, size_t errlen) {
        Limits done = {};
        for (int k = 0; k < _LIMIT_MAX; k++) {
                if (!want->set[k])
                        continue;
                int r = machine_cgroup_set_limit(cg, (LimitKey) k, want->value[k]);
                if (r < 0) {
                        CgroupStats st = { .memory_current = UINT64_MAX };
                        char v[32], why[256];
                        if (machine_cgroup_read_stats(cg, &st) < 0)
                                st.memory_current = UINT64_MAX;
                        limit_format_value((LimitKey) k, want->value[k], v, sizeof v);
                        limit_explain_refusal((LimitKey) k, r, machine_cgroup_is_unified(cg),
                                              st.memory_current, why, sizeof why);
                        snprintf(err, errlen, "%s%s=%s: %s.", prefix, limit_info((LimitKey) k)->name, v, why);
                        (void) undo_limits(cg, &done, before);
                        return r;
                }
                done.set[k] = true;
        }
        return 0;
}

/* "set-limit KEY=VALUE…": every limit and the state file change, or none of them. */
static int handle_set_limit(Supervisor *s, char *args, char *err, size_t errlen) {
        Limits want = {};
        char *save = NULL;
        bool any = false;
        for (char *a = strtok_r(args, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
                LimitKey k;
                uint64_t v;
                char why[256];
                if (limit_check_assignment(a, why, sizeof why) < 0 || limit_parse_assignment(a, &k, &v) < 0) {
                        snprintf(err, errlen, "Invalid limit '%s': %s.", a, why);
                        return -EINVAL;
                }
                want.set[k] = true;
                want.value[k] = v;
                any = true;
        }
        if (!any) {
                snprintf(err, errlen, "No limit given.");
                return -EINVAL;
        }
        Limits before = s->limits;
        int r = supervisor_apply_limits(&s->cgroup, &want, &before, "", err, errlen);
        if (r < 0)
                return r;
        for (int k = 0; k < _LIMIT_MAX; k++)
                if (want.set[k]) {
                        s->limits.set[k] = true;
                        s->limits.value[k] = want.value[k];
                }
        r = supervisor_write_state(s, s->frozen ? "frozen" : "running");
        if (r < 0) {
                /* status would show limits other than the cgroup's: undo them. */
                s->limits = before;
                int u = undo_limits(&s->cgroup, &want, &before);
                snprintf(err, errlen,
                         "Failed to record the new limits of machine %s in %s/machines/%s/state: %s; %s.",
                         s->spec->machine, runtime_dir(), s->spec->machine, strerror(-r),
                         u < 0 ? "the old limits could not all be restored either"
                               : "its limits are unchanged");
                return r;
        }
        return 0;
}

/* "freeze", "thaw": the cgroup and the state file change together, or neither does. */
static int handle_freeze(Supervisor *s, bool frozen, char *err, size_t errlen) {
        /* Never frozen without a watcher: should we die, it ends the guest (cgroup.h). */
        int r = 0;
        if (frozen && s->freeze_watch_fd < 0 &&
            (r = machine_cgroup_watch_start(&s->cgroup, &s->freeze_watch_fd)) < 0) {
                snprintf(err, errlen, "Failed to start the watcher of the frozen machine %s: %s",
                         s->spec->machine, strerror(-r));
                return r;
        }
        r = machine_cgroup_freeze(&s->cgroup, frozen);
        if (r < 0) {
                if (frozen && !s->frozen) /* half frozen, maybe */
                        (void) machine_cgroup_freeze(&s->cgroup, false);
                if (!s->frozen)
                        machine_cgroup_watch_stop(&s->freeze_watch_fd);
                snprintf(err, errlen, "Failed to %s machine %s: %s", frozen ? "freeze" : "thaw",
                         s->spec->machine,
                         r == -ETIMEDOUT ? "its processes did not all stop within a second" : strerror(-r));
                /* Not the client's deadline (control.h): a thing the caller could mistake for it. */
                return r == -ETIMEDOUT ? -EBUSY : r;
        }
        r = supervisor_write_state(s, frozen ? "frozen" : "running");
        if (r < 0) {
                if (frozen != s->frozen)
                        (void) machine_cgroup_freeze(&s->cgroup, s->frozen);
                if (!s->frozen)
                        machine_cgroup_watch_stop(&s->freeze_watch_fd);
                snprintf(err, errlen,
                         "Failed to record the state of machine %s in %s/machines/%s/state: %s; it stays %s.",
                         s->spec->machine, runtime_dir(), s->spec->machine, strerror(-r),
                         s->frozen ? "frozen" : "running");
                return r;
        }
        s->frozen = frozen;
        if (!frozen)
                machine_cgroup_watch_stop(&s->freeze_watch_fd);
        return 0;
}

static int handle_poweroff(Supervisor *s, ControlClient *c, char *args, char *err, size_t errlen) {
        usec_t timeout = s->spec->timeout;
        if (args && parse_sec(args, &timeout) < 0) {
                snprintf(err, errlen, "Invalid timeout '%s'.", args);
                return -EINVAL;
        }
        request_stop(s, timeout);
        return 0;
}

static int handle_terminate(Supervisor *s, ControlClient *c, char *args, char *err, size_t errlen) {
        kill_machine(s);
        return 0;
}

static int handle_reboot(Supervisor *s, ControlClient *c, char *args, char *err, size_t errlen) {
        const InitInfo *info = init_info(s->init_kind);
        if (s->frozen) {
                snprintf(err, errlen, "Machine %s is frozen; thaw it first.", s->spec->machine);
                return -EBUSY;
        }
        if (info->poweroff_via_initctl && initctl_request_runlevel(s->pid, '6') >= 0) {
                log_info("Asked %s to reboot through /run/initctl.", s->spec->machine);
                return 0;
        }
        return pidfd_send(s->pidfd, info->reboot_signal);
}

static int handle_kill(Supervisor *s, ControlClient *c, char *args, char *err, size_t errlen) {
        int sig;
        if (parse_signal(args, &sig) < 0) {
                snprintf(err, errlen, "Invalid signal '%s'.", args);
                return -EINVAL;
        }
        return pidfd_send(s->pidfd, sig);
}

static int handle_freeze_request(Supervisor *s, ControlClient *c, char *args, char *err, size_t errlen) {
        return handle_freeze(s, true, err, errlen);
}

static int handle_thaw_request(Supervisor *s, ControlClient *c, char *args, char *err, size_t errlen) {
        return handle_freeze(s, false, err, errlen);
}

static int handle_set_limit_request(Supervisor *s, ControlClient *c, char *args, char *err, size_t errlen) {
        return handle_set_limit(s, args, err, errlen);
}

static int handle_login_request(Supervisor *s, ControlClient *c, char *args, char *err, size_t errlen) {
        return handle_login(s, c, err, errlen);
}

/* Who the leader is, from the one who started it: verbs that join the machine check the state
 * file against this, and get a pidfd of it. */
static int handle_leader(Supervisor *s, ControlClient *c, char *args, char *err, size_t errlen) {
        uint64_t st = 0;
        char reply[64];
        if (s->pidfd < 0 || pid_starttime(s->pid, &st) < 0)
                return -ESRCH;
        snprintf(reply, sizeof reply, "OK %d %" PRIu64, (int) s->pid, st);
        (void) control_send_text_fd(c->fd, reply, s->pidfd);
        return 1;
}

static int handle_console(Supervisor *s, ControlClient *c, char *args, char *err, size_t errlen) {
        bool writer = true;
        for (size_t j = 0; j < s->n_clients; j++)
                if (s->clients[j].kind == CLIENT_CONSOLE && s->clients[j].writer)
                        writer = false;
        c->kind = CLIENT_CONSOLE;
        c->writer = writer;
        (void) control_send_text(c->fd, writer ? "OK rw" : "OK ro");
        return 1;
}

/* A handler returns -errno with err filled (or strerror's text is sent), 0 for a plain "OK" (the
 * table's reply kind says what the connection becomes), or 1 when it answered itself. */
typedef int (*RequestHandler)(Supervisor *s, ControlClient *c, char *args, char *err, size_t errlen);

static const RequestHandler request_handlers[_CONTROL_REQUEST_MAX] = {
        [CONTROL_POWEROFF] = handle_poweroff,
        [CONTROL_TERMINATE] = handle_terminate,
        [CONTROL_REBOOT] = handle_reboot,
        [CONTROL_KILL] = handle_kill,
        [CONTROL_FREEZE] = handle_freeze_request,
        [CONTROL_THAW] = handle_thaw_request,
        [CONTROL_SET_LIMIT] = handle_set_limit_request,
        [CONTROL_LOGIN] = handle_login_request,
        [CONTROL_LEADER] = handle_leader,
        [CONTROL_CONSOLE] = handle_console,
};

bool supervisor_handles_request(ControlRequestId id) {
        return (unsigned) id < _CONTROL_REQUEST_MAX && request_handlers[id];
}

static void handle_request(Supervisor *s, size_t i) {
        ControlClient *c = &s->clients[i];
        char buf[CONTROL_MESSAGE_MAX + 1], err[512] = "";
        ssize_t k = recv(c->fd, buf, CONTROL_MESSAGE_MAX, MSG_DONTWAIT);
        if (k <= 0) {
                if (k == 0 || (errno != EAGAIN && errno != EINTR))
                        drop_client(s, i);
                return;
        }
        buf[k] = 0;
        ControlRequestId id;
        char *args;
        int r = control_request_parse(buf, &id, &args);
        if (r == -EOPNOTSUPP)
                snprintf(err, sizeof err, "Unknown request '%s'.", buf);
        else if (r < 0)
                snprintf(err, sizeof err, "Wrong number of arguments for request '%s'.", buf);
        else if (!supervisor_handles_request(id))
                r = -EOPNOTSUPP, snprintf(err, sizeof err, "Unsupported request '%s'.", buf);
        else
                r = request_handlers[id](s, c, args, err, sizeof err);

        if (r < 0) {
                if (!err[0])
                        snprintf(err, sizeof err, "%s", strerror(-r));
                (void) control_reply_error(c->fd, r, err);
                drop_client(s, i);
                return;
        }
        if (r == 0) {
                (void) control_send_text(c->fd, "OK");
                if (control_request_info(id)->reply == CONTROL_REPLY_WAITER)
                        c->kind = CLIENT_WAITER;
        }
        if (c->kind == CLIENT_REQUEST)
                drop_client(s, i);
}

static void handle_console_input(Supervisor *s, size_t i) {
        ControlClient *c = &s->clients[i];
        char buf[CONTROL_MESSAGE_MAX + 1];
        ssize_t k = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
                drop_client(s, i);
                return;
        }
        if (k > 1 && buf[0] == 'D' && c->writer)
                (void) console_relay_inject(&s->relay, buf + 1, (size_t) k - 1);
}

void supervisor_end_clients(Supervisor *s, int status) {
        char msg[32];
        snprintf(msg, sizeof msg, "X %d", status);
        while (s->n_clients > 0) {
                ControlClient *c = &s->clients[s->n_clients - 1];
                if (c->kind != CLIENT_REQUEST)
                        (void) control_send_text(c->fd, msg);
                drop_client(s, s->n_clients - 1);
        }
}

static void accept_clients(Supervisor *s) {
        for (;;) {
                int fd;
                int r = control_accept(s->control_fd, &fd);
                if (r == -EAGAIN || r == -EWOULDBLOCK)
                        return;
                if (r < 0)
                        continue; /* not root, or a connection that went away */
                if (s->n_clients >= SUPERVISOR_CLIENTS_MAX) {
                        (void) control_reply_error(fd, EBUSY, "Too many clients.");
                        close(fd);
                        continue;
                }
                s->clients[s->n_clients++] = (ControlClient){ .fd = fd, .kind = CLIENT_REQUEST };
        }
}

static void on_signal(Supervisor *s) {
        struct signalfd_siginfo si;
        while (read(s->signal_fd, &si, sizeof si) == sizeof si) {
                switch (si.ssi_signo) {
                case SIGTERM:
                case SIGINT:
                case SIGHUP:
                        request_stop(s, s->spec->timeout);
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

/* systemd asks us to stop the scope we control (systemctl stop, machinectl terminate): as a
 * SIGTERM would, through the guest's init, rather than systemd's SIGTERM to every process of it. */
static void on_bus(Supervisor *s) {
        int r = systemd_scope_watch_process();
        if (r < 0)
                log_warning_errno(
                        r, "Lost the system bus; a stop of unit %s now signals the machine's processes: %m",
                        s->cgroup.unit);
        else if (r > 0) {
                log_info("systemd asks to stop unit %s.", s->cgroup.unit);
                request_stop(s, s->spec->timeout);
        }
}

static int min_timeout(int a, usec_t deadline, usec_t now) {
        if (!deadline || deadline == USEC_INFINITY)
                return a;
        int t = deadline > now ? (int) ((deadline - now) / USEC_PER_MSEC) + 1 : 0;
        return a < 0 || t < a ? t : a;
}

int supervisor_run(Supervisor *s, GuestEnd *ret_end, int *ret_status) {
        s->relay.on_output = on_console_output;
        s->relay.userdata = s;

        for (;;) {
                struct pollfd p[8 + SUPERVISOR_CLIENTS_MAX];
                size_t n = 0, client_base;
                p[n++] = (struct pollfd){ .fd = s->signal_fd, .events = POLLIN };
                p[n++] = (struct pollfd){ .fd = s->pidfd, .events = POLLIN };
                p[n++] = (struct pollfd){ .fd = s->notify, .events = POLLIN };
                p[n++] = (struct pollfd){ .fd = s->control_fd, .events = POLLIN };
                /* The bus of the scope we control (systemd hosts): negative, and so not polled, elsewhere. */
                short bus_events = 0;
                uint64_t bus_deadline = USEC_INFINITY;
                size_t bus_index = n;
                p[n++] = (struct pollfd){ .fd = systemd_scope_watch_fd(&bus_events, &bus_deadline),
                                          .events = bus_events };
                client_base = n;
                for (size_t i = 0; i < s->n_clients; i++)
                        p[n++] = (struct pollfd){ .fd = s->clients[i].fd, .events = POLLIN };
                size_t n_polled_clients = s->n_clients;
                console_relay_poll_add(&s->relay, p, &n);

                usec_t now = now_usec();
                int timeout = min_timeout(-1, s->kill_deadline, now);
                timeout = min_timeout(timeout, s->ready_deadline, now);
                timeout = min_timeout(timeout, bus_deadline ?: now, now);
                if (console_relay_wants_tick(&s->relay) && (timeout < 0 || timeout > 20))
                        timeout = 20;

                int k = poll(p, n, timeout);
                if (k < 0 && errno != EINTR)
                        return log_error_errno(errno, "poll() failed: %m");
                now = now_usec();

                if (s->kill_deadline && s->kill_deadline != USEC_INFINITY && now >= s->kill_deadline &&
                    !s->killed_by_us) {
                        log_warning("Machine %s did not power off within the timeout; killing it.",
                                    s->spec->machine);
                        kill_machine(s);
                }
                if (s->ready_deadline && now >= s->ready_deadline && !s->ready && !s->killed_by_us) {
                        log_error("Machine %s did not become ready within %llu s; stopping it.",
                                  s->spec->machine, (unsigned long long) (s->spec->timeout / USEC_PER_SEC));
                        s->ready_deadline = 0;
                        kill_machine(s);
                }
                if (p[bus_index].fd >= 0 && (p[bus_index].revents || now >= bus_deadline))
                        on_bus(s);
                if (k <= 0) {
                        (void) console_relay_dispatch(&s->relay, p, now);
                        continue;
                }

                if (p[0].revents & POLLIN)
                        on_signal(s);
                if (p[2].revents & POLLIN)
                        drain_notify(s);
                if (p[3].revents & POLLIN)
                        accept_clients(s);

                /* Back to front: dropping a client moves the last one into its slot. */
                for (size_t i = n_polled_clients; i-- > 0;) {
                        if (!p[client_base + i].revents || i >= s->n_clients)
                                continue;
                        if (s->clients[i].kind == CLIENT_REQUEST && (p[client_base + i].revents & POLLHUP))
                                /* Its client gave up waiting (control.h's deadline, while we were
                                 * stopped) and told its user the request failed: carrying it out
                                 * now would make that a lie. */
                                drop_client(s, i);
                        else if (s->clients[i].kind == CLIENT_REQUEST)
                                handle_request(s, i);
                        else if (s->clients[i].kind == CLIENT_CONSOLE)
                                handle_console_input(s, i);
                        else if (s->clients[i].kind == CLIENT_LOGIN)
                                handle_console_input(s, i); /* reads only the hang-up: logins send nothing */
                        else if (p[client_base + i].revents & (POLLHUP | POLLERR))
                                drop_client(s, i); /* a waiter that gave up */
                }

                if (console_relay_dispatch(&s->relay, p, now) > 0) {
                        log_info("Escape typed three times: killing machine %s.", s->spec->machine);
                        kill_machine(s);
                }

                if (p[1].revents & POLLIN) {
                        console_relay_drain(&s->relay);
                        siginfo_t si;
                        int r = pidfd_wait_exited(s->pidfd, &si);
                        if (r < 0)
                                return log_error_errno(r, "Failed to reap the container: %m");
                        s->pidfd = safe_close(s->pidfd);
                        s->pid = 0;
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
