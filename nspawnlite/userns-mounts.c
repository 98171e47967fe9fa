/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/userns-mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/mounts.h"
#include "nspawnlite/overlays.h"
#include "nspawnlite/basic/process-util.h"

static int make_mountpoint(const char *p, bool dir) {
        if (dir)
                return mkdir(p, 0755) < 0 ? -errno : 0;
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        return fd < 0 ? -errno : 0;
}

/* The host's mounts the guest gets, attached on a tmpfs at the stage with the flags the guest must
 * keep: the clone copies them into the child's namespace with those flags locked. */
static int stage_host_mounts(const char *stage, const CustomMount *m, const MountSources *src,
                             const CustomOverlay *o, size_t n_overlays, char *err, size_t errlen) {
        char p[PATH_MAX];
        if (mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k") < 0) {
                int r = -errno;
                snprintf(err, errlen, "Failed to mount a tmpfs on %s", stage);
                return r;
        }
        static const char *const dirs[] = { USERNS_STAGE_BIND, USERNS_STAGE_TREE, USERNS_STAGE_OVERLAY };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                snprintf(p, sizeof p, "%s/%s", stage, dirs[i]);
                int r = make_mountpoint(p, true);
                if (r < 0) {
                        snprintf(err, errlen, "Failed to create %s", p);
                        return r;
                }
        }
        for (size_t i = 0; i < src->n; i++) {
                if (src->fds[i] < 0)
                        continue;
                struct stat st;
                snprintf(p, sizeof p, "%s/" USERNS_STAGE_BIND "/%zu", stage, i);
                int r = fstat(src->fds[i], &st) < 0 ? -errno : make_mountpoint(p, S_ISDIR(st.st_mode));
                if (r >= 0 && move_mount(src->fds[i], "", AT_FDCWD, p, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        r = -errno;
                if (r < 0) {
                        snprintf(err, errlen, "Failed to bind mount %s on %s", m[i].source, m[i].dest);
                        return r;
                }
        }
        /* The custom overlays, mounted here by the host's root: their layers are the host's. */
        snprintf(p, sizeof p, "%s/" USERNS_STAGE_OVERLAY, stage);
        int r = overlays_stage_custom(p, o, n_overlays, err, errlen);
        if (r < 0)
                return r;
        const char *os = mounts_host_os_release();
        if (!os)
                return 0;
        snprintf(p, sizeof p, "%s/" USERNS_STAGE_OS_RELEASE, stage);
        r = make_mountpoint(p, false);
        unsigned long ro = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
        if (r >= 0 && (mount(os, p, NULL, MS_BIND, NULL) < 0 || mount(NULL, p, NULL, ro, NULL) < 0))
                r = -errno;
        if (r < 0)
                snprintf(err, errlen, "Failed to mount /run/host/os-release");
        return r;
}

int userns_mounts_enter(UsernsMounts *u, const char *mountpoint, const char *stage, const CustomMount *m,
                        const MountSources *src, const CustomOverlay *o, size_t n_overlays, char *err,
                        size_t errlen) {
        *u = USERNS_MOUNTS_NULL;
        u->orig_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
        u->cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        /* Every failure fills err: the caller prints it with nothing else. */
        if (u->orig_fd < 0 || u->cwd_fd < 0 || unshare(CLONE_NEWNS) < 0) {
                int r = -errno;
                snprintf(err, errlen, "Failed to prepare the machine's mount namespace");
                (void) userns_mounts_leave(u);
                return r;
        }
        int r = 0;
        /* Nothing of ours may reach the host; the mount point is shared, for the child's copy. */
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
            mount(mountpoint, mountpoint, NULL, MS_BIND, NULL) < 0 ||
            mount(NULL, mountpoint, NULL, MS_SHARED, NULL) < 0) {
                r = -errno;
                snprintf(err, errlen, "Failed to prepare the machine's mount namespace");
        }
        if (r >= 0)
                r = stage_host_mounts(stage, m, src, o, n_overlays, err, errlen);
        if (r >= 0 && (u->outer_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC)) < 0) {
                r = -errno;
                snprintf(err, errlen, "Failed to open the machine's outer mount namespace");
        }
        if (r < 0)
                (void) userns_mounts_leave(u);
        return r;
}

int userns_mounts_leave(UsernsMounts *u) {
        int r = 0;
        if (u->orig_fd >= 0 && (setns(u->orig_fd, CLONE_NEWNS) < 0 || fchdir(u->cwd_fd) < 0))
                r = -errno;
        u->orig_fd = safe_close(u->orig_fd);
        u->cwd_fd = safe_close(u->cwd_fd);
        return r;
}

/* What failed, for userns_mounts_apply(): the errno, then the message. */
static void report(int fd, int e, const char *what) {
        (void) !write(fd, &e, sizeof e);
        (void) !write(fd, what, strlen(what));
}

/* --ephemeral, --volatile=: the layers go on the (idmapped or chowned) tree here, as the host's
 * root, so that what the guest must not change (the read-only /usr, the read-only tree) reaches it
 * with its flags locked. The tmpfs mounts take the owner of the tree's root: the guest's root. */
