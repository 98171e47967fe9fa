/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Starting a machine: checks, the name, the cgroup, clone3() into the namespaces and the named sync
 * steps with the child; detaching; restarting on reboot; and the teardown on every path. The loop
 * while the guest runs is in supervisor.c. */
#include "nspawnlite/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "machines/control.h"
#include "machines/systemd-scope.h"
#include "network/ifname.h"
#include "network/listeners.h"
#include "nspawnlite/caps.h"
#include "nspawnlite/child.h"
#include "nspawnlite/gc.h"
#include "nspawnlite/host-limits.h"
#include "nspawnlite/launch-userns.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/mounts.h"
#include "nspawnlite/basic/path-util.h"
#include "nspawnlite/basic/process-util.h"
#include "nspawnlite/supervisor.h"
#include "nspawnlite/sync.h"
#include "nspawnlite/userns-mounts.h"

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
        const LaunchSpec *c = s->spec;
        const char *verb = c->kind == LAUNCH_BOOT ? "boot" : "run";

        if (geteuid() != 0)
                return log_error_errno(EPERM,
                                       "nspawnlite %s must run as root: making namespaces, mounts and "
                                       "cgroups needs it.",
                                       verb);

        _cleanup_close_ int rootfd = -EBADF;
        if (c->image) {
                /* Probed, locked and tried in a mount namespace of its own: init found inside. */
                if (launch_image_prepare(c, &s->image) < 0)
                        return -EINVAL;
                s->init_path = s->image.init_path;
                s->init_kind = c->kind == LAUNCH_BOOT ? s->image.init_kind : INIT_STUB;
        } else if ((rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
                return log_error_errno(errno, "Cannot open root directory %s: %m", c->rootfs);
        else if (launch_tree_lock(c, &s->image) < 0)
                return -EINVAL;

        if (c->image)
                log_debug("Image %s, root %s at %llu.", c->image,
                          s->image.choice.part[IMAGE_PART_ROOT].fstype,
                          (unsigned long long) s->image.choice.part[IMAGE_PART_ROOT].start);
        else if (c->kind == LAUNCH_BOOT) {
                if (!tree_has_os_release(rootfd))
                        return log_error_errno(
                                ENOENT,
                                "%s has neither /etc/os-release nor /usr/lib/os-release: "
                                "not an OS tree ('nspawnlite run' runs a command in any tree).",
                                c->rootfs);
                if (init_detect(rootfd, &s->init_path, &s->init_kind) < 0)
                        return log_error_errno(ENOENT,
                                               "No init found in %s: looked for /usr/lib/systemd/systemd, "
                                               "/lib/systemd/systemd and /sbin/init.",
                                               c->rootfs);
                log_debug("Init %s (%s).", s->init_path, init_kind_to_string(s->init_kind));
        } else
                s->init_kind = INIT_STUB;

        /* What many machines need from the host: one line per limit that falls short. */
        if (host_limits_check(s->init_kind, c->userns.mode != USERNS_OFF, 1 + c->ttys) < 0)
                return -ENOSPC;

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
        /* Inside another container keyctl may be refused; the child then goes on without a
         * session keyring of its own, as systemd-nspawn does. */
        r = keyring_probe();
        if (keyring_unavailable(r))
                log_debug_errno(r, "No keyrings here (%m): the machine gets no session keyring of its own.");
        return 0;
}

/* Whether systemd-machined is to learn of the machine: where systemd made or gave its unit. */
static bool registration_wanted(const Supervisor *s) {
        return s->cgroup.unit_mode != CGROUP_UNIT_NONE && s->spec->register_mode != REGISTER_NO;
}

static int clone_child(Supervisor *s, int child_sync, const MountSources *sources, const char *stage,
                       bool *ret_into_cgroup) {
        bool userns = s->userns.lock_fd >= 0;
        ImageMounts no_image = IMAGE_MOUNTS_NULL;
        uint64_t flags = CLONE_PIDFD | (userns ? CLONE_NEWUSER : 0);
        for (size_t i = 0; i < ELEMENTSOF(namespace_table); i++)
                if (!namespace_table[i].only_own_network || s->spec->network.mode != NETWORK_HOST)
                        flags |= (uint64_t) namespace_table[i].flag;

        int pidfd = -EBADF;
        struct clone_args args = {
                .flags = flags | CLONE_INTO_CGROUP,
                .pidfd = (uint64_t) (uintptr_t) &pidfd,
                .exit_signal = SIGCHLD,
                .cgroup = (uint64_t) s->cgroup.payload_fd,
        };
        bool into_cgroup = true;
        OwnerSwitch owner = {};
        int r = userns ? owner_switch_enter(s->userns.base, &owner) : 0;
        if (r < 0) /* nested, without CAP_SETPCAP or the range mapped: root owns it, as before */
                log_debug_errno(r, "Cannot create the user namespace as uid %u (%m): root owns it.",
                                s->userns.base);
        long pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid < 0 && (errno == EINVAL || errno == EOPNOTSUPP || errno == EBUSY || errno == E2BIG)) {
                /* Older kernel or a cgroup we cannot clone into: clone, then attach. */
                args.flags = flags;
                args.cgroup = 0;
                into_cgroup = false;
                pid = syscall(SYS_clone3, &args, sizeof args);
        }
        if (pid != 0) {
                r = pid < 0 ? -errno : 0;
                owner_switch_leave(&owner);
                if (r < 0)
                        return r;
        }
        if (pid == 0) {
                GuestNetwork guest_network;
                network_guest_config(&s->network, &guest_network);
                ChildContext ctx = {
                        .spec = s->spec,
                        .console = s->console,
                        .init_path = s->init_path,
                        .init_kind = s->init_kind,
                        .uuid = s->uuid,
                        .term = s->console == CONSOLE_INTERACTIVE ? getenv("TERM") : NULL,
                        .caps = s->caps,
                        .userns = userns,
                        .root_mountpoint = s->root_mountpoint,
                        /* Under -U the image's mounts go through the outer namespace. */
                        .image = userns ? &no_image : &s->image.mounts,
                        .image_mountpoint = s->image_mountpoint,
                        .stage = stage,
                        .sources = sources,
                        .sync_fd = child_sync,
                        .network = guest_network,
                        .original_mask = s->original_mask,
                        .cgroup = &s->cgroup,
                        .go_first = userns || !into_cgroup,
                        .await_registration = registration_wanted(s),
                };
                child_main(&ctx);
        }
        s->pid = (pid_t) pid;
        s->pidfd = pidfd;
        *ret_into_cgroup = into_cgroup;
        return 0;
}

