/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* -U in the launch: the id range and the tree's ownership before the clone, the files of the
 * machine's runtime dir it needs, and, once the child exists, its id maps and its tree (or image)
 * dressed from the outer mount namespace (userns-mounts.h). */
#include "nspawnlite/launch-userns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/securebits.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/path-util.h"
#include "nspawnlite/overlays.h"

/* Under -U a guest root may make files setuid; with the default ownership they land on the disk
 * as host uid 0. Any host user who can walk to the tree could run them: say so, naming the
 * directory to close (systemd keeps /var/lib/machines 0700 for this reason). */
static void warn_reachable_tree(const char *rootfs) {
        size_t closable;
        if (path_reachable_by_all(rootfs, &closable) <= 0)
                return;
        log_warning(
                "Warning: every host user can reach %s, and could run the setuid files its -U guest makes; "
                "close a directory on its path (chmod 0700 %.*s).",
                rootfs, (int) closable, rootfs);
}

/* -U: take a range of ids, and bring the tree's ownership where the chosen way wants it: shifted
 * into the range on disk (chown), or as installed (an idmapped mount maps it). A tree shifted by an
 * earlier chown boot is shifted back when booted otherwise. */
int launch_userns_prepare(Supervisor *s) {
        const LaunchSpec *c = s->spec;
        uint32_t shift = 0;
        /* An image's files are never shifted: its mounts are idmapped (userns_image_tree()). */
        int r = c->image ? 0 : userns_tree_shift(c->rootfs, &shift);
        if (r < 0)
                return log_error_errno(r, "Failed to read the owner of %s: %m", c->rootfs);
        bool shifted = shift >= USERNS_PICK_BASE && (shift - USERNS_PICK_BASE) % USERNS_RANGE == 0;

        if (c->userns.mode == USERNS_OFF) {
                if (!shifted)
                        return 0;
                log_info("Shifting the ownership of %s back from %u (it was chowned for -U).", c->rootfs,
                         shift);
                r = userns_shift_tree(c->rootfs, shift, 0);
                return r < 0 ? log_error_errno(r, "Failed to shift the ownership of %s back: %m", c->rootfs)
                             : 0;
        }

        if (!c->image)
                warn_reachable_tree(c->rootfs);
        r = userns_acquire(&c->userns, shifted ? shift : 0, &s->userns);
        if (r == -EBUSY && c->userns.mode == USERNS_FIXED)
                return log_error_errno(r, "UID range %u:%u is in use by another machine.", c->userns.base,
                                       c->userns.size);
        if (r == -EBUSY)
                return log_error_errno(r, "No free UID range left for -U.");
        if (r == -EINVAL)
                return log_error_errno(r,
                                       "UID range %u:%u overlaps the ranges -U=pick hands out; pick another.",
                                       c->userns.base, c->userns.size);
        if (r < 0)
                return log_error_errno(r, "Failed to take a UID range: %m");

        uint32_t want = c->userns.ownership == USERNS_OWNERSHIP_CHOWN ? s->userns.base : 0;
        if (shift != want && (shifted || shift == 0)) {
                log_info("Shifting the ownership of %s from %u to %u (once; later boots reuse it).",
                         c->rootfs, shift, want);
                r = userns_shift_tree(c->rootfs, shift, want);
                if (r < 0)
                        return log_error_errno(r, "Failed to shift the ownership of %s: %m", c->rootfs);
        }
        return 0;
}

/* -U, in the machine's runtime dir (userns-mounts.h): "root", a directory the guest's unprivileged
 * root can reach, where the tree goes; "stage", where it is dressed with /proc and /sys first; and
 * "inaccessible", nobody's to open, which covers the masked files of /proc. */
int launch_userns_files(Supervisor *s) {
        static const struct {
                const char *name;
                bool dir, mountpoint;
        } files[] = { { "root", true, true }, { "stage", true, false }, { "inaccessible", false, false } };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                char p[PATH_MAX] = "";
                int r = machine_path(s->spec->machine, files[i].name, p, sizeof p);
                if (r >= 0 && files[i].dir && mkdir(p, 0755) < 0 && errno != EEXIST)
                        r = -errno;
                if (r >= 0 && !files[i].dir) {
                        _cleanup_close_ int fd = open(p, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0000);
                        if (fd < 0 || fchmod(fd, 0000) < 0)
                                r = -errno;
                }
                if (r < 0)
                        return log_error_errno(r, "Failed to create %s: %m", p);
                if (files[i].mountpoint)
                        snprintf(s->root_mountpoint, sizeof s->root_mountpoint, "%s", p);
        }
        return 0;
}

/* -U with --image=: the image's detached mounts, idmapped into the child's user namespace (an image's
 * files stay as installed: owned by 0 on disk, by the guest's root in the machine). Every filesystem
 * --image= mounts (ext4, xfs, btrfs, squashfs, erofs) allows that on Linux 6.18; an older kernel may
 * refuse some (squashfs and erofs came later than ext4, xfs and btrfs): then it is said so. */
