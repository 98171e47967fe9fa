/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image store's mechanics: finding, listing, temporaries and their commit, locks, removal,
 * renames, read-only marks and gc. The verbs (cli/verbs-images.c) print. */
#include "machines/images/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define BTRFS_SUBVOL_ROOT_INO 256 /* the inode of every btrfs subvolume's top directory */

static const char *const kind_names[_STORE_KIND_MAX] = {
        [STORE_DIRECTORY] = "directory",
        [STORE_SUBVOLUME] = "subvolume",
        [STORE_RAW] = "raw",
};

const char *store_kind_to_string(StoreKind kind) {
        return kind >= 0 && kind < _STORE_KIND_MAX ? kind_names[kind] : NULL;
}

const char *store_dir(void) {
        const char *e = getenv("NSPAWNLITE_MACHINES_DIR");
        return e && e[0] == '/' ? e : "/var/lib/machines";
}

int store_open(int *ret_fd) {
        const char *dir = store_dir();
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

static bool fd_is_subvolume(int fd, const struct stat *st) {
        struct statfs sfs;
        return S_ISDIR(st->st_mode) && st->st_ino == BTRFS_SUBVOL_ROOT_INO && fstatfs(fd, &sfs) >= 0 &&
               sfs.f_type == BTRFS_SUPER_MAGIC;
}

static usec_t ts_usec(const struct statx_timestamp *ts) {
        return (usec_t) ts->tv_sec * 1000000 + ts->tv_nsec / 1000;
}

/* What the image open at fd is, and how marked (the read-only marks of store_set_read_only()). */
static int image_fill(int fd, StoreImage *img) {
        struct statx sx;
        if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_BTIME, &sx) < 0)
                return -errno;
        struct stat st = { .st_mode = sx.stx_mode, .st_ino = sx.stx_ino };
        img->crtime = (sx.stx_mask & STATX_BTIME) ? ts_usec(&sx.stx_btime) : 0;
        img->mtime = ts_usec(&sx.stx_mtime);
        unsigned attrs = 0;
        if (img->kind == STORE_RAW) {
                img->read_only = (sx.stx_mode & 0222) == 0 ||
                                 (ioctl(fd, FS_IOC_GETFLAGS, &attrs) >= 0 && (attrs & FS_IMMUTABLE_FL));
                return 0;
        }
        if (fd_is_subvolume(fd, &st)) {
                uint64_t flags = 0;
                img->kind = STORE_SUBVOLUME;
                img->read_only =
                        ioctl(fd, BTRFS_IOC_SUBVOL_GETFLAGS, &flags) >= 0 && (flags & BTRFS_SUBVOL_RDONLY);
                return 0;
        }
        img->kind = STORE_DIRECTORY;
        img->read_only = ioctl(fd, FS_IOC_GETFLAGS, &attrs) >= 0 && (attrs & FS_IMMUTABLE_FL);
        return 0;
}