static void reap_child(Supervisor *s, bool kill_first, int *ret_status) {
        if (s->pidfd < 0)
                return;
        if (kill_first)
                (void) pidfd_send(s->pidfd, SIGKILL);
        siginfo_t si;
        if (pidfd_wait_exited(s->pidfd, &si) >= 0 && ret_status)
                *ret_status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
        s->pidfd = safe_close(s->pidfd);
        s->pid = 0;
}

static void end_guest(Supervisor *s) {
        console_relay_set_master(&s->relay, -EBADF);
        s->master = safe_close(s->master);
        s->notify = safe_close(s->notify);
        supervisor_drop_logins(s);
        for (unsigned i = 0; i < s->n_ttys; i++)
                s->ttys[i].master = safe_close(s->ttys[i].master);
        s->n_ttys = 0;
}

/* systemd-machined learns of the machine, with its init as the leader (again after a reboot: a new
 * one), where systemd made its scope. Sent here, its reply read by register_machine_finish() once
 * the child has set up its tree: the two overlap. */
static int register_machine_send(Supervisor *s) {
        const LaunchSpec *c = s->spec;
        if (!registration_wanted(s))
                return 0;
        if (s->registered)
                (void) machined_unregister(c->machine);
        s->registered = false;
        uint8_t id[16];
        for (size_t i = 0, j = 0; j < 16 && s->uuid[i] && s->uuid[i + 1]; i++) {
                if (s->uuid[i] == '-')
                        continue;
                sscanf(s->uuid + i, "%2hhx", &id[j++]);
                i++;
        }
        int ifindex[1];
        size_t n_ifindex = 0;
        char ifname[IFNAME_MAX + 1];
        veth_host_ifname(c->machine, 0, ifname);
        if (c->network.mode != NETWORK_HOST && c->network.mode != NETWORK_NONE &&
            (ifindex[0] = (int) if_nametoindex(ifname)) > 0)
                n_ifindex = 1;
        MachineRegistration m = { .name = c->machine,
                                  .uuid = id,
                                  .leader = s->pid,
                                  .root_directory = c->rootfs,
                                  .ifindices = ifindex,
                                  .n_ifindices = n_ifindex };
        char err[512];
        int r = machined_register_send(&m, err, sizeof err);
        if (r < 0)
                return log_error_errno(r, "%s", err);
        s->registering = true;
        return 0;
}

