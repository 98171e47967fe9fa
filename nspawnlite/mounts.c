/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/path-util.h"

#define NSD  (MS_NOSUID | MS_NODEV)
#define NSDE (MS_NOSUID | MS_NODEV | MS_NOEXEC)
/* The inodes of a capped tmpfs: each pins memory too (systemd-nspawn's cap). */
#define TMPFS_INODES "nr_inodes=400k"
/* A tmpfs the guest fills: capped, and owned by the guest's root (locked under -U). */
#define FILLED (MOUNT_SIZED | MOUNT_GUEST_TMPFS)
/* What covers part of /proc: skipped where the kernel lacks it, locked under -U. */
#define MASK (MOUNT_OPTIONAL | MOUNT_NO_MKDIR | MOUNT_OUTER)

const MountEntry mount_table[] = {
        /* /dev first: device nodes and the console live there. No nodev here, obviously. */
        { MOUNT_FS, "tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=0755,size=4m,nr_inodes=64k",
          MOUNT_GUEST_TMPFS },
        { MOUNT_FS, "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
          "newinstance,ptmxmode=0666,mode=620,gid=5", 0 },
        /* The tmpfs mounts the guest fills: capped (MOUNT_SIZED), in bytes and inodes. */
        { MOUNT_FS, "tmpfs", "/dev/shm", "tmpfs", NSD | MS_STRICTATIME, "mode=1777," TMPFS_INODES, FILLED },
        { MOUNT_FS, "mqueue", "/dev/mqueue", "mqueue", NSDE, NULL, 0 },
        { MOUNT_FS, "tmpfs", "/run", "tmpfs", NSD | MS_STRICTATIME, "mode=0755," TMPFS_INODES, FILLED },
        { MOUNT_FS, "tmpfs", "/tmp", "tmpfs", NSD | MS_STRICTATIME, "mode=1777," TMPFS_INODES, FILLED },
        { MOUNT_MAKE_INACCESSIBLE_SOURCE, NULL, INACCESSIBLE_FILE, NULL, 0, NULL, 0 },

        { MOUNT_FS, "proc", "/proc", "proc", NSDE, NULL, MOUNT_OUTER },
        /* /proc/sys read-only, but the private network's sysctls stay the guest's. */
        { MOUNT_BIND_SELF, NULL, "/proc/sys/net", NULL, 0, NULL, MASK | MOUNT_NETNS_ONLY },
        { MOUNT_BIND_SELF_RO, NULL, "/proc/sys", NULL, 0, NULL, MOUNT_NO_MKDIR | MOUNT_OUTER },
        { MOUNT_INACCESSIBLE, NULL, "/proc/sysrq-trigger", NULL, 0, NULL, MASK },
        { MOUNT_INACCESSIBLE, NULL, "/proc/kcore", NULL, 0, NULL, MASK },
        { MOUNT_INACCESSIBLE, NULL, "/proc/kallsyms", NULL, 0, NULL, MASK },
        { MOUNT_INACCESSIBLE, NULL, "/proc/keys", NULL, 0, NULL, MASK },
        { MOUNT_INACCESSIBLE, NULL, "/proc/timer_list", NULL, 0, NULL, MASK },
        { MOUNT_BIND_SELF_RO, NULL, "/proc/acpi", NULL, 0, NULL, MASK },
        { MOUNT_BIND_SELF_RO, NULL, "/proc/bus", NULL, 0, NULL, MASK },
        { MOUNT_BIND_SELF_RO, NULL, "/proc/fs", NULL, 0, NULL, MASK },
        { MOUNT_BIND_SELF_RO, NULL, "/proc/irq", NULL, 0, NULL, MASK },
        { MOUNT_BIND_SELF_RO, NULL, "/proc/scsi", NULL, 0, NULL, MASK },

        /* Read-only /sys tells the guest's udev and systemd not to manage devices. */
        { MOUNT_FS, "sysfs", "/sys", "sysfs", NSDE | MS_RDONLY, NULL, MOUNT_OUTER },
        /* fusectl lists and aborts every FUSE connection of the host: not the guest's business (its
         * systemd would mount it there; systemd-nspawn does not show the directory either). */
        { MOUNT_FS, "tmpfs", "/sys/fs/fuse", "tmpfs", NSDE | MS_RDONLY, "mode=0555,nr_inodes=1", MASK },
        /* The guest's cgroup namespace root, writable so its init can manage its services. */
        { MOUNT_FS, "cgroup2", "/sys/fs/cgroup", "cgroup2", NSDE, NULL, MOUNT_NO_MKDIR },
};
const size_t mount_table_size = ELEMENTSOF(mount_table);

