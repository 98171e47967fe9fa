/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/overlays.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "machines/images/store.h"
#include "machines/registry.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/path-util.h"
#include "nspawnlite/mounts.h"

/* A tmpfs for what the machine writes: capped like the others (mounts.h), and owned like the tree's
 * root so that the new root looks like it. */
static int mount_scratch(const char *where, int treefd, const char *tmpfs_size) {
        struct stat st;
        if (fstat(treefd, &st) < 0)
                return -errno;
        char opts[128];
        snprintf(opts, sizeof opts, "mode=%04o,uid=%u,gid=%u,size=%s", (unsigned) (st.st_mode & 07777),
                 (unsigned) st.st_uid, (unsigned) st.st_gid,
                 tmpfs_size && *tmpfs_size ? tmpfs_size : TMPFS_SIZE_DEFAULT);
        /* nodev: device nodes belong on the machine's own /dev, and the kernel asks the mount a
         * node is opened through, not the tree's (an image's nodev) beneath it. */
        return mount("tmpfs", where, "tmpfs", MS_NODEV, opts) < 0 ? -errno : 0;
}

/* Open dir/name as a directory, creating it first (mode, owner of the tree's root). */
static int make_dir_at(int dir, const char *name, mode_t mode, int *ret) {
        if (mkdirat(dir, name, mode) < 0 && errno != EEXIST)
                return -errno;
        int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret = fd;
        return 0;
}

/* --ephemeral, --volatile=overlay: a tmpfs on root (or upper_dir, --ephemeral-size=disk) holds the
 * upper and work directories, and the overlay goes on top of it; the tree (treefd, beneath both) is
 * its lower layer. */