static int register_machine_finish(Supervisor *s) {
        const LaunchSpec *c = s->spec;
        if (!s->registering)
                return 0;
        s->registering = false;
        char err[512];
        int r = machined_register_finish(err, sizeof err);
        if (r == -EHOSTDOWN && c->register_mode == REGISTER_AUTO) {
                log_debug("systemd-machined is not on the bus: machine %s is not registered.", c->machine);
                return 0;
        }
        if (r == -EHOSTDOWN)
                return log_error_errno(r,
                                       "--register=yes, but systemd-machined is not on the bus: install and "
                                       "start it (systemd-container), or use --register=no.");
        if (r < 0)
                return log_error_errno(r, "%s", err);
        s->registered = true;
        return 0;
}

/* Start the guest once: clone, the sync steps, and init running. On failure the child has been
 * reaped and the error printed; a positive return is an exit status to pass on (127 from "run"). */
static int start_guest(Supervisor *s) {
        _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };
        SyncMessage m = {};
        bool kill_first = true;
        int r;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return log_error_errno(errno, "Failed to create the sync socket: %m");

        char err[512] = "";
        _cleanup_(mounts_close_sources) MountSources sources = {};
        r = mounts_open_sources(s->spec->mounts, s->spec->n_mounts, &sources, err, sizeof err);
        if (r < 0)
                return log_error_errno(r, "%s: %m", err);
        if (s->spec->image && launch_image_mount(s->spec, &s->image) < 0)
                return -EINVAL; /* logged; the mounts close with the image */
        /* --ephemeral-size=disk: an empty upper layer at each start, as a tmpfs would be. */
        if (s->spec->ephemeral_size && strcmp(s->spec->ephemeral_size, OVERLAY_UPPER_DISK) == 0 &&
            (r = overlays_upper_dir_make(s->spec->machine)) < 0)
                return log_error_errno(r, "Failed to make the overlay's upper directory in %s: %m",
                                       runtime_dir());
        r = machine_cgroup_open_join(&s->cgroup);
        if (r < 0)
                return log_error_errno(r, "Failed to open the machine's cgroup: %m");
        /* -U: the child's mount namespace is made from an outer one (userns-mounts.h). */
        _cleanup_(userns_mounts_done) UsernsMounts outer = USERNS_MOUNTS_NULL;
        bool userns = s->userns.lock_fd >= 0;
        char stage[PATH_MAX] = "";
        if (userns &&
            ((r = machine_path(s->spec->machine, "stage", stage, sizeof stage)) < 0 ||
             (r = userns_mounts_enter(&outer, s->root_mountpoint, stage, s->spec->mounts, &sources,
                                      s->spec->overlays, s->spec->n_overlays, err, sizeof err)) < 0)) {
                machine_cgroup_close_join(&s->cgroup);
                return log_error_errno(r, "%s: %m",
                                       err[0] ? err : "Failed to prepare the machine's mount namespace");
        }
        bool into_cgroup = false;
        r = clone_child(s, pair[1], &sources, userns ? stage : NULL, &into_cgroup);
        int left = userns_mounts_leave(&outer);
        /* The child has its copies; ours would keep the detached trees alive. Under -U the image's
         * mounts wait for launch_userns_dress(). */
        mounts_close_sources(&sources);
        if (!userns || r < 0)
                image_mounts_close(&s->image.mounts);
        machine_cgroup_close_join(&s->cgroup);
        if (r < 0)
                return log_error_errno(r, "Failed to create the container's namespaces: %m");
        log_debug("Launch step: child cloned.");
        pair[1] = safe_close(pair[1]);
        if (left < 0) {
                log_error_errno(left, "Failed to return to the supervisor's mount namespace: %m");
                goto fail;
        }

        if (userns && launch_userns_dress(s, &outer, stage) < 0)
                goto fail;

        r = into_cgroup ? 0 : machine_cgroup_attach_unified(&s->cgroup, s->pid);
        if (r < 0) {
                log_error_errno(r, "Failed to move the container into its cgroup: %m");
                goto fail;
        }
        r = network_attach(&s->network, s->pid, err, sizeof err);
        if (r < 0) {
                log_error_errno(r, "%s: %m", err);
                goto fail;
        }
        systemd_bus_hold(); /* the registration's reply comes on this connection */
        r = register_machine_send(s);
        if (r < 0)
                goto fail;
        log_debug("Launch step: network attached, registration sent.");
        r = sync_send_step(pair[0], SYNC_STEP_CGROUP_READY, NULL, 0);
        if (r < 0) {
                /* It may have failed before it waited for us (joining its cgroup): say why. */
                if (sync_recv(pair[0], &m, NULL, NULL) == 1 && m.step == SYNC_STEP_ERROR) {
                        log_error("Failed to start machine %s: %s", s->spec->machine, m.message);
                        kill_first = false;
                } else
                        log_error_errno(r, "The container child died before it started.");
                goto fail;
        }

        int fds[SYNC_FDS_MAX];
        size_t n_fds = 0;
        r = sync_expect(pair[0], SYNC_STEP_CONSOLE_READY, &m, fds, &n_fds);
        if (r >= 0 && (m.n_ttys > MACHINE_TTYS_MAX || n_fds != 1 + !!m.has_console + (size_t) m.n_ttys)) {
                for (size_t i = 0; i < n_fds; i++)
                        safe_close(fds[i]);
                r = -EBADMSG;
        }
        if (r >= 0) {
                size_t k = 0;
                s->notify = fds[k++];
                s->master = m.has_console ? fds[k++] : -EBADF;
                s->n_ttys = m.n_ttys;
                for (unsigned i = 0; i < m.n_ttys; i++) {
                        s->ttys[i].master = fds[k++];
                        s->ttys[i].pts = m.tty_pts[i];
                        s->ttys[i].client_fd = -EBADF;
                }
                console_relay_set_master(&s->relay, s->master);
                if (registration_wanted(s)) {
                        if (register_machine_finish(s) < 0)
                                goto fail; /* logged; the child waits, nothing of the guest ran */
                        r = sync_send_step(pair[0], SYNC_STEP_REGISTERED, NULL, 0);
                }
                /* A run is short: its connection stays for the unregistration at its end. */
                if (s->spec->kind != LAUNCH_RUN || !s->registered)
                        systemd_bus_release();

                /* Init runs once the child's end closes at execve(); the stub says so explicitly. */
                r = sync_recv(pair[0], &m, NULL, NULL);
                if (r == 1 && m.step == SYNC_STEP_COMMAND_STARTED)
                        r = sync_recv(pair[0], &m, NULL, NULL);
                if (r == 0)
                        return 0;
        }

        if ((r == 1 || r == -EPROTO) && m.step == SYNC_STEP_ERROR) {
                log_error("Failed to start machine %s: %s", s->spec->machine, m.message);
                /* The child _exit()s right after reporting: let it, its status may say more (127). */
                kill_first = false;
        } else
                log_error_errno(r < 0 ? r : EPROTO,
                                "Failed to start machine %s: the container child died "
                                "during setup.",
                                s->spec->machine);