static int userns_image_tree(Supervisor *s, int *ret_tree) {
        ImageMounts *m = &s->image.mounts;
        int r = 0;
        ImagePartKind k;
        for (k = 0; k < _IMAGE_PART_MAX && r >= 0; k++)
                if (m->fd[k] >= 0)
                        r = userns_idmap_mount(m->fd[k], s->pid);
        if (r < 0)
                return log_error_errno(
                        r,
                        "Failed to make an idmapped mount of image %s (%m): this kernel cannot "
                        "idmap its %s filesystem; boot it without -U, or extract it to a "
                        "directory and boot that with -U.",
                        s->spec->image, s->image.choice.part[k - 1].fstype);
        /* The root here; the other partitions stay in m for the stage (UsernsStage.image). */
        *ret_tree = TAKE_FD(m->fd[IMAGE_PART_ROOT]);
        return 0;
}

/* -U, once the child exists: its id maps, and the tree (idmapped or as chowned) dressed with
 * /proc, /sys and what must arrive locked, from the outer mount namespace (userns-mounts.h).
 * Logs what failed. */
int launch_userns_dress(Supervisor *s, UsernsMounts *outer, const char *stage) {
        _cleanup_close_ int tree = -EBADF;
        char err[512] = "";
        int r = userns_write_maps(s->pid, &s->userns);
        if (r < 0) {
                log_error_errno(r, "Failed to map the ids of the user namespace: %m");
                return r;
        }
        if (s->spec->image) {
                r = userns_image_tree(s, &tree);
                if (r < 0)
                        return r;
        }
        bool idmap = s->spec->userns.ownership == USERNS_OWNERSHIP_MAP;
        r = s->spec->image ? 0 : userns_tree(s->spec->rootfs, idmap ? s->pid : 0, &tree);
        if (r < 0) {
                if (idmap)
                        log_error_errno(r,
                                        "Failed to make an idmapped mount of %s (%m): its filesystem may not "
                                        "support them; use --private-users-ownership=chown.",
                                        s->spec->rootfs);
                else
                        log_error_errno(r, "Failed to open the tree %s: %m", s->spec->rootfs);
                return r;
        }
        char inaccessible[PATH_MAX], upper[PATH_MAX];
        const char *size = s->spec->ephemeral_size;
        bool disk = size && strcmp(size, OVERLAY_UPPER_DISK) == 0;
        r = machine_path(s->spec->machine, "inaccessible", inaccessible, sizeof inaccessible);
        if (r >= 0 && disk)
                r = overlays_upper_dir(s->spec->machine, upper, sizeof upper);
        UsernsStage st = {
                .tree = tree,
                .image = s->spec->image ? &s->image.mounts : NULL,
                .read_only = s->spec->read_only,
                .root_mode = s->spec->root_mode,
                .stage = stage,
                .mountpoint = s->root_mountpoint,
                .inaccessible = inaccessible,
                .own_netns = s->spec->network.mode != NETWORK_HOST,
                .uid_shift = s->userns.base,
                .tmpfs_size = s->spec->tmpfs_size,
                .upper_size = size && *size && !disk ? size : s->spec->tmpfs_size,
                .upper_dir = disk ? upper : NULL,
        };
        if (r >= 0)
                r = userns_mounts_apply(outer, s->pidfd, &st, err, sizeof err);
        image_mounts_close(&s->image.mounts); /* the helper attached its copies, or failed */
        if (r < 0) {
                log_error_errno(r, "%s: %m", err);
                return r;
        }
        userns_mounts_done(outer);
        return 0;
}

int owner_switch_enter(uid_t owner, OwnerSwitch *ret) {
        int bits = prctl(PR_GET_SECUREBITS);
        int dumpable = prctl(PR_GET_DUMPABLE);
        if (bits < 0 || dumpable < 0)
                return -errno;
        if (prctl(PR_SET_SECUREBITS, (unsigned long) bits | SECBIT_NO_SETUID_FIXUP) < 0)
                return -errno;
        if (setresuid((uid_t) -1, owner, (uid_t) -1) < 0) {
                int r = -errno;
                (void) prctl(PR_SET_SECUREBITS, (unsigned long) bits);
                return r;
        }
        *ret = (OwnerSwitch){ .securebits = bits, .dumpable = dumpable, .active = true };
        return 0;
}

void owner_switch_leave(OwnerSwitch *o) {
        if (!o->active)
                return;
        /* Cannot fail: the real and saved uids are still 0. A changed euid made us undumpable. */
        (void) setresuid((uid_t) -1, 0, (uid_t) -1);
        (void) prctl(PR_SET_SECUREBITS, (unsigned long) o->securebits);
        (void) prctl(PR_SET_DUMPABLE, o->dumpable == 1 ? 1UL : 0UL); /* 2 cannot be set again */
        o->active = false;
}