static int prepare_overlay(const char *root, int treefd, const char *tmpfs_size, const char *upper_dir,
                           char *err, size_t errlen) {
        int r = upper_dir ? 0 : mount_scratch(root, treefd, tmpfs_size);
        _cleanup_close_ int scratch = -EBADF, upper = -EBADF, work = -EBADF;
        if (r >= 0 &&
            (scratch = open(upper_dir ?: root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                r = -errno;
        if (r >= 0)
                r = make_dir_at(scratch, "upper", 0755, &upper);
        if (r >= 0)
                r = make_dir_at(scratch, "work", 0700, &work);
        /* The merged root takes the upper directory's mode and owner. */
        struct stat st;
        if (r >= 0 && (fstat(treefd, &st) < 0 || fchmod(upper, st.st_mode & 07777) < 0 ||
                       fchown(upper, st.st_uid, st.st_gid) < 0))
                r = -errno;
        if (r < 0) {
                snprintf(err, errlen, "Failed to set up the upper layer for the overlay on %s in %s", root,
                         upper_dir ?: "a tmpfs");
                return r;
        }
        char opts[128];
        snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", fd_path(treefd).path,
                 fd_path(upper).path, fd_path(work).path);
        if (mount("overlay", root, "overlay", MS_NODEV, opts) < 0) {
                r = -errno;
                snprintf(err, errlen, "Failed to mount an overlay over %s (does the kernel have overlayfs?)",
                         root);
                return r;
        }
        return 0;
}

/* Merged-/usr trees have /bin, /lib… as links into /usr: the tmpfs root gets the same. */
static void copy_usr_links(int treefd, int newroot) {
        _cleanup_close_ int d = openat(treefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *dir = d >= 0 ? fdopendir(d) : NULL;
        if (!dir)
                return;
        d = -EBADF; /* the DIR owns it now */
        for (struct dirent *de; (de = readdir(dir));) {
                char target[PATH_MAX];
                if (de->d_type != DT_LNK)
                        continue;
                ssize_t k = readlinkat(dirfd(dir), de->d_name, target, sizeof target - 1);
                if (k <= 0)
                        continue;
                target[k] = 0;
                if (strncmp(target, "usr/", 4) == 0 || strncmp(target, "/usr/", 5) == 0)
                        (void) symlinkat(target, newroot, de->d_name);
        }
        closedir(dir);
}

/* --volatile=yes: a tmpfs root with the tree's /usr bound into it read-only. */
static int prepare_volatile(const char *root, int treefd, const char *tmpfs_size, char *err, size_t errlen) {
        _cleanup_close_ int usr = -EBADF, newroot = -EBADF, target = -EBADF;
        int r = chase_in_root(treefd, "/usr", O_PATH | O_DIRECTORY, &usr);
        if (r < 0) {
                snprintf(err, errlen,
                         "--volatile=yes needs a /usr directory in the tree %s; use "
                         "--volatile=state or --ephemeral for this tree",
                         root);
                return r;
        }
        r = mount_scratch(root, treefd, tmpfs_size);
        if (r >= 0 && (newroot = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                r = -errno;
        if (r >= 0)
                r = make_dir_at(newroot, "usr", 0755, &target);
        if (r >= 0 && mount(fd_path(usr).path, fd_path(target).path, NULL, MS_BIND | MS_REC, NULL) < 0)
                r = -errno;
        if (r < 0) {
                snprintf(err, errlen, "Failed to set up the volatile root on %s", root);
                return r;
        }
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/usr", root);
        r = mount_remount_read_only(path);
        if (r < 0) {
                snprintf(err, errlen, "Failed to make /usr read-only");
                return r;
        }
        copy_usr_links(treefd, newroot);
        return 0;
}

/* --volatile=state: a tmpfs on /var (the tree goes read-only through the spec's read_only). */
static int prepare_state(const char *root, int treefd, const char *tmpfs_size, char *err, size_t errlen) {
        _cleanup_close_ int var = -EBADF;
        int r = chase_in_root(treefd, "/var", O_PATH | O_DIRECTORY, &var);
        if (r < 0) {
                snprintf(err, errlen, "--volatile=state needs a /var directory in the tree %s", root);
                return r;
        }
        r = mount_scratch(fd_path(var).path, var, tmpfs_size);
        if (r < 0)
                snprintf(err, errlen, "Failed to mount a tmpfs on /var");
        return r;
}

int overlays_prepare_root(RootMode mode, const char *root, const char *tmpfs_size, const char *upper_dir,
                          char *err, size_t errlen) {
        if (mode == ROOT_TREE)
                return 0;
        _cleanup_close_ int treefd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (treefd < 0) {
                snprintf(err, errlen, "Failed to open %s", root);
                return -errno;
        }
        switch (mode) {
        case ROOT_OVERLAY:
                return prepare_overlay(root, treefd, tmpfs_size, upper_dir, err, errlen);
        case ROOT_VOLATILE:
                return prepare_volatile(root, treefd, tmpfs_size, err, errlen);
        case ROOT_STATE:
                return prepare_state(root, treefd, tmpfs_size, err, errlen);
        default:
                return 0;
        }
}

/* The directory that holds UPPER and the work directory, opened without following a symlink anywhere
 * on its path (a host user who owns a directory on it must not redirect what root creates there);
 * ret_name: the work directory's name in it. */
static int open_work_parent(const CustomOverlay *o, int *ret_fd, const char **ret_name) {
        const char *slash = strrchr(o->work, '/');
        char parent[PATH_MAX];
        if (!slash || (size_t) (slash - o->work) >= sizeof parent)
                return -EINVAL;
        snprintf(parent, sizeof parent, "%.*s", slash == o->work ? 1 : (int) (slash - o->work), o->work);
        *ret_name = slash + 1;
        return open_no_symlinks(parent, O_PATH | O_DIRECTORY, ret_fd);
}

/* UPPER, and the work directory beside it (made here, or left by an earlier start under the same
 * name): both real directories, no symlink on their paths, the work directory ours. */
static int open_upper_and_work(const CustomOverlay *o, int *ret_upper, int *ret_work, char *err,
                               size_t errlen) {
        _cleanup_close_ int parent = -EBADF, up = -EBADF, work = -EBADF;
        const char *name = NULL;
        int r = open_work_parent(o, &parent, &name);
        if (r >= 0 && (up = openat(parent, strrchr(o->upper, '/') + 1,
                                   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                r = -errno;
        if (r == -ELOOP || r == -ENOTDIR) {
                snprintf(err, errlen,
                         "Overlay directory %s has a symlink on its path: give the real directory's path",
                         o->upper);
                return r;
        }
        if (r < 0) {
                snprintf(err, errlen, "Failed to open the overlay's upper directory %s", o->upper);
                return r;
        }
        struct stat st;
        if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
                r = -errno;
        else if ((work = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
                 fstat(work, &st) < 0)
                r = -errno;
        else if (st.st_uid != geteuid())
                r = -EPERM;
        /* O_DIRECTORY answers ENOTDIR before O_NOFOLLOW's ELOOP: a symlink is named as one. */
        if (r == -ENOTDIR && fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISLNK(st.st_mode))
                r = -ELOOP;
        if (r < 0) {
                snprintf(err, errlen,
                         "Overlay work directory %s %s: remove it, or give UPPER in a directory only root "
                         "can change",
                         o->work,
                         r == -ELOOP     ? "is a symlink"
                         : r == -ENOTDIR ? "exists and is not a directory"
                         : r == -EPERM   ? "exists and belongs to another user"
                                         : "cannot be made");
                return r;
        }
        *ret_upper = TAKE_FD(up);
        *ret_work = TAKE_FD(work);
        return 0;
}

/* Mount the overlay o at target: its layers are the host's directories. */
static int mount_one(const CustomOverlay *o, const char *target, char *err, size_t errlen) {
        int fds[o->n_lower + 2];
        size_t n_fds = 0;
        int r = 0;
        char opts[4096] = "lowerdir=";
        /* overlayfs lists the top layer first; the command line, the lowest. */
        for (size_t i = o->n_lower; i-- > 0 && r >= 0;) {
                fds[n_fds] = open(o->lower[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fds[n_fds] < 0) {
                        r = -errno;
                        snprintf(err, errlen, "Failed to open overlay directory %s", o->lower[i]);
                        break;
                }
                snprintf(opts + strlen(opts), sizeof opts - strlen(opts), "%s%s",
                         i + 1 < o->n_lower ? ":" : "", fd_path(fds[n_fds++]).path);
        }
        if (r >= 0 && o->upper) {
                int up = -EBADF, work = -EBADF;
                r = open_upper_and_work(o, &up, &work, err, errlen);
                if (r >= 0) {
                        fds[n_fds++] = up;
                        fds[n_fds++] = work;
                        snprintf(opts + strlen(opts), sizeof opts - strlen(opts), ",upperdir=%s,workdir=%s",
                                 fd_path(up).path, fd_path(work).path);
                }
        }
        if (r >= 0 && mount("overlay", target, "overlay", o->upper ? 0 : MS_RDONLY, opts) < 0) {
                r = -errno;
                snprintf(err, errlen, "Failed to mount the overlay on %s", o->dest);
        }
        for (size_t i = 0; i < n_fds; i++)
                safe_close(fds[i]);
        return r;
}

/* --ephemeral, --volatile=overlay: each partition of an image gets an overlay of its own, as the
 * root has one (an overlay does not reach into the mounts beneath its lower layer). */
static int image_part_overlay(ImagePartKind kind, int mnt, void *userdata, char *err, size_t errlen) {
        const char *upper_size = userdata;
        /* Its path, as just resolved inside the root: nothing runs in there yet that could change it. */
        char path[PATH_MAX];
        ssize_t n = readlink(fd_path(mnt).path, path, sizeof path - 1);
        if (n < 0) {
                snprintf(err, errlen, "Failed to find the image's %s partition", image_part_kind_name(kind));
                return -errno;
        }
        path[n] = 0;
        int r = overlays_prepare_root(ROOT_OVERLAY, path, upper_size, NULL, err, errlen);
        if (r < 0 || (kind != IMAGE_PART_ESP && kind != IMAGE_PART_XBOOTLDR))
                return r;
        /* What runs is checked against the overlay it is opened through: it keeps the boot
         * partition's nosuid,noexec (image_mount_detached()). */
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC };
        if (mount_setattr(AT_FDCWD, path, 0, &attr, sizeof attr) < 0) {
                snprintf(err, errlen, "Failed to make the overlay on the image's %s partition noexec",
                         image_part_kind_name(kind));
                return -errno;
        }
        return 0;
}

/* Which partitions each root mode takes: --volatile=yes a fresh tmpfs with the image's /usr only;
 * --volatile=state a tmpfs /var, so not the image's /var (nor /var/tmp on it). */
static const unsigned image_parts_of_mode[] = {
        [ROOT_TREE] = IMAGE_PARTS_ALL,
        [ROOT_OVERLAY] = IMAGE_PARTS_ALL,
        [ROOT_VOLATILE] = 1U << IMAGE_PART_USR,
        [ROOT_STATE] = IMAGE_PARTS_ALL & ~(1U << IMAGE_PART_VAR | 1U << IMAGE_PART_TMP),
};

int overlays_image_parts(ImageMounts *m, int rootfd, RootMode mode, const char *upper_size, char *err,
                         size_t errlen) {
        unsigned kinds = (size_t) mode < ELEMENTSOF(image_parts_of_mode) ? image_parts_of_mode[mode] : 0;
        return image_mounts_attach_parts(m, rootfd, kinds, mode == ROOT_OVERLAY ? image_part_overlay : NULL,
                                         (void *) upper_size, err, errlen);
}

int overlays_stage_custom(const char *dir, const CustomOverlay *o, size_t n, char *err, size_t errlen) {
        for (size_t i = 0; i < n; i++) {
                char p[PATH_MAX];
                snprintf(p, sizeof p, "%s/%zu", dir, i);
                if (mkdir(p, 0755) < 0) {
                        int r = -errno;
                        snprintf(err, errlen, "Failed to create %s", p);
                        return r;
                }
                int r = mount_one(&o[i], p, err, errlen);
                if (r < 0)
                        return r;
        }
        return 0;
}

int overlays_apply_custom(int rootfd, const CustomOverlay *o, size_t n, const char *staged, char *err,
                          size_t errlen) {
        for (size_t i = 0; i < n; i++) {
                _cleanup_close_ int target = -EBADF;
                int r = mount_target_in_root(rootfd, o[i].dest, true, &target);
                if (r < 0) {
                        snprintf(err, errlen, "Failed to create the overlay's mount point %s", o[i].dest);
                        return r;
                }
                if (!staged) {
                        r = mount_one(&o[i], fd_path(target).path, err, errlen);
                        if (r < 0)
                                return r;
                        continue;
                }
                /* Under -U: mounted outside, flags locked; the bind keeps them. */
                char p[PATH_MAX];
                snprintf(p, sizeof p, "%s/%zu", staged, i);
                if (mount(p, fd_path(target).path, NULL, MS_BIND | MS_REC, NULL) < 0) {
                        r = -errno;
                        snprintf(err, errlen, "Failed to mount the overlay on %s", o[i].dest);
                        return r;
                }
        }
        return 0;
}

void overlays_cleanup(const CustomOverlay *o, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (!o[i].work)
                        continue;
                _cleanup_close_ int parent = -EBADF, d = -EBADF;
                const char *name = NULL;
                if (open_work_parent(&o[i], &parent, &name) < 0 ||
                    (d = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                        continue;
                /* What overlayfs makes in there, empty once it is unmounted. */
                (void) unlinkat(d, "work", AT_REMOVEDIR);
                (void) unlinkat(d, "index", AT_REMOVEDIR);
                (void) unlinkat(parent, name, AT_REMOVEDIR);
        }
}

int overlays_upper_dir(const char *machine, char *ret, size_t n) {
        return machine_path(machine, "ephemeral", ret, n);
}

int overlays_upper_dir_remove(const char *machine) {
        char dir[PATH_MAX];
        int r = machine_path(machine, NULL, dir, sizeof dir);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        /* The guest wrote all of it, as deep as it liked: by fds (no path too long, no symlink
         * followed), and no mount crossed. */
        r = store_remove_tree_at(fd, "ephemeral");
        return r == -ENOENT ? 0 : r < 0 ? r : 1;
}

int overlays_upper_dir_make(const char *machine) {
        char dir[PATH_MAX];
        int r = overlays_upper_dir_remove(machine);
        if (r >= 0)
                r = overlays_upper_dir(machine, dir, sizeof dir);
        if (r >= 0 && mkdir(dir, 0700) < 0)
                r = -errno;
        return r < 0 ? r : 0;
}
