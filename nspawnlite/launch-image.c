/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --image=: the supervisor's part (probe, lock, a trial mount before anything is set up, and the
 * machine's detached mounts before each clone, which its child attaches: child.c). */
#include "nspawnlite/launch-image.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "machines/images/image-mount.h"
#include "machines/images/store.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/log.h"

/* Two machines writing one filesystem would corrupt it; readers may share. The lock is the image
 * store's (store_lock_fd()), so that the store's verbs see the image in use. */
static int image_lock(int fd, const char *what, bool read_only) {
        int r = store_lock_fd(fd, !read_only);
        if (r == -EBUSY)
                return log_error_errno(r,
                                       "Image %s is in use by another machine%s; stop it first, or boot both "
                                       "--read-only.",
                                       what, read_only ? " that writes to it" : "");
        if (r < 0)
                return log_error_errno(r, "Failed to lock image %s: %m", what);
        return 0;
}

int launch_tree_lock(const LaunchSpec *c, LaunchImage *img) {
        if (!c->lock_root)
                return 0;
        _cleanup_close_ int fd = open(c->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "Cannot open root directory %s: %m", c->rootfs);
        /* --ephemeral and --volatile= only read the tree. */
        int r = image_lock(fd, c->rootfs, c->read_only || c->root_mode != ROOT_TREE);
        if (r < 0)
                return r;
        img->fd = TAKE_FD(fd);
        return 0;
}

void launch_image_done(LaunchImage *img) {
        img->fd = safe_close(img->fd);
        image_mounts_close(&img->mounts);
}

int launch_image_mount(const LaunchSpec *c, LaunchImage *img) {
        char err[512] = "";
        if (img->mounts.fd[IMAGE_PART_ROOT] >= 0)
                return 0; /* the first start's, made by launch_image_prepare() */
        int r = image_mount_detached(img->fd, &img->choice, img->read_only, &img->mounts, err, sizeof err);
        if (r < 0)
                return log_error_errno(r, "Image %s: %s: %m.", c->image, err);
        return 0;
}

/* The trial of a boot, in the forked child: what it finds goes back through the pipe, a failure is logged
 * here (the parent's stderr). */
static _noreturn_ void trial_child(const LaunchSpec *c, LaunchImage *img, ImageMounts *copy, int out) {
        char err[512] = "";
        /* Nothing mounted here may be seen by, or propagate to, the host. */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0700") < 0 ||
            mkdir("/tmp/image", 0755) < 0) {
                log_error_errno(errno, "Failed to make a mount namespace to try image %s in: %m", c->image);
                _exit(1);
        }
        /* Copies of the first start's mounts, or (a kernel that cannot copy those) mounts of our own. */
        int r = copy->fd[IMAGE_PART_ROOT] >= 0
                        ? 0
                        : image_mount_detached(img->fd, &img->choice, img->read_only, copy, err, sizeof err);
        if (r >= 0)
                r = image_mounts_attach_root(copy, "/tmp/image", err, sizeof err);
        if (r < 0) {
                log_error_errno(r, "Image %s: %s: %m.", c->image, err);
                _exit(1);
        }
        _cleanup_close_ int rootfd = open("/tmp/image", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0) {
                log_error_errno(errno, "Failed to open the root of image %s: %m", c->image);
                _exit(1);
        }
        /* The partitions as the machine will have them; with --ephemeral or --volatile= they go on the
         * root's layers (child.c), which may make their mount points: here /usr is enough (the init
         * and os-release may be there), if the root has its mount point. */
        unsigned kinds = c->root_mode == ROOT_TREE ? IMAGE_PARTS_ALL : 1U << IMAGE_PART_USR;
        r = image_mounts_attach_parts(copy, rootfd, kinds, NULL, NULL, err, sizeof err);
        if (r < 0 && c->root_mode == ROOT_TREE) {
                log_error_errno(r, "Image %s: %s: %m.", c->image, err);
                _exit(1);
        }
        const char *path = NULL;
        if (!tree_has_os_release(rootfd)) {
                log_error("Image %s has neither /etc/os-release nor /usr/lib/os-release: not an OS "
                          "image ('nspawnlite run' runs a command in any image).",
                          c->image);
                _exit(1);
        }
        if (init_detect(rootfd, &path, &img->init_kind) < 0) {
                log_error("No init found in image %s: looked for /usr/lib/systemd/systemd, "
                          "/lib/systemd/systemd and /sbin/init.",
                          c->image);
                _exit(1);
        }
        snprintf(img->init_path, sizeof img->init_path, "%s", path);
        if (loop_write(out, img, sizeof *img) < 0)
                _exit(1);
        _exit(0);
}

int launch_image_prepare(const LaunchSpec *c, LaunchImage *ret) {
        char err[512] = "";
        LaunchImage img = LAUNCH_IMAGE_NULL;
        /* --ephemeral and --volatile= only ever read the tree: mounting the image read-write under
         * them would still write its superblock and journal, and change the image's bytes. */
        bool read_only = c->read_only || c->root_mode != ROOT_TREE;
        int r = image_open(c->image, read_only, &img.fd, &img.choice, err, sizeof err);
        if (r < 0)
                return log_error_errno(r, "%s: %m.", err);
        img.read_only = read_only || image_fstype_read_only(img.choice.part[IMAGE_PART_ROOT].fstype);

        r = image_lock(img.fd, c->image, img.read_only);
        if (r < 0) {
                launch_image_done(&img);
                return r;
        }

        /* The machine's mounts, made once here: the trial below looks at copies of them, and the
         * first start gets them (a mount of an ext4 image costs ~10 ms; one is enough). */
        r = image_mount_detached(img.fd, &img.choice, img.read_only, &img.mounts, err, sizeof err);
        if (r < 0) {
                launch_image_done(&img);
                return log_error_errno(r, "Image %s: %s: %m.", c->image, err);
        }

        /* run needs no more than that it mounts; boot looks for os-release and the init. */
        if (c->kind == LAUNCH_RUN) {
                *ret = img;
                return 0;
        }

        /* The trial looks at copies of the mounts. Kernels before 6.15 cannot copy a detached mount
         * (EINVAL): then the trial mounts the image itself and the first start mounts it once more,
         * one after the other, never two mounts of one filesystem at once. */
        _cleanup_(image_mounts_close) ImageMounts copy = IMAGE_MOUNTS_NULL;
        if (image_mounts_clone(&img.mounts, &copy) < 0)
                image_mounts_close(&img.mounts);

        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                r = -errno;
                launch_image_done(&img);
                return log_error_errno(r, "Failed to make a pipe: %m");
        }
        pid_t pid = fork();
        if (pid < 0) {
                r = -errno;
                close_pairp(&pipefd);
                launch_image_done(&img);
                return log_error_errno(r, "Failed to fork: %m");
        }
        if (pid == 0) {
                close(pipefd[0]);
                trial_child(c, &img, &copy, pipefd[1]);
        }
        close(pipefd[1]);
        image_mounts_close(&copy);
        LaunchImage got;
        ssize_t n;
        do
                n = read(pipefd[0], &got, sizeof got);
        while (n < 0 && errno == EINTR);
        close(pipefd[0]);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (n != (ssize_t) sizeof got || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                launch_image_done(&img);
                return -EINVAL; /* logged by the child */
        }
        memcpy(img.init_path, got.init_path, sizeof img.init_path);
        img.init_kind = got.init_kind;
        *ret = img;
        return 0;
}
