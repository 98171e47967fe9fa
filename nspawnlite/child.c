/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "machines/images/image-mount.h"
#include "machines/passwd.h"
#include "network/netlink.h"
#include "nspawnlite/caps.h"
#include "nspawnlite/dev.h"
#include "nspawnlite/environ.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/strv.h"
#include "nspawnlite/mounts.h"
#include "nspawnlite/overlays.h"
#include "nspawnlite/basic/path-util.h"
#include "nspawnlite/basic/proc-title.h"
#include "nspawnlite/seccomp.h"
#include "nspawnlite/sync.h"
#include "nspawnlite/userns-mounts.h"

#define FAIL(stage, r, ...)                                                      \
        do {                                                                     \
                (void) sync_send_error(ctx->sync_fd, (stage), (r), __VA_ARGS__); \
                _exit(EXIT_FAILURE);                                             \
        } while (0)

static void reset_signals(const sigset_t *mask) {
        struct sigaction sa = { .sa_handler = SIG_DFL };
        for (int s = 1; s < _NSIG; s++)
                if (s != SIGKILL && s != SIGSTOP)
                        (void) sigaction(s, &sa, NULL);
        (void) sigprocmask(SIG_SETMASK, mask, NULL);
}

/* Files under /run/host that tell the guest who runs it. */
static int setup_run_host(int rootfd, const ChildContext *ctx, char *err, size_t errlen) {
        _cleanup_close_ int dir = -EBADF;
        int r = mkdir_p_in_root(rootfd, "/run/host", 0755, &dir);
        if (r < 0) {
                snprintf(err, errlen, "Failed to create /run/host");
                return r;
        }
        _cleanup_close_ int d = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d < 0)
                return -errno;
        const struct {
                const char *name;
                const char *content;
        } files[] = {
                { "container-manager", "nspawnlite\n" },
                { "container-uuid", ctx->uuid },
        };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_close_ int fd =
                        openat(d, files[i].name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
                if (fd < 0 || loop_write(fd, files[i].content, strlen(files[i].content)) < 0 ||
                    (i == 1 && loop_write(fd, "\n", 1) < 0)) {
                        snprintf(err, errlen, "Failed to write /run/host/%s", files[i].name);
                        return -errno;
                }
        }

        /* The host's os-release, read-only; under -U from the stage, where it was made so from
         * outside (the flag comes locked). */
        const char *host_os = mounts_host_os_release();
        char staged[PATH_MAX];
        if (host_os && ctx->stage) {
                snprintf(staged, sizeof staged, "%s/" USERNS_STAGE_OS_RELEASE, ctx->stage);
                host_os = staged;
        }
        if (host_os) {
                _cleanup_close_ int fd =
                        openat(d, "os-release", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
                if (fd < 0) {
                        snprintf(err, errlen, "Failed to create /run/host/os-release");
                        return -errno;
                }
                /* Named through the directory, so the remount finds the new mount, not the file
                 * beneath it. */
                char target[64];
                snprintf(target, sizeof target, "/proc/self/fd/%d/os-release", d);
                if (mount(host_os, target, NULL, MS_BIND, NULL) < 0 ||
                    mount(NULL, target, NULL,
                          MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
                        snprintf(err, errlen, "Failed to mount /run/host/os-release");
                        return -errno;
                }
        }
        return 0;
}

/* The guest may send READY=1 and STATUS= here; the supervisor reads it. */
static int make_notify_socket(int rootfd, int *ret) {
        _cleanup_close_ int dir = -EBADF;
        int r = chase_in_root(rootfd, "/run/host", O_PATH | O_DIRECTORY, &dir);
        if (r < 0)
                return r;
        _cleanup_close_ int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s < 0)
                return -errno;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/notify", dir);
        if (bind(s, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        int one = 1;
        (void) setsockopt(s, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
        *ret = TAKE_FD(s);
        return 0;
}

/* /dev/console: a pty of the machine's own devpts; the master goes to the supervisor. */
static int make_console(int rootfd, int *ret_master, int *ret_slave) {
        _cleanup_close_ int ptmx = -EBADF;
        int r = chase_in_root(rootfd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY, &ptmx);
        if (r < 0)
                return r;
        if (unlockpt(ptmx) < 0)
                return -errno;
        _cleanup_close_ int slave = ioctl(ptmx, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return -errno;
        if (fchmod(slave, 0600) < 0 || fchown(slave, 0, 0) < 0)
                return -errno;

        _cleanup_close_ int target = -EBADF;
        r = mount_target_in_root(rootfd, "/dev/console", false, &target);
        if (r < 0)
                return r;
        if (mount(fd_path(slave).path, fd_path(target).path, NULL, MS_BIND, NULL) < 0)
                return -errno;
        *ret_master = TAKE_FD(ptmx);
        *ret_slave = TAKE_FD(slave);
        return 0;
}

/* A login tty: another pty of the machine's devpts, bound on /dev/ttyN for inittab-style gettys and
 * named in container_ttys for systemd's. The master goes to the supervisor for "login". */
static int make_tty(int rootfd, unsigned index, int *ret_master, unsigned *ret_pts) {
        _cleanup_close_ int ptmx = -EBADF, slave = -EBADF, target = -EBADF;
        int r = chase_in_root(rootfd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY, &ptmx);
        if (r < 0)
                return r;
        unsigned pts;
        if (unlockpt(ptmx) < 0 || ioctl(ptmx, TIOCGPTN, &pts) < 0)
                return -errno;
        slave = ioctl(ptmx, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return -errno;
        char path[32];
        snprintf(path, sizeof path, "/dev/tty%u", index);
        r = mount_target_in_root(rootfd, path, false, &target);
        if (r < 0)
                return r;
        if (mount(fd_path(slave).path, fd_path(target).path, NULL, MS_BIND, NULL) < 0)
                return -errno;
        *ret_master = TAKE_FD(ptmx);
        *ret_pts = pts;
        return 0;
}

static int do_pivot_root(int rootfd) {
        if (fchdir(rootfd) < 0)
                return -errno;
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return -errno;
        /* The old root is now stacked on top of the new one: detach it. */
        if (umount2(".", MNT_DETACH) < 0)
                return -errno;
        if (chdir("/") < 0)
                return -errno;
        return 0;
}

/* PID 1 gets the console as stdio in a session of its own, but not as its controlling terminal:
 * a getty on the console must be able to take it, and taking it from another session needs
 * CAP_SYS_ADMIN in the host's user namespace, which a -U guest does not have. */
static int console_stdio(int slave) {
        if (setsid() < 0)
                return -errno;
        for (int i = 0; i < 3; i++)
                if (dup2(slave, i) < 0)
                        return -errno;
        return 0;
}

/* --image=: the supervisor mounted it, detached (we may not open loop devices: on cgroup v2 the
 * device program applies from clone3() on); we attach it in the machine's namespace only (slave:
 * nothing goes back to the host). The loop devices go with the last of these mounts (autoclear).
 * Here the root; its other partitions once the root has its layers (child_mount_image_parts()). */
static void child_mount_image(const ChildContext *ctx) {
        if (ctx->image->fd[IMAGE_PART_ROOT] < 0)
                return;
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                FAIL(CHILD_STAGE_MOUNTS, errno, "Failed to make the mount tree a slave: %m");
        char err[256] = "";
        int r = image_mounts_attach_root(ctx->image, ctx->image_mountpoint, err, sizeof err);
        if (r < 0)
                FAIL(CHILD_STAGE_MOUNTS, r, "%s: %m", err);
}

static void child_mount_image_parts(const ChildContext *ctx, int rootfd, RootMode mode,
                                    const char *upper_size) {
        if (!ctx->spec->image)
                return;
        char err[256] = "";
        int r = overlays_image_parts(ctx->image, rootfd, mode, upper_size, err, sizeof err);
        if (r < 0)
                FAIL(CHILD_STAGE_MOUNTS, r, "%s: %m", err);
}

/* The supervisor's go: we are in our cgroup everywhere, -U's ids are mapped, host0 is here. Read
 * once, at the first step that needs it (its messages come in the order it sent them). */
static void child_wait_go(const ChildContext *ctx) {
        static bool received; /* the child is one thread */
        SyncMessage m;
        if (received)
                return;
        if (sync_expect(ctx->sync_fd, SYNC_STEP_CGROUP_READY, &m, NULL, NULL) < 0)
                _exit(EXIT_FAILURE); /* the supervisor is gone or confused: nothing to tell */
        received = true;
}

/* The first steps, in the new namespaces: into the machine's cgroup in every hierarchy, holding
 * nothing of the supervisor's, as the namespace's root, in a cgroup namespace of our own. */
static void child_enter(const ChildContext *ctx) {
        /* Die with the supervisor; it holds our other end of everything. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        child_mount_image(ctx);

        /* clone3() put us in the unified payload; the v1 hierarchies we join ourselves, while we
         * are one thread (the cheap way, see machine_cgroup_join_self()). */
        int r = machine_cgroup_join_self(ctx->cgroup);
        if (r < 0)
                FAIL(CHILD_STAGE_CGROUP, -r, "Failed to join the machine's cgroup: %m");

        /* Everything else the supervisor had open is not ours: its name lock, its end of the sync
         * socket, its ready pipe and control socket would keep a dead supervisor's machine looking
         * alive (and, if it died before the line above, would hide that: with its end closed here,
         * the wait below sees EOF). */
        int keep[SYNC_FDS_MAX + 64];
        size_t n_keep = 0;
        keep[n_keep++] = ctx->sync_fd;
        for (size_t i = 0; i < ctx->sources->n && n_keep < ELEMENTSOF(keep); i++)
                if (ctx->sources->fds[i] >= 0)
                        keep[n_keep++] = ctx->sources->fds[i];
        /* The image's partitions: attached once the root has its layers (child_open_root()). */
        for (size_t k = 0; k < _IMAGE_PART_MAX && n_keep < ELEMENTSOF(keep); k++)
                if (ctx->image->fd[k] >= 0)
                        keep[n_keep++] = ctx->image->fd[k];
        if (close_all_fds_except(keep, n_keep) < 0)
                _exit(EXIT_FAILURE);

        if (ctx->go_first)
                child_wait_go(ctx);

        if (ctx->userns) {
                /* Our ids are mapped now: become the namespace's root (the host's range base). */
                if (setresgid(0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setresuid(0, 0, 0) < 0)
                        FAIL(CHILD_STAGE_NAMESPACES, errno,
                             "Failed to become root in the user namespace: %m");
        }

        /* Only now, inside payload in every hierarchy, so that the guest sees its cgroup as "/". */
        if (unshare(CLONE_NEWCGROUP) < 0)
                FAIL(CHILD_STAGE_NAMESPACES, errno, "Failed to create a cgroup namespace: %m");
}

/* The tree, bound onto itself where the child can still see the host: returns an O_PATH fd of it,
 * and its path in ret_root. */
static int child_open_root(const ChildContext *ctx, const char **ret_root) {
        /* Nothing we mount may propagate back to the host. */
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                FAIL(CHILD_STAGE_MOUNTS, errno, "Failed to make the mount tree a slave: %m");
        /* pivot_root() wants the new root to be a mount point, and one that is not locked: the tree
         * bound onto itself. Under -U the tree is the one the supervisor put on a directory of the
         * runtime dir (the tree's own path may lie below directories our unprivileged root cannot
         * enter), with /proc and /sys on it: locked, and so they stay in this copy. */
        const char *root = ctx->userns ? ctx->root_mountpoint : ctx->spec->rootfs;
        if (ctx->spec->image && !ctx->userns)
                root = ctx->image_mountpoint; /* mounted by child_mount_image() */
        if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
                FAIL(CHILD_STAGE_MOUNTS, errno, "Failed to bind mount %s: %m", root);
        /* No more propagation (under -U, from the supervisor's outer mount namespace). */
        if (mount(NULL, root, NULL, MS_PRIVATE | (ctx->userns ? MS_REC : 0), NULL) < 0)
                FAIL(CHILD_STAGE_MOUNTS, errno, "Failed to make %s private: %m", root);
        char err[256] = "";
        /* Under -U the supervisor's helper stacked the layers already (userns-mounts.h). */
        RootMode mode = ctx->userns ? ROOT_TREE : ctx->spec->root_mode;
        const char *size = ctx->spec->ephemeral_size;
        bool disk = size && strcmp(size, OVERLAY_UPPER_DISK) == 0;
        char upper[PATH_MAX];
        if (disk && overlays_upper_dir(ctx->spec->machine, upper, sizeof upper) < 0)
                FAIL(CHILD_STAGE_MOUNTS, ENAMETOOLONG, "Failed to name the overlay's upper directory");
        const char *upper_size = size && *size && !disk ? size : ctx->spec->tmpfs_size;
        int r = overlays_prepare_root(mode, root, upper_size, disk ? upper : NULL, err, sizeof err);
        if (r < 0)
                FAIL(CHILD_STAGE_MOUNTS, r, "%s: %m", err);
        int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                FAIL(CHILD_STAGE_MOUNTS, errno, "Failed to open %s: %m", root);
        child_mount_image_parts(ctx, rootfd, mode, upper_size);
        *ret_root = root;
        return rootfd;
}

/* What the tree's setup leaves for the rest of the child: the console's pty slave (-EBADF in pipe
 * mode) and the ttys' names for container_ttys. */
typedef struct {
        int slave;
        char ttys[MACHINE_TTYS_MAX * 12];
} ChildTerminals;

/* Everything under the new root while the host is still in sight: the API filesystems, /dev,
 * /run/host, the console and ttys (their masters go to the supervisor), the extra mounts. */
static void child_setup_tree(const ChildContext *ctx, int rootfd, const char *root, ChildTerminals *ret) {
        const LaunchSpec *c = ctx->spec;
        char err[256] = "";
        MountTableArgs table = {
                .phase = ctx->userns ? MOUNT_PHASE_INNER : MOUNT_PHASE_ALL,
                .own_netns = c->network.mode != NETWORK_HOST,
                .inaccessible = -EBADF,
                .tmpfs_size = c->tmpfs_size,
        };
        int r = mounts_apply_table(rootfd, &table, err, sizeof err);
        if (r < 0)
                FAIL(CHILD_STAGE_MOUNTS, r, "%s: %m", err);
        log_debug("Launch step: API filesystems mounted.");

        r = dev_populate(rootfd, ctx->userns, err, sizeof err);
        if (r < 0)
                FAIL(CHILD_STAGE_DEVICES, r, "%s: %m", err);
        log_debug("Launch step: /dev populated.");

        r = setup_run_host(rootfd, ctx, err, sizeof err);
        if (r < 0)
                FAIL(CHILD_STAGE_MOUNTS, r, "%s: %m", err);

        _cleanup_close_ int notify = -EBADF, master = -EBADF, slave = -EBADF;
        r = make_notify_socket(rootfd, &notify);
        if (r < 0)
                FAIL(CHILD_STAGE_CONSOLE, r, "Failed to create the notify socket: %m");
        if (ctx->console != CONSOLE_PIPE) {
                r = make_console(rootfd, &master, &slave);
                if (r < 0)
                        FAIL(CHILD_STAGE_CONSOLE, r, "Failed to set up /dev/console: %m");
        }

        int tty_masters[MACHINE_TTYS_MAX];
        SyncMessage ready = { .step = SYNC_STEP_CONSOLE_READY, .has_console = master >= 0 };
        for (unsigned i = 0; i < c->ttys; i++) {
                r = make_tty(rootfd, i + 1, &tty_masters[i], &ready.tty_pts[i]);
                if (r < 0)
                        FAIL(CHILD_STAGE_CONSOLE, r, "Failed to set up /dev/tty%u: %m", i + 1);
                ready.n_ttys++;
        }

        char staged[PATH_MAX], staged_ovl[PATH_MAX];
        if (ctx->stage) {
                snprintf(staged, sizeof staged, "%s/" USERNS_STAGE_BIND, ctx->stage);
                snprintf(staged_ovl, sizeof staged_ovl, "%s/" USERNS_STAGE_OVERLAY, ctx->stage);
        }
        r = mounts_apply_custom(rootfd, c->mounts, c->n_mounts, ctx->sources, ctx->stage ? staged : NULL,
                                c->tmpfs_size, err, sizeof err);
        if (r < 0)
                FAIL(CHILD_STAGE_CUSTOM_MOUNTS, r, "%s: %m", err);
        r = overlays_apply_custom(rootfd, c->overlays, c->n_overlays, ctx->stage ? staged_ovl : NULL, err,
                                  sizeof err);
        if (r < 0)
                FAIL(CHILD_STAGE_CUSTOM_MOUNTS, r, "%s: %m", err);

        /* Under -U the tree came read-only, locked so (userns-mounts.h). */
        if (c->read_only && !ctx->userns) {
                r = mount_remount_read_only(root);
                if (r < 0)
                        FAIL(CHILD_STAGE_MOUNTS, r, "Failed to make the root directory read-only: %m");
        }

        int fds[SYNC_FDS_MAX];
        size_t n_fds = 0;
        fds[n_fds++] = notify;
        if (master >= 0)
                fds[n_fds++] = master;
        for (unsigned i = 0; i < ready.n_ttys; i++)
                fds[n_fds++] = tty_masters[i];
        r = sync_send(ctx->sync_fd, &ready, fds, n_fds);
        if (r < 0)
                _exit(EXIT_FAILURE);
        /* Nothing of the guest runs before machined has the machine (or its supervisor gave up);
         * the supervisor's go came before that. */
        SyncMessage m;
        if (ctx->await_registration)
                child_wait_go(ctx);
        if (ctx->await_registration && sync_expect(ctx->sync_fd, SYNC_STEP_REGISTERED, &m, NULL, NULL) < 0)
                _exit(EXIT_FAILURE);
        notify = safe_close(notify);
        master = safe_close(master);
        for (unsigned i = 0; i < ready.n_ttys; i++)
                safe_close(tty_masters[i]);

        /* systemd starts container-getty@ on each of these. */
        *ret = (ChildTerminals){ .slave = TAKE_FD(slave) };
        for (unsigned i = 0; i < ready.n_ttys; i++)
                snprintf(ret->ttys + strlen(ret->ttys), sizeof ret->ttys - strlen(ret->ttys), "%spts/%u",
                         i ? " " : "", ready.tty_pts[i]);
}

/* run --user=, --chdir=: the user from the guest's own /etc/passwd (never the host's NSS), and the
 * working directory, which PID 1 takes on so that the command inherits it. */
static void child_run_identity(const ChildContext *ctx, GuestUser *ret_user) {
        const LaunchSpec *c = ctx->spec;
        int r;

        if (c->kind != LAUNCH_RUN)
                return;
        if (c->user) {
                _cleanup_free_ char *passwd = NULL;
                r = read_file_at(AT_FDCWD, "/etc/passwd", 4 * 1024 * 1024, &passwd);
                if (r < 0 && r != -ENOENT)
                        FAIL(CHILD_STAGE_EXEC, r, "Failed to read the guest's /etc/passwd: %m");
                r = passwd_find(passwd ?: "", c->user, ret_user);
                if (r < 0)
                        FAIL(CHILD_STAGE_EXEC, r,
                             "User %s is not in the guest's /etc/passwd; give a user it lists, or a uid.",
                             c->user);
        }
        const char *dir = c->chdir ?: c->user ? ret_user->home : NULL;
        if (dir && chdir(dir) < 0) {
                if (c->chdir)
                        FAIL(CHILD_STAGE_EXEC, errno, "Cannot change to directory %s in the guest: %m", dir);
                (void) chdir("/"); /* a user without a home starts in /, as login does */
        }
}

/* The last steps before init: no way back to the host's keys, capabilities or syscalls, and
 * nothing of ours left open for it. */
static void child_lock_down(const ChildContext *ctx) {
        const LaunchSpec *c = ctx->spec;
        int r = keyring_new_session();
        if (r < 0 && !keyring_unavailable(r)) /* the supervisor said so at debug level */
                FAIL(CHILD_STAGE_CAPABILITIES, r, "Failed to join a new session keyring: %m");

        r = capability_apply_bounding(ctx->caps);
        if (r < 0)
                FAIL(CHILD_STAGE_CAPABILITIES, r, "Failed to drop capabilities: %m");

        if (c->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                FAIL(CHILD_STAGE_CAPABILITIES, errno, "Failed to set no_new_privs: %m");

        r = seccomp_load_machine_filter(c->no_new_privileges);
        if (r < 0)
                FAIL(CHILD_STAGE_SECCOMP, r, "Failed to load the seccomp filter: %m");

        /* Nothing of ours but stdio may reach the guest. The sync socket is CLOEXEC too: its closing
         * at execve() tells the supervisor that init runs. */
        r = fd_cloexec_from_three();
        if (r < 0)
                FAIL(CHILD_STAGE_EXEC, r, "Failed to mark file descriptors close-on-exec: %m");

        reset_signals(&ctx->original_mask);
}

_noreturn_ void child_main(const ChildContext *ctx) {
        const LaunchSpec *c = ctx->spec;
        int r;

        child_enter(ctx);
        log_debug("Launch step: child in its cgroups and namespaces.");
        const char *root;
        _cleanup_close_ int rootfd = child_open_root(ctx, &root);
        log_debug("Launch step: root bound.");
        ChildTerminals t;
        child_setup_tree(ctx, rootfd, root, &t);
        log_debug("Launch step: run/host, console and ttys made.");
        _cleanup_close_ int slave = t.slave;

        r = do_pivot_root(rootfd);
        if (r < 0)
                FAIL(CHILD_STAGE_PIVOT, r, "Failed to switch to the new root: %m");
        rootfd = safe_close(rootfd);
        log_debug("Launch step: pivoted.");

        if (sethostname(c->hostname, strlen(c->hostname)) < 0)
                FAIL(CHILD_STAGE_HOSTNAME, errno, "Failed to set the hostname: %m");
        child_wait_go(ctx); /* read already, unless the tree was set up meanwhile */

        if (c->network.mode != NETWORK_HOST) {
                r = netlink_link_up("lo");
                if (r < 0)
                        FAIL(CHILD_STAGE_NETWORK, r, "Failed to bring up the loopback interface: %m");
                /* Address and route before init starts, so any init finds the network up. */
                r = network_configure_guest(&ctx->network);
                if (r < 0)
                        FAIL(CHILD_STAGE_NETWORK, r, "Failed to configure host0: %m");
        }

        if (slave >= 0) {
                /* Opened by its name, so the guest sees its stdio as /dev/console. */
                _cleanup_close_ int console = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (console < 0)
                        FAIL(CHILD_STAGE_CONSOLE, errno, "Failed to open /dev/console: %m");
                slave = safe_close(slave);
                r = console_stdio(console);
                if (r < 0)
                        FAIL(CHILD_STAGE_CONSOLE, r,
                             "Failed to make /dev/console the standard I/O of init: %m");
        } else if (setsid() < 0)
                /* --console=pipe: a session of its own all the same, so that /dev/tty is not the
                 * caller's terminal and the guest cannot push input into it. */
                FAIL(CHILD_STAGE_CONSOLE, errno, "Failed to start a session: %m");

        GuestUser user;
        child_run_identity(ctx, &user);

        _cleanup_strv_free_ char **envp = NULL;
        GuestEnvironment ge = {
                .uuid = ctx->uuid,
                .term = ctx->term,
                .init_kind = ctx->init_kind,
                .setenv = c->setenv,
                .ttys = t.ttys[0] ? t.ttys : NULL,
                .user = c->user ? &user : NULL,
        };
        r = guest_environment_build(&ge, &envp);
        if (r < 0)
                FAIL(CHILD_STAGE_EXEC, r, "Failed to build the environment: %m");

        log_debug("Launch step: hostname, network and console set.");
        child_lock_down(ctx);
        log_debug("Launch step: capabilities and seccomp applied.");

        if (c->kind == LAUNCH_RUN) {
                /* The stub never calls execve(), so close-on-exec protects nothing: close every fd
                 * but stdio and the sync socket (moved to 3) for real. */
                int sync_fd = ctx->sync_fd;
                if (sync_fd != 3) {
                        if (dup3(sync_fd, 3, O_CLOEXEC) < 0)
                                FAIL(CHILD_STAGE_EXEC, errno, "Failed to move the sync socket: %m");
                        sync_fd = 3;
                }
                if (close_range(4, ~0U, 0) < 0)
                        _exit(EXIT_FAILURE);
                proc_title_set("nspawnlite-stub-init");
                /* Nor may its environment show the caller's (/proc/1/environ): the command gets envp. */
                for (char **e = environ; e && *e; e++)
                        explicit_bzero(*e, strlen(*e));
                /* The stub keeps running our code without an execve() to trim its sets. */
                r = capability_drop_permitted(ctx->caps);
                if (r < 0) {
                        (void) sync_send_error(sync_fd, CHILD_STAGE_CAPABILITIES, r,
                                               "Failed to drop capabilities: %m");
                        _exit(EXIT_FAILURE);
                }
                stub_init_main(c->args, envp, c->user ? &user : NULL, sync_fd, ctx->console != CONSOLE_PIPE);
        }

        /* argv[0] as the init was found; INIT-ARGS follow. */
        size_t n = (size_t) strv_length(c->args);
        char **argv = calloc(n + 2, sizeof(char *));
        if (!argv)
                FAIL(CHILD_STAGE_EXEC, ENOMEM, "Out of memory");
        argv[0] = (char *) ctx->init_path;
        for (size_t i = 0; i < n; i++)
                argv[i + 1] = c->args[i];

        execve(ctx->init_path, argv, envp);
        FAIL(CHILD_STAGE_EXEC, errno, "Failed to execute %s: %m", ctx->init_path);
}