fail : {
        int status = 1;
        reap_child(s, kill_first, &status);
        s->registering = false;
        systemd_bus_release();
        end_guest(s);
        image_mounts_close(&s->image.mounts); /* -U's, if it failed before they were attached */
        return status > 1 && status < 128 ? status : -ECHILD;
}
}

/* "boot -d": the parent waits on a pipe for one byte ("started", or "ready" with --wait-ready) and
 * exits 0; without it, 1. Errors until then reach the caller's stderr from the supervisor itself. */
static int detach(Supervisor *s, bool *ret_parent, int *ret_status) {
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return log_error_errno(errno, "Failed to create a pipe: %m");
        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "Failed to fork: %m");
        if (pid > 0) {
                close(pipefd[1]);
                char c;
                ssize_t k;
                do
                        k = read(pipefd[0], &c, 1);
                while (k < 0 && errno == EINTR);
                close(pipefd[0]);
                *ret_parent = true;
                *ret_status = k == 1 ? 0 : 1;
                /* No byte: the supervisor gave up (and said why) or was killed (and could not). */
                int status;
                if (k != 1 && waitpid(pid, &status, 0) == pid && WIFSIGNALED(status))
                        log_error("The supervisor of %s was killed by %s before the machine was up.",
                                  s->spec->machine, signal_to_string(WTERMSIG(status)));
                return 0;
        }
        close(pipefd[0]);
        (void) setsid();
        s->ready_fd = pipefd[1];
        *ret_parent = false;
        return 0;
}

