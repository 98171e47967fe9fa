/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/images/image-mount.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/path-util.h"

/* One free loop device configured with config: its fd, its path in path. */
static int loop_configure_free(int control, const struct loop_config *config, bool read_only, char *path,
                               size_t pathlen) {
        /* Another allocator may take the device between GET_FREE and our CONFIGURE: EBUSY. */
        for (unsigned attempt = 0; attempt < 16; attempt++) {
                int nr = ioctl(control, LOOP_CTL_GET_FREE);
                if (nr < 0)
                        return -errno;
                snprintf(path, pathlen, "/dev/loop%d", nr);
                _cleanup_close_ int loop = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
                if (loop < 0)
                        return -errno;
                if (ioctl(loop, LOOP_CONFIGURE, config) < 0) {
                        if (errno != EBUSY)
                                return -errno;
                        nanosleep(&(struct timespec){ .tv_nsec = 1000000L * (attempt + 1) }, NULL);
                        continue;
                }
                return TAKE_FD(loop);
        }
        return -EBUSY;
}

int image_loop_attach(int image_fd, uint64_t offset, uint64_t size, bool read_only, char *ret_path,
                      size_t pathlen) {
        _cleanup_close_ int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (control < 0)
                return -errno;
        /* Direct I/O: the image's pages are not cached twice (once for the file, once for the loop
         * device). A file that cannot do it (a filesystem without O_DIRECT, an offset not aligned to
         * its blocks) makes some kernels refuse the whole LOOP_CONFIGURE (EINVAL); others drop the
         * flag themselves. Either way buffered I/O works. */
        struct loop_config config = {
                .fd = (uint32_t) image_fd,
                .info = { .lo_offset = offset,
                          .lo_sizelimit = size,
                          .lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO |
                                      (read_only ? LO_FLAGS_READ_ONLY : 0) },
        };
        char path[32];
        int loop = loop_configure_free(control, &config, read_only, path, sizeof path);
        if (loop == -EINVAL) {
                log_debug("Loop device for offset %llu: no direct I/O on this file, buffered I/O instead.",
                          (unsigned long long) offset);
                config.info.lo_flags &= ~(uint32_t) LO_FLAGS_DIRECT_IO;
                loop = loop_configure_free(control, &config, read_only, path, sizeof path);
        }
        if (loop < 0)
                return loop;
        struct loop_info64 info;
        if (config.info.lo_flags & LO_FLAGS_DIRECT_IO && ioctl(loop, LOOP_GET_STATUS64, &info) == 0 &&
            !(info.lo_flags & LO_FLAGS_DIRECT_IO))
                log_debug("%s: the kernel turned direct I/O off for this file, buffered I/O instead.", path);
        snprintf(ret_path, pathlen, "%s", path);
        return loop;
}

/* The new mount API, not libmount: a mount the supervisor makes before the clone must be in no
 * namespace (nothing of it in the host's mount table, and gone with its fd if the supervisor dies),
 * which only fsmount() gives; libmount 2.38 has no call that returns such a detached mount (its
 * new-API hooks of 2.39 still attach to a target). The probe (libblkid) says the type. */