/* The entry file of the store as the image name (file is NAME, or NAME.raw when raw). */
static int image_open_entry(int store_fd, const char *name, bool raw, StoreImage *img, int *ret_fd) {
        StoreImage i = { .kind = raw ? STORE_RAW : STORE_DIRECTORY };
        snprintf(i.name, sizeof i.name, "%s", name);
        snprintf(i.file, sizeof i.file, "%s%s", name, raw ? ".raw" : "");
        /* O_NOFOLLOW: a symlink in the store is no image of ours. */
        int fd = openat(store_fd, i.file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return errno == ELOOP ? -ENOENT : -errno;
        struct stat st;
        int r = fstat(fd, &st) < 0 ? -errno : 0;
        if (r == 0 && !(raw ? S_ISREG(st.st_mode) : S_ISDIR(st.st_mode)))
                r = -ENOENT;
        if (r == 0)
                r = image_fill(fd, &i);
        if (r < 0) {
                close(fd);
                return r;
        }
        *img = i;
        if (ret_fd)
                *ret_fd = fd;
        else
                close(fd);
        return 0;
}

static int store_find_fd(int store_fd, const char *name, StoreImage *ret, int *ret_fd) {
        if (!machine_name_is_valid(name))
                return -EINVAL;
        int r = image_open_entry(store_fd, name, false, ret, ret_fd);
        if (r != -ENOENT && r != -ENOTDIR)
                return r;
        r = image_open_entry(store_fd, name, true, ret, ret_fd);
        return r == -ENOTDIR ? -ENOENT : r;
}

int store_find(int store_fd, const char *name, StoreImage *ret) {
        return store_find_fd(store_fd, name, ret, NULL);
}

static int image_cmp(const void *a, const void *b) {
        return strcmp(((const StoreImage *) a)->name, ((const StoreImage *) b)->name);
}

int store_list(int store_fd, StoreImage **ret, size_t *ret_n) {
        int fd = openat(store_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        StoreImage *list = NULL;
        size_t n = 0;
        int r = 0;
        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                char name[MACHINE_NAME_MAX + 1];
                size_t len = strlen(de->d_name);
                bool raw = len > 4 && strcmp(de->d_name + len - 4, ".raw") == 0;
                StoreImage img;
                /* A directory image may be named NAME.raw too (import-fs DIR x.raw): the entry's
                 * whole name first, then the raw image's. */
                bool found = raw && len < sizeof name && machine_name_is_valid(de->d_name) &&
                             image_open_entry(store_fd, de->d_name, false, &img, NULL) >= 0;
                if (!found && len - (raw ? 4 : 0) < sizeof name) {
                        snprintf(name, sizeof name, "%.*s", (int) (len - (raw ? 4 : 0)), de->d_name);
                        /* Hidden entries and temporaries fail the name check; a raw NAME.raw
                         * shadowed by a directory NAME is what store_find() would not find either. */
                        found = machine_name_is_valid(name) && store_find(store_fd, name, &img) >= 0 &&
                                strcmp(img.file, de->d_name) == 0;
                }
                if (!found)
                        continue;
                StoreImage *l = realloc(list, (n + 1) * sizeof *list);
                if (!l) {
                        r = -ENOMEM;
                        break;
                }
                list = l;
                list[n++] = img;
        }
        if (r == 0 && errno != 0)
                r = -errno;
        closedir(d);
        if (r < 0) {
                free(list);
                return r;
        }
        if (n > 0)
                qsort(list, n, sizeof *list, image_cmp);
        *ret = list;
        *ret_n = n;
        return 0;
}

/* Blocks below dirfd, on its own filesystem; a file's blocks shared among its links count once
 * in all when every link is in the tree (the usual case for an OS tree). */
static int usage_walk(int dirfd, dev_t dev, unsigned depth, uint64_t *sum) {
        if (depth > 256)
                return -ELOOP;
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        int r = 0;
        for (struct dirent *de; r >= 0 && (de = readdir(d));) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                struct stat st;
                if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
                        continue;
                if (!S_ISDIR(st.st_mode)) {
                        *sum += (uint64_t) st.st_blocks * 512 / (st.st_nlink ?: 1);
                        continue;
                }
                *sum += (uint64_t) st.st_blocks * 512;
                int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        continue;
                r = usage_walk(sub, dev, depth + 1, sum);
                close(sub);
        }
        closedir(d);
        return r;
}