static int open_console_log(Supervisor *s) {
        char p[4096];
        int r = machine_path(s->spec->machine, "console.log", p, sizeof p);
        if (r < 0)
                return r;
        s->log_fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        return s->log_fd < 0 ? -errno : 0;
}

/* --image=: the directory the child mounts the image on, in the machine's namespace only. */
static int prepare_image_mountpoint(Supervisor *s) {
        int r = machine_path(s->spec->machine, "image", s->image_mountpoint, sizeof s->image_mountpoint);
        if (r >= 0 && mkdir(s->image_mountpoint, 0755) < 0 && errno != EEXIST)
                r = -errno;
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", s->image_mountpoint);
        return 0;
}

/* What a dead supervisor left under this name (its guest died with it): clear it before reuse.
 * Only if it is ours: the parent is shared with systemd's machines and other runtime dirs. */
static int clear_leftovers(MachineCgroup *cg, const char *name) {
        char path[PATH_MAX] = "", why[PATH_MAX] = "";
        /* One that was in another slice or a kept unit (its state file says where) first. */
        MachineCgroup old;
        int r = machine_cgroup_init_dead(&old, name);
        if (r > 0)
                r = machine_clear_leftovers(&old, name, false, path, sizeof path, why, sizeof why);
        machine_cgroup_done(&old);
        if (r >= 0)
                r = machine_clear_leftovers(cg, name, true, path, sizeof path, why, sizeof why);
        if (r == -EEXIST)
                return log_error_errno(r, "Cgroup %s exists and was not made by nspawnlite of %s (%s); %s",
                                       path, runtime_dir(), why, "pick another name or remove it.");
        if (r < 0)
                return log_error_errno(r, "Failed to check who made cgroup %s: %m", cg->scope);
        return 0;
}

/* A forward's DNAT takes the port's connections before any socket of the host sees them: say so
 * when the host serves that port already. */
static void warn_port_listeners(const MachineNetwork *n) {
        if (!n->leased)
                return;
        for (size_t i = 0; i < n->n_ports; i++) {
                const PortForward *p = &n->ports[i];
                char who[128];
                if (port_find_listener(p, who, sizeof who) > 0)
                        log_warning(
                                "Port %s/%u has a listener on the host already (%s): the --port forward of "
                                "machine %s takes its connections over.",
                                port_protocol_to_string(p->protocol), p->host_port, who, n->machine);
        }
}

/* Everything a machine needs before its first start: the -U range, its cgroup, limits, network,
 * control socket, console log, signals and terminal. Logs what failed; the teardown undoes it. */