static int dress_root(const UsernsStage *st, const char *stage, char *err, size_t errlen) {
        int r = overlays_prepare_root(st->root_mode, stage, st->upper_size, st->upper_dir, err, errlen);
        if (r < 0)
                return r;
        /* The tree went read-only above; a new root on top of it (--ephemeral --read-only) too. */
        if (st->read_only && (st->root_mode == ROOT_OVERLAY || st->root_mode == ROOT_VOLATILE) &&
            (r = mount_remount_read_only(stage)) < 0)
                snprintf(err, errlen, "Failed to make the root directory read-only");
        return r;
}

/* The tree (read-only with --read-only) on the stage. */
static int attach_tree(const UsernsStage *st, const char *stage, char *err, size_t errlen) {
        struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
        if (st->read_only && mount_setattr(st->tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &ro, sizeof ro) < 0) {
                snprintf(err, errlen, "Failed to make the root directory read-only");
                return -errno;
        }
        if (move_mount(st->tree, "", AT_FDCWD, stage, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
                snprintf(err, errlen, "Failed to mount the tree on %s", stage);
                return -errno;
        }
        return 0;
}

/* In the outer mount namespace and the guest's PID namespace: the tree on the stage, /proc, its
 * masks, /sys and the guest's tmpfs mounts on it, then all of it moved onto the mount point at
 * once. Only mounts that come inside a propagated tree are locked (not the tree's own root): one
 * mount at a time, the masks would reach the guest unlocked. */
_noreturn_ static void outer_mounts(const UsernsStage *st, int errfd) {
        char err[256] = "", stage[PATH_MAX];
        int r = 0;
        _cleanup_close_ int rootfd = -EBADF, src = -EBADF;
        snprintf(stage, sizeof stage, "%s/" USERNS_STAGE_TREE, st->stage);
        if ((r = attach_tree(st, stage, err, sizeof err)) < 0) {
                /* err says it */
        } else if ((r = dress_root(st, stage, err, sizeof err)) < 0) {
                /* err says it */
        } else if ((rootfd = open(stage, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
                   (src = open(st->inaccessible, O_PATH | O_CLOEXEC)) < 0) {
                r = -errno;
                snprintf(err, sizeof err, "Failed to open %s", rootfd < 0 ? stage : st->inaccessible);
        } else if (st->image && (r = overlays_image_parts(st->image, rootfd, st->root_mode, st->upper_size,
                                                          err, sizeof err)) < 0) {
                /* err says it; the image's partitions go on the root's layers, found inside the image */
        } else {
                MountTableArgs table = {
                        .phase = MOUNT_PHASE_OUTER,
                        .own_netns = st->own_netns,
                        .inaccessible = src,
                        .tmpfs_size = st->tmpfs_size,
                        .uid_shift = st->uid_shift,
                };
                r = mounts_apply_table(rootfd, &table, err, sizeof err);
                if (r >= 0 && mount(stage, st->mountpoint, NULL, MS_MOVE, NULL) < 0) {
                        r = -errno;
                        snprintf(err, sizeof err, "Failed to move the tree onto %s", st->mountpoint);
                }
        }
        if (r < 0)
                report(errfd, -r, err);
        _exit(r < 0 ? 1 : 0);
}

int userns_mounts_apply(UsernsMounts *u, int pidfd, const UsernsStage *st, char *err, size_t errlen) {
        _cleanup_close_pair_ int pipefd[2] = { -EBADF, -EBADF };
        pid_t pid = pipe2(pipefd, O_CLOEXEC) < 0 ? -1 : fork();
        if (pid < 0) {
                int r = -errno;
                snprintf(err, errlen, "Failed to start the mounter of /proc and /sys for the machine");
                return r;
        }
        if (pid == 0) {
                int e = 0;
                const char *what = "";
                pipefd[0] = safe_close(pipefd[0]);
                if (setns(u->outer_fd, CLONE_NEWNS) < 0)
                        e = errno, what = "Failed to enter the outer mount namespace";
                else if (setns(pidfd, CLONE_NEWPID | (st->own_netns ? CLONE_NEWNET : 0)) < 0)
                        e = errno, what = "Failed to enter the machine's namespaces";
                if (e == 0) {
                        /* A new PID namespace is only for children: /proc shows the mounter's. */
                        pid_t child = fork();
                        if (child == 0)
                                outer_mounts(st, pipefd[1]);
                        if (child < 0)
                                e = errno, what = "Failed to fork";
                        else
                                _exit(wait_exit_status(child) == 0 ? 0 : 1);
                }
                report(pipefd[1], e, what);
                _exit(1);
        }
        pipefd[1] = safe_close(pipefd[1]);
        if (wait_exit_status(pid) == 0)
                return 0;
        int e = 0;
        char msg[256] = "";
        ssize_t k = read(pipefd[0], &e, sizeof e);
        if (k == sizeof e && (k = read(pipefd[0], msg, sizeof msg - 1)) > 0)
                msg[k] = 0;
        snprintf(err, errlen, "%s", msg[0] ? msg : "Failed to mount /proc and /sys for the machine");
        return e > 0 ? -e : -ECHILD;
}

void userns_mounts_done(UsernsMounts *u) {
        (void) userns_mounts_leave(u);
        u->outer_fd = safe_close(u->outer_fd);
}