static int mount_one(int image_fd, ImagePartKind kind, const ImagePartition *p, bool read_only, int *ret_mnt,
                     char *msg, size_t msglen) {
        read_only = read_only || image_fstype_read_only(p->fstype);
        /* nodev everywhere: the guest's /dev is our tmpfs, and a node in an image is not a device of
         * the guest's. The boot partitions hold no programs to run and, on vfat, no owners: only root
         * may read them, as systemd-dissect mounts them. */
        bool boot = kind == IMAGE_PART_ESP || kind == IMAGE_PART_XBOOTLDR;
        unsigned attr = MOUNT_ATTR_NODEV | (boot ? MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC : 0) |
                        (read_only ? MOUNT_ATTR_RDONLY : 0);
        char dev[32];
        _cleanup_close_ int loop = image_loop_attach(image_fd, p->start, p->size, read_only, dev, sizeof dev);
        if (loop < 0)
                return loop;
        _cleanup_close_ int fs = fsopen(p->fstype, FSOPEN_CLOEXEC);
        if (fs < 0) {
                if (errno == ENODEV)
                        snprintf(msg, msglen, " (this kernel has no %s filesystem)", p->fstype);
                return -errno;
        }
        int r = 0;
        if (fsconfig(fs, FSCONFIG_SET_STRING, "source", dev, 0) < 0 ||
            (read_only && fsconfig(fs, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0) ||
            (strcmp(p->fstype, "vfat") == 0 && fsconfig(fs, FSCONFIG_SET_STRING, "umask", "0077", 0) < 0) ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
                r = -errno;
                /* The filesystem's own word on why ("e ext4: …"), if it left one. */
                char buf[256];
                ssize_t n = read(fs, buf, sizeof buf - 1);
                if (n > 2) {
                        buf[n] = 0;
                        snprintf(msg, msglen, " (%s)", buf + 2);
                }
                return r;
        }
        int mnt = fsmount(fs, FSMOUNT_CLOEXEC, attr);
        if (mnt < 0)
                return -errno;
        *ret_mnt = mnt;
        return 0; /* the loop fd closes here: the mount holds the device now (autoclear) */
}

int image_mount_detached(int image_fd, const ImageChoice *choice, bool read_only, ImageMounts *ret, char *err,
                         size_t errlen) {
        ImageMounts m = IMAGE_MOUNTS_NULL;
        for (ImagePartKind k = 0; k < _IMAGE_PART_MAX; k++) {
                if (!choice->has[k])
                        continue;
                char msg[256] = "";
                int r = mount_one(image_fd, k, &choice->part[k], read_only, &m.fd[k], msg, sizeof msg);
                if (r < 0) {
                        snprintf(err, errlen, "Failed to mount the image's %s %s filesystem%s",
                                 choice->part[k].fstype, image_part_kind_name(k), msg);
                        image_mounts_close(&m);
                        return r;
                }
        }
        *ret = m;
        return 0;
}

/* Where the ESP goes: /efi when the root has it or XBOOTLDR took /boot, else /boot. */
static const char *esp_path(int rootfd, bool xbootldr) {
        _cleanup_close_ int efi = -EBADF;
        if (xbootldr || chase_in_root(rootfd, "/efi", O_PATH | O_DIRECTORY | O_CLOEXEC, &efi) >= 0)
                return "/efi";
        return "/boot";
}

int image_mounts_attach_root(ImageMounts *m, const char *where, char *err, size_t errlen) {
        if (move_mount(m->fd[IMAGE_PART_ROOT], "", AT_FDCWD, where, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
                snprintf(err, errlen, "Failed to attach the image's root filesystem on %s", where);
                return -errno;
        }
        m->fd[IMAGE_PART_ROOT] = safe_close(m->fd[IMAGE_PART_ROOT]);
        return 0;
}

int image_mounts_attach_parts(ImageMounts *m, int rootfd, unsigned kinds, ImageLayerFunc layer,
                              void *userdata, char *err, size_t errlen) {
        bool xbootldr = m->fd[IMAGE_PART_XBOOTLDR] >= 0 && kinds & (1U << IMAGE_PART_XBOOTLDR);
        for (ImagePartKind k = IMAGE_PART_ROOT + 1; k < _IMAGE_PART_MAX; k++) {
                if (m->fd[k] < 0)
                        continue;
                if (!(kinds & (1U << k))) {
                        m->fd[k] = safe_close(m->fd[k]); /* never attached: gone with its loop device */
                        continue;
                }
                /* The image's tree is the guest's: mount points are looked up in it, never on the host. */
                const char *path = k == IMAGE_PART_ESP ? esp_path(rootfd, xbootldr) : image_part_kind_path(k);
                _cleanup_close_ int target = -EBADF;
                int r = mount_target_in_root(rootfd, path, true, &target);
                if (r < 0) {
                        snprintf(err, errlen,
                                 "The image's root filesystem has no directory %s for its %s partition, and "
                                 "it cannot be made there (read-only, or idmapped under -U): make it in the "
                                 "image, or use --ephemeral",
                                 path, image_part_kind_name(k));
                        return r;
                }
                if (move_mount(m->fd[k], "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
                    0) {
                        snprintf(err, errlen, "Failed to attach the image's %s filesystem on %s",
                                 image_part_kind_name(k), path);
                        return -errno;
                }
                m->fd[k] = safe_close(m->fd[k]);
                if (!layer)
                        continue;
                /* What is there now: the partition's root, for what goes on top of it. */
                _cleanup_close_ int mnt = -EBADF;
                r = chase_in_root(rootfd, path, O_PATH | O_DIRECTORY | O_CLOEXEC, &mnt);
                if (r >= 0)
                        r = layer(k, mnt, userdata, err, errlen);
                if (r < 0)
                        return r;
        }
        return 0;
}

int image_mounts_attach(ImageMounts *m, const char *where, char *err, size_t errlen) {
        int r = image_mounts_attach_root(m, where, err, errlen);
        if (r < 0)
                return r;
        _cleanup_close_ int rootfd = open(where, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0) {
                snprintf(err, errlen, "Failed to open the image's root filesystem on %s", where);
                return -errno;
        }
        return image_mounts_attach_parts(m, rootfd, IMAGE_PARTS_ALL, NULL, NULL, err, errlen);
}

void image_mounts_close(ImageMounts *m) {
        for (size_t k = 0; k < _IMAGE_PART_MAX; k++)
                m->fd[k] = safe_close(m->fd[k]);
}

int image_mounts_clone(const ImageMounts *m, ImageMounts *ret) {
        ImageMounts c = IMAGE_MOUNTS_NULL;
        unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE;
        for (size_t k = 0; k < _IMAGE_PART_MAX; k++) {
                if (m->fd[k] < 0)
                        continue;
                c.fd[k] = open_tree(m->fd[k], "", flags);
                if (c.fd[k] < 0) {
                        int r = -errno;
                        image_mounts_close(&c);
                        return r;
                }
        }
        *ret = c;
        return 0;
}

int image_open(const char *path, bool read_only, int *ret_fd, ImageChoice *ret, char *err, size_t errlen) {
        /* O_NONBLOCK: a FIFO must not block the open; it is refused below. O_EXCL: a block device
         * that is mounted or otherwise claimed is refused (EBUSY); files ignore it. */
        int flags = O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_EXCL;
        _cleanup_close_ int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | flags);
        /* On a read-only filesystem: fine for an image that is read-only by nature (squashfs,
         * erofs), refused below for one that would be mounted read-write. */
        bool ro_medium = fd < 0 && errno == EROFS && !read_only;
        if (ro_medium)
                fd = open(path, O_RDONLY | flags);
        if (fd < 0 && errno == EBUSY) {
                snprintf(err, errlen, "Image %s is a block device in use (mounted?)", path);
                return -EBUSY;
        }
        if (fd < 0) {
                snprintf(err, errlen, "Cannot open image %s", path);
                return -errno;
        }
        struct stat st;
        if (fstat(fd, &st) < 0) {
                snprintf(err, errlen, "Cannot access image %s", path);
                return -errno;
        }
        if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
                snprintf(err, errlen,
                         "Image %s is not a regular file or block device: give a disk image file", path);
                return -EBADF;
        }
        _cleanup_free_ ImagePartition *parts = NULL;
        size_t n = 0, bad = 0;
        uint64_t size = 0;
        int r = image_probe(fd, &parts, &n, &size);
        if (r == -ENOPKG) {
                snprintf(err, errlen, "Cannot read image %s: libblkid.so.1 is missing (install libblkid1)",
                         path);
                return r;
        }
        if (r < 0) {
                snprintf(err, errlen,
                         "Image %s has no partition table and no filesystem that could be recognised "
                         "(truncated or not a disk image?)",
                         path);
                return r;
        }
        r = image_choose(parts, n, size, ret, &bad);
        const ImagePartition *b = bad < n ? &parts[bad] : NULL;
        const char *kind = image_part_kind_name(b ? image_part_kind_of(b) : IMAGE_PART_ROOT);
        unsigned long long at = b ? (unsigned long long) b->start : 0ULL;
        if (r == -ENXIO)
                snprintf(err, errlen,
                         "Image %s has no root partition: none of the Discoverable Partitions root types "
                         "for x86-64 or x86 and no single Linux partition",
                         path);
        else if (r == -ENOTUNIQ)
                snprintf(err, errlen,
                         "Image %s has more than one candidate %s partition (another at offset %llu): "
                         "give each one its own Discoverable Partitions type",
                         path, kind, at);
        else if (r == -EADDRINUSE)
                snprintf(err, errlen, "Image %s: its %s partition (at offset %llu) overlaps another one",
                         path, kind, at);
        else if (r == -EOPNOTSUPP)
                snprintf(err, errlen,
                         "Image %s has a dm-verity partition (type %s): verity images are not "
                         "supported yet",
                         path, b ? b->type_uuid : "?");
        else if (r == -EMEDIUMTYPE)
                snprintf(err, errlen,
                         "Image %s: the %s partition at offset %llu holds %s, not a filesystem nspawnlite "
                         "mounts (ext4, xfs, btrfs, squashfs, erofs; vfat for the ESP and XBOOTLDR)",
                         path, kind, at,
                         b && b->fstype[0] ? b->fstype : "no filesystem that could be recognised");
        else if (r < 0)
                snprintf(err, errlen, "Image %s: a partition lies outside the file (truncated?)", path);
        if (r < 0)
                return r;
        if (ro_medium && !image_fstype_read_only(ret->part[IMAGE_PART_ROOT].fstype)) {
                snprintf(err, errlen,
                         "Image %s lies on a read-only filesystem and cannot be mounted read-write: give "
                         "--read-only (or --ephemeral), or copy it somewhere writable",
                         path);
                return -EROFS;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}