static int setup_machine(Supervisor *s, bool *ret_mask_blocked) {
        const LaunchSpec *c = s->spec;
        int r = launch_userns_prepare(s);
        if (r < 0)
                return r;
        if (s->userns.lock_fd >= 0 && (r = launch_userns_files(s)) < 0)
                return r;
        if (c->image && (r = prepare_image_mountpoint(s)) < 0)
                return r;

        r = machine_cgroup_init(&s->cgroup, c->machine);
        if (r < 0 && cgroup_parent_error(r))
                log_error("%s", cgroup_parent_error(r));
        else if (r < 0)
                log_error_errno(r, "Failed to find the cgroup hierarchies: %m");
        if (r >= 0 && (r = machine_cgroup_use_systemd(&s->cgroup, c->slice, c->keep_unit, &c->limits)) < 0)
                log_error_errno(r, "Failed to prepare the machine's systemd unit: %m");
        if (r >= 0)
                r = clear_leftovers(&s->cgroup, c->machine);
        if (r < 0) {
                machine_cgroup_done(&s->cgroup); /* nothing of it is ours to remove */
                return r;
        }
        systemd_bus_hold(); /* for the unit and the registration: released once the guest runs */
        r = machine_cgroup_create(&s->cgroup);
        if (r == -EEXIST && s->cgroup.unit_error[0])
                return log_error_errno(r,
                                       "Unit %s exists already: stop it (systemctl stop %s) or choose "
                                       "another name with -M.",
                                       s->cgroup.unit, s->cgroup.unit);
        if (r < 0 && s->cgroup.unit_error[0])
                return log_error_errno(r, "%s", s->cgroup.unit_error);
        if (r < 0)
                return log_error_errno(r, "Failed to create cgroup %s: %m", s->cgroup.payload);
        if (s->cgroup.unit_fallback)
                log_debug_errno(s->cgroup.unit_fallback, "%s (%m): cgroup %s made directly.",
                                s->cgroup.unit_error, s->cgroup.scope);
        log_debug("Launch step: cgroups made.");
        if (s->userns.lock_fd >= 0 && (r = machine_cgroup_delegate(&s->cgroup, s->userns.base)) < 0) {
                log_error_errno(r, "Failed to delegate cgroup %s to the guest's root: %m", s->cgroup.payload);
                return r;
        }
        /* Without a device filter (cgroup v2 without BPF, or inside a container that refuses
         * bpf()), no mknod: a node could reach any device. */
        if (!s->cgroup.devices_restricted)
                log_debug("No device cgroup here: machine %s gets no CAP_MKNOD.", c->machine);
        s->caps = capability_machine_set(c->network.mode != NETWORK_HOST, c->caps_add,
                                         c->caps_drop |
                                                 (s->cgroup.devices_restricted ? 0 : CAP_MASK(CAP_MKNOD)));
        char err[512] = "";
        /* A transient unit got them as its properties. */
        r = s->cgroup.unit_mode == CGROUP_UNIT_TRANSIENT
                    ? 0
                    : supervisor_apply_limits(&s->cgroup, &c->limits, &(Limits){}, "--", err, sizeof err);
        if (r < 0) {
                log_error("%s", err);
                return r;
        }

        r = network_prepare(&s->network, c->machine, &c->network, err, sizeof err);
        if (r < 0) {
                log_error_errno(r, "%s: %m", err);
                return r;
        }
        warn_port_listeners(&s->network);

        r = control_listen(c->machine, &s->control_fd);
        if (r < 0) {
                log_error_errno(r, "Failed to create the control socket of %s: %m", c->machine);
                return r;
        }
        if (c->detach && (r = open_console_log(s)) < 0) {
                log_error_errno(r, "Failed to create the console log of %s: %m", c->machine);
                return r;
        }

        /* Signals arrive through a signalfd; the child restores this mask before exec. */
        sigset_t mask;
        sigemptyset(&mask);
        int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGWINCH };
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                sigaddset(&mask, sigs[i]);
        sigprocmask(SIG_BLOCK, &mask, &s->original_mask);
        *ret_mask_blocked = true;
        s->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (s->signal_fd < 0)
                return log_error_errno(errno, "Failed to create a signalfd: %m");
        (void) prctl(PR_SET_CHILD_SUBREAPER, 1);

        r = console_relay_init(&s->relay, s->console, STDIN_FILENO, c->detach ? s->log_fd : STDOUT_FILENO);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the terminal: %m");
        log_debug("Launch step: machine set up.");
        return 0;
}