static unsigned long statvfs_to_ms(unsigned long f) {
        static const struct {
                unsigned long st, ms;
        } map[] = {
                { ST_NOSUID, MS_NOSUID },   { ST_NODEV, MS_NODEV },           { ST_NOEXEC, MS_NOEXEC },
                { ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
        };
        unsigned long ms = 0;
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (f & map[i].st)
                        ms |= map[i].ms;
        return ms;
}

int mount_remount_read_only(const char *path) {
        struct statvfs sv;
        if (statvfs(path, &sv) < 0)
                return -errno;
        if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | statvfs_to_ms(sv.f_flag), NULL) < 0)
                return -errno;
        return 0;
}

/* Re-resolve path after something was mounted on it: an old fd still sees what lies beneath. */
static int remount_ro_in_root(int rootfd, const char *path) {
        _cleanup_close_ int fd = -EBADF;
        int r = chase_in_root(rootfd, path, O_PATH, &fd);
        if (r < 0)
                return r;
        return mount_remount_read_only(fd_path(fd).path);
}

static int bind_in_root(int rootfd, const char *source_path, const char *where, bool want_dir, bool optional,
                        bool no_mkdir, bool read_only) {
        _cleanup_close_ int target = -EBADF;
        int r;
        if (no_mkdir || optional)
                r = chase_in_root(rootfd, where, O_PATH, &target);
        else
                r = mount_target_in_root(rootfd, where, want_dir, &target);
        if (r == -ENOENT && optional)
                return 0;
        if (r < 0)
                return r;
        const char *src = source_path ?: fd_path(target).path;
        FdPath tp = fd_path(target);
        if (mount(src, tp.path, NULL, MS_BIND | MS_REC, NULL) < 0)
                return -errno;
        return read_only ? remount_ro_in_root(rootfd, where) : 0;
}

/* The options of a capped tmpfs: base, then its size. */
static void sized_options(const char *base, const char *tmpfs_size, char *buf, size_t n) {
        snprintf(buf, n, "%s,size=%s", base, tmpfs_size && *tmpfs_size ? tmpfs_size : TMPFS_SIZE_DEFAULT);
}

