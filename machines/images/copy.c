/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/images/copy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <search.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "nspawnlite/basic/macro.h"

#define COPY_CHUNK       (16u << 20) /* per copy_file_range() call, so that progress moves */
#define COPY_DEPTH_MAX   512
#define XATTR_LIST_MAX_B 65536

typedef struct {
        dev_t dev;
        ino_t ino;
        char *path; /* of the first copy, relative to the destination's top */
} LinkEntry;

typedef struct {
        int dst_top;
        dev_t top_dev;
        void *links; /* tsearch() tree of LinkEntry: inodes with more than one link */
        CopyProgress progress;
        void *userdata;
        uint64_t bytes;
} CopyState;

static int link_cmp(const void *a, const void *b) {
        const LinkEntry *x = a, *y = b;
        if (x->dev != y->dev)
                return x->dev < y->dev ? -1 : 1;
        return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static void link_free(void *p) {
        LinkEntry *e = p;
        free(e->path);
        free(e);
}

static int progress_add(CopyState *s, uint64_t n) {
        s->bytes += n;
        return s->progress ? s->progress(s->bytes, s->userdata) : 0;
}

static ssize_t copy_buffered(int src, off_t *in, int dst, off_t *out, size_t len) {
        char buf[64 * 1024];
        ssize_t n = pread(src, buf, len < sizeof buf ? len : sizeof buf, *in);
        if (n <= 0)
                return n;
        for (ssize_t done = 0; done < n;) {
                ssize_t w = pwrite(dst, buf + done, n - done, *out + done);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -1;
                done += w;
        }
        *in += n;
        *out += n;
        return n;
}

static int copy_data(int src, int dst, CopyState *s) {
        /* Shared blocks where the filesystem can (btrfs, XFS): instant, no space used. */
        if (ioctl(dst, FICLONE, src) >= 0) {
                struct stat st;
                return fstat(src, &st) < 0 ? 0 : progress_add(s, st.st_size);
        }
        struct stat st;
        if (fstat(src, &st) < 0)
                return -errno;
        off_t pos = 0;
        while (pos < st.st_size) {
                /* Holes stay holes: copy the data regions only. */
                off_t data = lseek(src, pos, SEEK_DATA);
                if (data < 0 && errno == ENXIO)
                        break;
                if (data < 0)
                        data = pos; /* no SEEK_DATA here: all of it */
                off_t hole = lseek(src, data, SEEK_HOLE);
                if (hole < 0)
                        hole = st.st_size;
                for (off_t in = data, out = data; in < hole;) {
                        size_t len = hole - in > COPY_CHUNK ? COPY_CHUNK : (size_t) (hole - in);
                        ssize_t n = copy_file_range(src, &in, dst, &out, len, 0);
                        if (n < 0 && errno == EINTR)
                                continue;
                        /* Across filesystems of different types (EXDEV), or where it is not
                         * implemented: through a buffer. */
                        if (n < 0 &&
                            (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS))
                                n = copy_buffered(src, &in, dst, &out, len);
                        if (n < 0)
                                return -errno;
                        if (n == 0)
                                return -EIO; /* the file shrank under us */
                        int r = progress_add(s, n);
                        if (r < 0)
                                return r;
                }
                pos = hole;
        }
        return ftruncate(dst, st.st_size) < 0 ? -errno : 0;
}

int copy_file_data(int src_fd, int dst_fd, CopyProgress progress, void *userdata) {
        CopyState s = { .progress = progress, .userdata = userdata };
        return copy_data(src_fd, dst_fd, &s);
}

/* Every xattr of src_dirfd/name (system.posix_acl_* included: the ACLs) onto dst_dirfd/name, without
 * following a symlink at the end. */
static int copy_xattrs(int src_dirfd, const char *src_name, int dst_dirfd, const char *dst_name) {
        char sp[PATH_MAX], dp[PATH_MAX];
        /* The l*xattr() calls take paths; these go through the open directories, never a name of
         * the tree resolved from the top. */
        snprintf(sp, sizeof sp, "/proc/self/fd/%d/%s", src_dirfd, src_name);
        snprintf(dp, sizeof dp, "/proc/self/fd/%d/%s", dst_dirfd, dst_name);
        _cleanup_free_ char *names = malloc(XATTR_LIST_MAX_B), *value = malloc(XATTR_SIZE_MAX);
        if (!names || !value)
                return -ENOMEM;
        ssize_t n = llistxattr(sp, names, XATTR_LIST_MAX_B);
        if (n < 0)
                return errno == ENOTSUP ? 0 : -errno;
        for (char *k = names; k < names + n; k += strlen(k) + 1) {
                ssize_t len = lgetxattr(sp, k, value, XATTR_SIZE_MAX);
                if (len < 0) {
                        if (errno == ENODATA)
                                continue;
                        return -errno;
                }
                if (lsetxattr(dp, k, value, len, 0) < 0)
                        return -errno;
        }
        return 0;
}

/* Owner, mode, xattrs, then times (each of the others changes the ctime, xattrs may change the
 * mtime on some filesystems): in this order, since chown clears set-id bits and a chmod after an
 * ACL would change its mask. */
static int copy_meta(int src_dirfd, const char *src_name, int dst_dirfd, const char *dst_name,
                     const struct stat *st) {
        if (fchownat(dst_dirfd, dst_name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (!S_ISLNK(st->st_mode) && fchmodat(dst_dirfd, dst_name, st->st_mode & 07777, 0) < 0)
                return -errno;
        int r = copy_xattrs(src_dirfd, src_name, dst_dirfd, dst_name);
        if (r < 0)
                return r;
        struct timespec ts[2] = { st->st_atim, st->st_mtim };
        return utimensat(dst_dirfd, dst_name, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int copy_regular(int src_dirfd, const char *name, int dst_dirfd, CopyState *s) {
        _cleanup_close_ int src = openat(src_dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (src < 0)
                return -errno;
        _cleanup_close_ int dst =
                openat(dst_dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (dst < 0)
                return -errno;
        return copy_data(src, dst, s);
}

/* A second link of an inode copied already becomes a link of its copy. 1: linked, 0: the first. */
static int copy_hardlink(const char *path, int dst_dirfd, const char *name, const struct stat *st,
                         CopyState *s) {
        if (S_ISDIR(st->st_mode) || st->st_nlink < 2)
                return 0;
        LinkEntry key = { .dev = st->st_dev, .ino = st->st_ino };
        LinkEntry **found = tfind(&key, &s->links, link_cmp);
        if (found)
                return linkat(s->dst_top, (*found)->path, dst_dirfd, name, 0) < 0 ? -errno : 1;
        LinkEntry *e = malloc(sizeof *e);
        if (!e || !(e->path = strdup(path))) {
                free(e);
                return -ENOMEM;
        }
        e->dev = st->st_dev;
        e->ino = st->st_ino;
        if (!tsearch(e, &s->links, link_cmp)) {
                link_free(e);
                return -ENOMEM;
        }
        return 0;
}

static int copy_dir(int src, int dst, char *path, size_t path_len, unsigned depth, CopyState *s);

/* One entry name of src_dirfd into dst_dirfd; path is its path below the top (for hardlinks). */
static int copy_entry(int src_dirfd, int dst_dirfd, const char *name, char *path, size_t path_len,
                      unsigned depth, CopyState *s) {
        struct stat st;
        if (fstatat(src_dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno; /* gone meanwhile */
        int r = copy_hardlink(path, dst_dirfd, name, &st, s);
        if (r != 0)
                return r < 0 ? r : 0;
        switch (st.st_mode & S_IFMT) {
        case S_IFREG:
                r = copy_regular(src_dirfd, name, dst_dirfd, s);
                break;
        case S_IFDIR: {
                if (mkdirat(dst_dirfd, name, 0700) < 0)
                        return -errno;
                /* Another filesystem mounted here (a /proc, say) is not the tree's: left empty. */
                if (st.st_dev != s->top_dev)
                        break;
                _cleanup_close_ int sd =
                        openat(src_dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_close_ int dd =
                        openat(dst_dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sd < 0 || dd < 0)
                        return -errno;
                r = copy_dir(sd, dd, path, path_len, depth + 1, s);
                break;
        }
        case S_IFLNK: {
                char target[PATH_MAX];
                ssize_t n = readlinkat(src_dirfd, name, target, sizeof target - 1);
                if (n < 0)
                        return -errno;
                target[n] = 0;
                r = symlinkat(target, dst_dirfd, name) < 0 ? -errno : 0;
                break;
        }
        case S_IFCHR:
        case S_IFBLK:
        case S_IFIFO:
        case S_IFSOCK:
                r = mknodat(dst_dirfd, name, (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0 ? -errno : 0;
                break;
        default:
                return -EBADF;
        }
        if (r < 0)
                return r;
        return copy_meta(src_dirfd, name, dst_dirfd, name, &st);
}

static int copy_dir(int src, int dst, char *path, size_t path_len, unsigned depth, CopyState *s) {
        if (depth > COPY_DEPTH_MAX)
                return -ELOOP;
        int dfd = fcntl(src, F_DUPFD_CLOEXEC, 3);
        if (dfd < 0)
                return -errno;
        DIR *d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return -errno;
        }
        size_t base = strlen(path);
        int r = 0;
        for (struct dirent *de; r >= 0 && (errno = 0, de = readdir(d));) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (snprintf(path + base, path_len - base, "%s%s", base ? "/" : "", de->d_name) >=
                    (int) (path_len - base)) {
                        r = -ENAMETOOLONG;
                        break;
                }
                r = progress_add(s, 0); /* a chance to stop, also between empty files */
                if (r >= 0)
                        r = copy_entry(src, dst, de->d_name, path, path_len, depth, s);
                path[base] = 0;
        }
        if (r >= 0 && errno != 0)
                r = -errno;
        closedir(d);
        return r;
}

int copy_tree(int src_fd, int dst_fd, CopyProgress progress, void *userdata) {
        struct stat st;
        if (fstat(src_fd, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        CopyState s = {
                .dst_top = dst_fd,
                .top_dev = st.st_dev,
                .progress = progress,
                .userdata = userdata,
        };
        _cleanup_free_ char *path = calloc(1, PATH_MAX * 4);
        if (!path)
                return -ENOMEM;
        int r = copy_dir(src_fd, dst_fd, path, PATH_MAX * 4, 0, &s);
        tdestroy(s.links, link_free);
        if (r < 0)
                return r;
        /* The top last: its times must not move with what was made in it. */
        return copy_meta(src_fd, ".", dst_fd, ".", &st);
}