/* Start the guest, supervise it until it ends, and again while it reboots. Returns the exit
 * status for the process. */
static int run_machine(Supervisor *s) {
        const LaunchSpec *c = s->spec;
        int status = 1, r;

        for (bool first = true;; first = false) {
                s->stop_requests = 0;
                s->kill_deadline = 0;
                s->killed_by_us = false;
                if (!first && ((r = machine_cgroup_reset_payload(&s->cgroup)) < 0 ||
                               (s->userns.lock_fd >= 0 &&
                                (r = machine_cgroup_delegate(&s->cgroup, s->userns.base)) < 0))) {
                        log_error_errno(r, "Failed to reset cgroup %s for the reboot: %m", s->cgroup.payload);
                        status = 1;
                        break;
                }
                r = start_guest(s);
                if (r != 0) {
                        status = r > 0 ? r : 1;
                        break;
                }
                (void) supervisor_write_state(s, "running");
                if (first && c->console == CONSOLE_INTERACTIVE && s->console == CONSOLE_INTERACTIVE &&
                    c->kind == LAUNCH_BOOT)
                        log_info("Machine %s started. Press Ctrl-] three times within 1 s to kill it.",
                                 c->machine);
                if (first) {
                        /* With --wait-ready, READY=1 or a login prompt releases the caller instead. */
                        if (c->wait_ready && c->kind == LAUNCH_BOOT)
                                s->ready_deadline = now_usec() + c->timeout;
                        else
                                supervisor_report_ready(s);
                }

                GuestEnd end = GUEST_EXITED;
                r = supervisor_run(s, &end, &status);
                log_debug("Launch step: init ended.");
                end_guest(s);
                if (r < 0) {
                        status = 1;
                        break;
                }
                if (end == GUEST_REBOOT && c->kind == LAUNCH_BOOT && !s->stop_requests) {
                        log_info("Machine %s is rebooting.", c->machine);
                        continue;
                }
                if (!s->ready) {
                        /* Gone before it was ready: the caller of boot -d waits to hear why. */
                        if (!s->killed_by_us)
                                log_error("Machine %s ended before it was ready (status %d).", c->machine,
                                          status);
                        status = status ?: 1;
                        break;
                }
                if (end == GUEST_POWEROFF)
                        log_debug("Machine %s powered off.", c->machine);
                else if (s->killed_by_us)
                        log_info("Machine %s was killed.", c->machine);
                break;
        }

        return status;
}