static int apply_entry(int rootfd, const MountEntry *e, const MountTableArgs *a) {
        _cleanup_close_ int fd = -EBADF;
        char options[256];
        int r;

        switch (e->op) {
        case MOUNT_FS:
                if (e->mode & MOUNT_NO_MKDIR)
                        r = chase_in_root(rootfd, e->where, O_PATH | O_DIRECTORY, &fd);
                else
                        r = mkdir_p_in_root(rootfd, e->where, 0755, &fd);
                if (r == -ENOENT && (e->mode & MOUNT_OPTIONAL))
                        return 0;
                if (r < 0)
                        return r;
                snprintf(options, sizeof options, "%s", strempty(e->options));
                if (e->mode & MOUNT_SIZED)
                        sized_options(e->options, a->tmpfs_size, options, sizeof options);
                /* Mounted from outside the guest's user namespace: its root is to own it. */
                if ((e->mode & MOUNT_GUEST_TMPFS) && a->phase == MOUNT_PHASE_OUTER)
                        snprintf(options + strlen(options), sizeof options - strlen(options),
                                 ",uid=%" PRIu32 ",gid=%" PRIu32, a->uid_shift, a->uid_shift);
                if (mount(e->what, fd_path(fd).path, e->type, e->flags, e->options ? options : NULL) < 0)
                        return -errno;
                return 0;

        case MOUNT_BIND_SELF:
        case MOUNT_BIND_SELF_RO:
                return bind_in_root(rootfd, NULL, e->where, true, e->mode & MOUNT_OPTIONAL,
                                    e->mode & MOUNT_NO_MKDIR, e->op == MOUNT_BIND_SELF_RO);

        case MOUNT_MAKE_INACCESSIBLE_SOURCE: {
                r = mount_target_in_root(rootfd, e->where, false, &fd);
                if (r < 0)
                        return r;
                /* Reopen the O_PATH fd to change its mode. */
                _cleanup_close_ int w = open(fd_path(fd).path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (w < 0 || fchmod(w, 0000) < 0)
                        return -errno;
                return 0;
        }

        case MOUNT_INACCESSIBLE: {
                _cleanup_close_ int src = -EBADF;
                int inaccessible = a->inaccessible;
                if (inaccessible < 0) {
                        r = chase_in_root(rootfd, INACCESSIBLE_FILE, O_PATH, &src);
                        if (r < 0)
                                return r;
                }
                return bind_in_root(rootfd, fd_path(inaccessible >= 0 ? inaccessible : src).path, e->where,
                                    false, e->mode & MOUNT_OPTIONAL, true, true);
        }
        }
        return -EINVAL;
}

int mounts_apply_table(int rootfd, const MountTableArgs *a, char *err, size_t errlen) {
        for (size_t i = 0; i < mount_table_size; i++) {
                const MountEntry *e = &mount_table[i];
                bool outside = e->mode & (MOUNT_OUTER | MOUNT_GUEST_TMPFS);
                if ((e->mode & MOUNT_NETNS_ONLY) && !a->own_netns)
                        continue;
                if ((a->phase == MOUNT_PHASE_INNER && outside) || (a->phase == MOUNT_PHASE_OUTER && !outside))
                        continue;
                int r = apply_entry(rootfd, e, a);
                if (r < 0) {
                        snprintf(err, errlen, "Failed to mount %s%s%s", e->where, e->type ? " as " : "",
                                 strempty(e->type));
                        return r;
                }
        }
        return 0;
}

int mounts_open_sources(const CustomMount *m, size_t n, MountSources *ret, char *err, size_t errlen) {
        MountSources s = { .fds = malloc(sizeof(int) * (n ?: 1)), .n = n };
        if (!s.fds) {
                snprintf(err, errlen, "Failed to open the bind mount sources");
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                s.fds[i] = -EBADF;
        for (size_t i = 0; i < n; i++) {
                if (m[i].tmpfs)
                        continue;
                s.fds[i] =
                        open_tree(AT_FDCWD, m[i].source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
                int r = s.fds[i] < 0 ? -errno : 0;
                if (r < 0)
                        snprintf(err, errlen, "Failed to open bind mount source %s", m[i].source);
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
                if (r >= 0 && m[i].read_only &&
                    mount_setattr(s.fds[i], "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
                        r = -errno;
                        snprintf(err, errlen, "Failed to make bind mount source %s read-only", m[i].source);
                }
                if (r < 0) {
                        mounts_close_sources(&s);
                        return r;
                }
        }
        *ret = s;
        return 0;
}

void mounts_close_sources(MountSources *s) {
        for (size_t i = 0; i < s->n; i++)
                safe_close(s->fds[i]);
        free(s->fds);
        s->fds = NULL;
        s->n = 0;
}

const char *mounts_host_os_release(void) {
        static const char *const paths[] = { "/etc/os-release", "/usr/lib/os-release" };
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                if (access(paths[i], F_OK) >= 0)
                        return paths[i];
        return NULL;
}

static int apply_tmpfs(int rootfd, const CustomMount *m, const char *tmpfs_size) {
        _cleanup_close_ int fd = -EBADF;
        char options[256];
        sized_options("mode=0755," TMPFS_INODES, tmpfs_size, options, sizeof options);
        int r = mkdir_p_in_root(rootfd, m->dest, 0755, &fd);
        if (r >= 0 && mount("tmpfs", fd_path(fd).path, "tmpfs", NSD, options) < 0)
                r = -errno;
        return r;
}

/* The source was opened on the host; the target is resolved inside the tree. */
static int apply_bind(int rootfd, const CustomMount *m, int source_fd, const char *staged_source) {
        struct stat st;
        _cleanup_close_ int target = -EBADF;
        int r = (staged_source ? stat(staged_source, &st) : fstat(source_fd, &st)) < 0 ? -errno : 0;
        if (r >= 0)
                r = mount_target_in_root(rootfd, m->dest, S_ISDIR(st.st_mode), &target);
        if (r < 0)
                return r;
        if (staged_source)
                r = mount(staged_source, fd_path(target).path, NULL, MS_BIND | MS_REC, NULL);
        else
                r = move_mount(source_fd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
        return r < 0 ? -errno : 0;
}

int mounts_apply_custom(int rootfd, const CustomMount *m, size_t n, const MountSources *src,
                        const char *staged, const char *tmpfs_size, char *err, size_t errlen) {
        for (size_t i = 0; i < n; i++) {
                char source[PATH_MAX];
                if (staged)
                        snprintf(source, sizeof source, "%s/%zu", staged, i);
                int r = m[i].tmpfs ? apply_tmpfs(rootfd, &m[i], tmpfs_size)
                                   : apply_bind(rootfd, &m[i], i < src->n ? src->fds[i] : -EBADF,
                                                staged ? source : NULL);
                if (r == -EROFS)
                        snprintf(err, errlen,
                                 "Failed to create the mount point %s in the read-only tree "
                                 "(create it there first)",
                                 m[i].dest);
                else if (r < 0 && m[i].tmpfs)
                        snprintf(err, errlen, "Failed to mount a tmpfs on %s", m[i].dest);
                else if (r < 0)
                        snprintf(err, errlen, "Failed to bind mount %s on %s", m[i].source, m[i].dest);
                if (r < 0)
                        return r;
        }
        return 0;
}