int store_usage(int store_fd, const StoreImage *img, uint64_t *ret) {
        int fd = openat(store_fd, img->file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        struct stat st;
        int r = fstat(fd, &st) < 0 ? -errno : 0;
        uint64_t sum = r == 0 ? (uint64_t) st.st_blocks * 512 : 0;
        if (r == 0 && S_ISDIR(st.st_mode))
                r = usage_walk(fd, st.st_dev, 0, &sum);
        close(fd);
        if (r < 0)
                return r;
        *ret = sum;
        return 0;
}

int store_lock_fd(int fd, bool exclusive) {
        if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : -errno;
        return 0;
}

int store_lock_image(int store_fd, const char *name, bool exclusive, int *ret_lock_fd) {
        StoreImage img;
        int fd = -EBADF;
        int r = store_find_fd(store_fd, name, &img, &fd);
        if (r < 0)
                return r;
        r = store_lock_fd(fd, exclusive);
        if (r < 0) {
                close(fd);
                return r;
        }
        *ret_lock_fd = fd;
        return 0;
}

/* gc holds this exclusively while it looks at temporaries; store_begin() holds it shared from the
 * temporary's creation until it is locked, so gc never takes a temporary made a moment ago for an
 * abandoned one. */
static int store_guard(int store_fd, bool exclusive) {
        int fd = openat(store_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static int temp_name(const char *file, char *buf, size_t size) {
        uint64_t rnd;
        if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
                return -EIO;
        static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        char suffix[7];
        for (size_t i = 0; i < 6; i++, rnd /= 62)
                suffix[i] = chars[rnd % 62];
        suffix[6] = 0;
        snprintf(buf, size, ".#%s.%s", file, suffix);
        return 0;
}

static int name_taken(int store_fd, const char *name) {
        StoreImage img;
        int r = store_find(store_fd, name, &img);
        if (r == 0)
                return -EEXIST;
        if (r != -ENOENT)
                return r;
        /* A directory NAME that is not an image still blocks NAME (a symlink, say): never over it. */
        struct stat st;
        if (fstatat(store_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return -EEXIST;
        return 0;
}

/* Make the temporary for kind (src_fd: a subvolume to snapshot, or -EBADF) and open it. */
static int temp_make(int store_fd, const char *temp, StoreKind kind, int src_fd) {
        switch (kind) {
        case STORE_RAW: {
                int fd = openat(store_fd, temp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                return fd < 0 ? -errno : fd;
        }
        case STORE_DIRECTORY:
                if (mkdirat(store_fd, temp, 0755) < 0)
                        return -errno;
                break;
        case STORE_SUBVOLUME: {
                struct btrfs_ioctl_vol_args_v2 args = { .fd = src_fd };
                snprintf(args.name, sizeof args.name, "%s", temp);
                if (ioctl(store_fd, src_fd >= 0 ? BTRFS_IOC_SNAP_CREATE_V2 : BTRFS_IOC_SUBVOL_CREATE_V2,
                          &args) < 0)
                        return errno == EINVAL || errno == EOPNOTSUPP ? -ENOTTY : -errno;
                break;
        }
        default:
                return -EINVAL;
        }
        int fd = openat(store_fd, temp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static int begin(int store_fd, const char *name, StoreKind kind, int src_fd, StoreTemp *ret) {
        if (!machine_name_is_valid(name))
                return -EINVAL;
        int r = name_taken(store_fd, name);
        if (r < 0)
                return r;
        StoreTemp t = { .store_fd = -EBADF, .fd = -EBADF, .kind = kind };
        snprintf(t.file, sizeof t.file, "%s%s", name, kind == STORE_RAW ? ".raw" : "");
        int guard = store_guard(store_fd, false);
        if (guard < 0)
                return guard;
        for (unsigned tries = 0;; tries++) {
                r = temp_name(t.file, t.temp, sizeof t.temp);
                if (r >= 0)
                        r = temp_make(store_fd, t.temp, kind, src_fd);
                if (r != -EEXIST || tries > 16)
                        break;
        }
        if (r >= 0) {
                t.fd = r;
                /* Ours alone from the start: nobody else knows the name yet. */
                r = flock(t.fd, LOCK_EX | LOCK_NB) < 0 ? -errno : 0;
                if (r >= 0)
                        r = t.store_fd = fcntl(store_fd, F_DUPFD_CLOEXEC, 3);
                if (r < 0) {
                        t.store_fd = store_fd;
                        store_abort(&t);
                }
        }
        close(guard);
        if (r < 0)
                return r;
        *ret = t;
        return 0;
}

int store_begin(int store_fd, const char *name, StoreKind kind, StoreTemp *ret) {
        return begin(store_fd, name, kind, -EBADF, ret);
}

int store_begin_snapshot(int store_fd, const char *name, int src_fd, StoreTemp *ret) {
        return begin(store_fd, name, STORE_SUBVOLUME, src_fd, ret);
}

int store_commit(StoreTemp *t) {
        /* NAME.raw and NAME/ are one name: neither may appear beside the other. */
        char name[MACHINE_NAME_MAX + 1];
        snprintf(name, sizeof name, "%.*s", (int) (strlen(t->file) - (t->kind == STORE_RAW ? 4 : 0)),
                 t->file);
        int r = name_taken(t->store_fd, name);
        if (r < 0)
                return r;
        if (renameat2(t->store_fd, t->temp, t->store_fd, t->file, RENAME_NOREPLACE) < 0)
                return -errno;
        t->temp[0] = 0;
        t->fd = safe_close(t->fd);
        t->store_fd = safe_close(t->store_fd);
        return 0;
}

void store_abort(StoreTemp *t) {
        if (t->temp[0] && t->store_fd >= 0)
                (void) store_remove_tree_at(t->store_fd, t->temp);
        t->temp[0] = 0;
        t->fd = safe_close(t->fd);
        t->store_fd = safe_close(t->store_fd);
}

static int subvolume_destroy(int dirfd, const char *name) {
        struct btrfs_ioctl_vol_args args = { .fd = 0 };
        snprintf(args.name, sizeof args.name, "%s", name);
        return ioctl(dirfd, BTRFS_IOC_SNAP_DESTROY, &args) < 0 ? -errno : 0;
}

/* The mount id of name below dirfd ("" for dirfd itself), not following a symlink. */
static int mount_id_at(int dirfd, const char *name, uint64_t *ret) {
        struct statx sx;
        if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | (name[0] ? 0 : AT_EMPTY_PATH), STATX_MNT_ID, &sx) < 0)
                return -errno;
        if (!(sx.stx_mask & STATX_MNT_ID))
                return -EOPNOTSUPP;
        *ret = sx.stx_mnt_id;
        return 0;
}

/* A mount on a directory of the tree (a bind mount of the host's, say) is not the image's: the
 * removal stops there instead of emptying what it shows. Mount ids, not st_dev, since a nested
 * btrfs subvolume has a device of its own yet is part of the tree. */
static int is_other_mount(int dirfd, uint64_t parent_mnt, const char *name) {
        uint64_t id;
        int r = mount_id_at(dirfd, name, &id);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        return id != parent_mnt;
}

/* Deeper than this, a directory is moved up to the top of the removal and removed from there on a
 * later pass: a tree of any depth (a tar's, a guest's) goes with a bounded stack and fd count. */
#define REMOVE_DEPTH_MOVE 64

typedef struct {
        int top_fd;    /* the directory being removed */
        uint64_t mnt;  /* its mount: the removal never leaves it */
        unsigned next; /* for the names of what is moved up */
        bool again;    /* something was moved up: one more pass */
} RemoveWalk;

/* Move the directory name of fd (deep in the tree) up into the top directory, under a name of
 * its own; 0 when moved. */
static int move_up(RemoveWalk *w, int fd, const char *name) {
        for (unsigned tries = 0; tries < 64; tries++) {
                char up[32];
                snprintf(up, sizeof up, ".#deep.%u", w->next++);
                if (renameat2(fd, name, w->top_fd, up, RENAME_NOREPLACE) >= 0) {
                        w->again = true;
                        return 0;
                }
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

static int remove_children(RemoveWalk *w, int fd, unsigned depth) {
        if (depth > 256)
                return -ELOOP;
        int k;
        /* A description of its own (not a dup): each pass reads the directory from its start. */
        int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        DIR *d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return -errno;
        }
        int r = 0;
        for (struct dirent *de; (de = readdir(d));) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                struct stat st;
                if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (!S_ISDIR(st.st_mode)) {
                        if (unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT && r == 0)
                                r = -errno;
                        continue;
                }
                k = is_other_mount(fd, w->mnt, de->d_name);
                if (k != 0) {
                        if (r == 0)
                                r = k > 0 ? -EBUSY : k;
                        continue;
                }
                int sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        continue;
                if (depth >= REMOVE_DEPTH_MOVE && move_up(w, fd, de->d_name) >= 0) {
                        close(sub);
                        continue;
                }
                bool subvol = fd_is_subvolume(sub, &st);
                if (subvol && subvolume_destroy(fd, de->d_name) >= 0) {
                        close(sub);
                        continue;
                }
                k = remove_children(w, sub, depth + 1);
                close(sub);
                if (k < 0 && r == 0)
                        r = k;
                if (unlinkat(fd, de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                        r = -errno;
        }
        closedir(d);
        return r;
}

int store_remove_tree_at(int dirfd, const char *name) {
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
        uint64_t mnt;
        int r = mount_id_at(dirfd, "", &mnt);
        if (r >= 0)
                r = is_other_mount(dirfd, mnt, name);
        if (r != 0)
                return r > 0 ? -EBUSY : r;
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* A subvolume goes at once, whatever it holds (and read-only ones too). */
        if (fd_is_subvolume(fd, &st) && subvolume_destroy(dirfd, name) >= 0) {
                close(fd);
                return 0;
        }
        RemoveWalk w = { .top_fd = fd, .mnt = mnt };
        do {
                w.again = false;
                r = remove_children(&w, fd, 0);
        } while (r >= 0 && w.again);
        close(fd);
        if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && r == 0)
                r = -errno;
        return r;
}

int store_remove(int store_fd, const StoreImage *img) {
        char temp[STORE_TEMP_MAX];
        int r = temp_name(img->file, temp, sizeof temp);
        if (r < 0)
                return r;
        /* Out of its name at once: what a crash leaves after this is a temporary. */
        if (renameat2(store_fd, img->file, store_fd, temp, RENAME_NOREPLACE) < 0)
                return -errno;
        return store_remove_tree_at(store_fd, temp);
}

int store_rename(int store_fd, const StoreImage *img, const char *new_name) {
        if (!machine_name_is_valid(new_name))
                return -EINVAL;
        int r = name_taken(store_fd, new_name);
        if (r < 0)
                return r;
        char file[STORE_FILE_MAX];
        snprintf(file, sizeof file, "%s%s", new_name, img->kind == STORE_RAW ? ".raw" : "");
        return renameat2(store_fd, img->file, store_fd, file, RENAME_NOREPLACE) < 0 ? -errno : 0;
}

int store_set_read_only(int store_fd, const StoreImage *img, bool read_only) {
        int fd = openat(store_fd, img->file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        int r = 0;
        struct stat st;
        unsigned attrs = 0;
        switch (img->kind) {
        case STORE_SUBVOLUME: {
                uint64_t flags = 0;
                if (ioctl(fd, BTRFS_IOC_SUBVOL_GETFLAGS, &flags) < 0)
                        r = -errno;
                flags = read_only ? flags | BTRFS_SUBVOL_RDONLY : flags & ~(uint64_t) BTRFS_SUBVOL_RDONLY;
                if (r == 0 && ioctl(fd, BTRFS_IOC_SUBVOL_SETFLAGS, &flags) < 0)
                        r = -errno;
                break;
        }
        case STORE_DIRECTORY:
                /* The top directory's mode is the guest's "/": the immutable attribute marks it. */
                if (ioctl(fd, FS_IOC_GETFLAGS, &attrs) < 0)
                        r = -errno;
                attrs = read_only ? attrs | FS_IMMUTABLE_FL : attrs & ~(unsigned) FS_IMMUTABLE_FL;
                if (r == 0 && ioctl(fd, FS_IOC_SETFLAGS, &attrs) < 0)
                        r = -errno;
                break;
        case STORE_RAW:
                if (fstat(fd, &st) < 0 || fchmod(fd, (st.st_mode & 0444) | (read_only ? 0 : 0200)) < 0)
                        r = -errno;
                break;
        default:
                r = -EINVAL;
        }
        close(fd);
        return r;
}

int store_gc(int store_fd, unsigned *ret_removed) {
        int guard = store_guard(store_fd, true);
        if (guard < 0)
                return guard;
        int dfd = openat(store_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (!d) {
                int r = -errno;
                safe_close(dfd);
                close(guard);
                return r;
        }
        unsigned removed = 0;
        int r = 0;
        for (struct dirent *de; (de = readdir(d));) {
                if (strncmp(de->d_name, ".#", 2) != 0)
                        continue;
                int fd = openat(store_fd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
                /* Held: its writer is at work. */
                if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
                        close(fd);
                        continue;
                }
                int k = store_remove_tree_at(store_fd, de->d_name);
                safe_close(fd);
                if (k < 0 && k != -ENOENT && r == 0)
                        r = k;
                if (k >= 0)
                        removed++;
        }
        closedir(d);
        close(guard);
        if (ret_removed)
                *ret_removed = removed;
        return r;
}