/* Undo whatever setup_machine() did, in the order that leaves nothing behind. */
static void teardown_machine(Supervisor *s, int status, bool mask_blocked) {
        reap_child(s, true, NULL);
        end_guest(s);
        console_relay_done(&s->relay);
        s->control_fd = safe_close(s->control_fd);
        s->signal_fd = safe_close(s->signal_fd);
        if (mask_blocked)
                sigprocmask(SIG_SETMASK, &s->original_mask, NULL);
        /* machined forgets the machine (and a kept unit may live on): left to machined's own
         * clear-up after the unit, the name would still be taken for a moment after we exit, and
         * machined would stop, by name, the unit of the next machine of that name. Sent before we
         * leave the unit, the reply read once the rest is cleared up. */
        bool unregistering = s->registered;
        if (unregistering) {
                systemd_bus_hold();
                unregistering = machined_unregister_send(s->spec->machine) >= 0;
        }
        if (s->cgroup.owned) {
                (void) machine_cgroup_kill_all(&s->cgroup);
                int r = machine_cgroup_destroy(&s->cgroup);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove cgroup %s: %m", strempty(s->cgroup.scope));
                log_debug("Teardown step: cgroups removed.");
        }
        machine_cgroup_watch_stop(&s->freeze_watch_fd); /* the machine is gone: the watcher too */
        machine_cgroup_done(&s->cgroup);
        network_release(&s->network);
        log_debug("Teardown step: network released.");
        s->log_fd = safe_close(s->log_fd);
        s->pin_fd = safe_close(s->pin_fd);
        launch_image_done(&s->image);
        userns_release(&s->userns);
        overlays_cleanup(s->spec->overlays, s->spec->n_overlays);
        if (s->lock.dir) /* the name is ours: so is its upper directory (--ephemeral-size=disk) */
                (void) overlays_upper_dir_remove(s->spec->machine);
        if (unregistering)
                (void) machined_unregister_finish();
        systemd_scope_unwatch(); /* the scope is gone: systemd has nothing more to ask */
        systemd_bus_release();
        machine_lock_release(&s->lock); /* the name is free from here on, machined's too */
        log_debug("Teardown step: state removed.");
        /* Last: whoever waits for the end (poweroff, terminate) finds everything cleared up. */
        supervisor_end_clients(s, status);
        s->ready_fd = safe_close(s->ready_fd);
}

int launch_machine(const LaunchSpec *c) {
        Supervisor s = {
                .spec = c,
                .limits = c->limits,
                .signal_fd = -EBADF,
                .control_fd = -EBADF,
                .pin_fd = -EBADF,
                .log_fd = -EBADF,
                .ready_fd = -EBADF,
                .pidfd = -EBADF,
                .master = -EBADF,
                .notify = -EBADF,
                .lock = { .lock_fd = -EBADF },
                .cgroup = { .payload_fd = -EBADF },
                .freeze_watch_fd = -EBADF,
                .userns = { .lock_fd = -EBADF },
                .image = LAUNCH_IMAGE_NULL,
        };
        int status = 1, r;
        bool mask_blocked = false;

        if (preflight(&s) < 0) {
                launch_image_done(&s.image);
                return 1;
        }

        s.console = c->detach ? CONSOLE_READ_ONLY : console_mode_resolve(c->console, c->kind == LAUNCH_RUN);
        if (read_uuid(s.uuid) < 0) {
                launch_image_done(&s.image);
                return log_error("Failed to generate a machine UUID."), 1;
        }

        if (c->detach) {
                bool parent = false;
                if (detach(&s, &parent, &status) < 0 || parent) {
                        launch_image_done(&s.image); /* the daemon holds the lock on */
                        return parent ? status : 1;
                }
        }

        log_debug("Launch step: starting machine %s.", c->machine);
        r = machine_lock_acquire(c->machine, &s.lock);
        if (r == -EBUSY) {
                log_error("Machine %s is already running; choose another name with -M.", c->machine);
                launch_image_done(&s.image);
                return 1; /* not ours to release */
        }
        if (r < 0) {
                log_error_errno(r, "Failed to lock machine name %s in %s: %m", c->machine, runtime_dir());
                launch_image_done(&s.image);
                return 1;
        }

        log_debug("Launch step: name locked.");

        /* Unmounting its own root makes the kernel remount the filesystem beneath read-only
         * (do_umount_root), and without user namespaces that is the host's filesystem. A file
         * open for writing on it makes such a remount fail with EBUSY. Unnamed, it leaves no trace;
         * a filesystem that cannot have one is read-only or special, and needs no guard. */
        if (!c->image) /* an image's filesystem is the machine's alone */
                s.pin_fd = open(c->rootfs, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        for (unsigned i = 0; i < MACHINE_TTYS_MAX; i++)
                s.ttys[i].master = s.ttys[i].client_fd = -EBADF;

        if (setup_machine(&s, &mask_blocked) >= 0) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                s.since_usec = (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
                status = run_machine(&s);
        }
        teardown_machine(&s, status, mask_blocked);
        return status;
}
