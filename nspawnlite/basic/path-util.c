/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/basic/path-util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nspawnlite/basic/macro.h"

FdPath fd_path(int fd) {
        FdPath p;
        snprintf(p.path, sizeof p.path, "/proc/self/fd/%d", fd);
        return p;
}

bool path_is_absolute(const char *p) {
        return p && p[0] == '/';
}

bool path_is_safe_absolute(const char *p) {
        if (!path_is_absolute(p) || strlen(p) >= 4096)
                return false;
        const char *s = p;
        bool any = false;
        while (*s) {
                while (*s == '/')
                        s++;
                if (!*s)
                        break;
                size_t n = strcspn(s, "/");
                if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                        return false;
                any = true;
                s += n;
        }
        return any;
}

/* visit(prefix, last, userdata) for "/", each prefix of the absolute path that ends before a '/',
 * then the path itself (last); stops at the first non-zero answer and returns it. */
typedef int (*PrefixVisit)(const char *prefix, bool last, void *userdata);
static int walk_prefixes(const char *path, PrefixVisit visit, void *userdata) {
        if (!path_is_absolute(path))
                return -EINVAL;
        size_t n = strlen(path);
        char buf[PATH_MAX];
        if (n >= sizeof buf)
                return -ENAMETOOLONG;
        memcpy(buf, path, n + 1);
        for (size_t i = 1; i <= n; i++) {
                if (i < n && buf[i] != '/')
                        continue;
                char c = buf[i];
                buf[i] = 0;
                int r = visit(i == 1 && c == '/' ? "/" : buf, i == n, userdata);
                buf[i] = c;
                if (r != 0)
                        return r;
        }
        return 0;
}

/* 1 where others may not pass; else the prefix is the deepest closable directory so far. */
static int visit_reachable(const char *prefix, bool last, void *userdata) {
        struct stat st;
        if (stat(prefix, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode) || !(st.st_mode & S_IXOTH))
                return 1;
        if (!last)
                *(size_t *) userdata = strlen(prefix);
        return 0;
}

int path_reachable_by_all(const char *path, size_t *ret_closable) {
        size_t closable = 0;
        int r = walk_prefixes(path, visit_reachable, &closable);
        if (r != 0)
                return r < 0 ? r : 0;
        if (ret_closable)
                *ret_closable = closable == 0 ? 1 : closable;
        return 1;
}

typedef struct {
        int depth; /* a symlink's target is checked as a path of its own, and has none (realpath) */
        char *bad;
        size_t n_bad;
} RootOnlyWalk;

static int root_only_at(const char *path, int depth, char *ret_bad, size_t n_bad);

/* 0 to go on, 1 to stop as fine, -errno (-EPERM: others may change it) to stop as not. */
static int visit_root_only(const char *p, bool last, void *userdata) {
        RootOnlyWalk *w = userdata;
        struct stat st;
        int r = lstat(p, &st) < 0 ? -errno : 0;
        bool ok = r >= 0;
        if (r == -ENOENT) /* the rest is ours to create, in a directory found safe */
                return 1;
        if (ok && S_ISLNK(st.st_mode)) {
                char real[PATH_MAX];
                ok = st.st_uid == 0 && w->depth == 0 && realpath(p, real) &&
                     root_only_at(real, w->depth + 1, w->bad, w->n_bad) == 0;
        } else if (ok)
                /* Sticky (/tmp): others cannot replace root's entries, only add theirs. */
                ok = S_ISDIR(st.st_mode) && st.st_uid == 0 &&
                     (!(st.st_mode & (S_IWGRP | S_IWOTH)) || ((st.st_mode & S_ISVTX) && !last));
        if (ok)
                return 0;
        if (w->bad && !w->bad[0]) /* the innermost: the real culprit */
                snprintf(w->bad, w->n_bad, "%s", p);
        return r < 0 ? r : -EPERM;
}

static int root_only_at(const char *path, int depth, char *ret_bad, size_t n_bad) {
        RootOnlyWalk w = { .depth = depth, .bad = ret_bad, .n_bad = n_bad };
        int r = walk_prefixes(path, visit_root_only, &w);
        return r < 0 ? r : 0;
}

int path_only_root_changes(const char *path, char *ret_bad, size_t n_bad) {
        if (ret_bad && n_bad)
                ret_bad[0] = 0;
        return root_only_at(path, 0, ret_bad, n_bad);
}

static int openat2_in_root(int rootfd, const char *path, int flags) {
        struct open_how how = {
                .flags = (unsigned) flags | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int) syscall(SYS_openat2, rootfd, path, &how, sizeof how);
        return fd < 0 ? -errno : fd;
}

/* Fallback without openat2: walk one component at a time and refuse symlinks altogether. */
static int walk_nofollow(int rootfd, const char *path, int flags) {
        _cleanup_close_ int cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cur < 0)
                return -errno;
        const char *s = path;
        for (;;) {
                while (*s == '/')
                        s++;
                if (!*s)
                        return (flags & O_PATH) ? TAKE_FD(cur) : -EISDIR;
                size_t n = strcspn(s, "/");
                char comp[256];
                if (n >= sizeof comp)
                        return -ENAMETOOLONG;
                memcpy(comp, s, n);
                comp[n] = 0;
                s += n;
                if (strcmp(comp, "..") == 0)
                        return -EPERM;
                while (*s == '/')
                        s++;
                bool last = !*s;
                int fd = openat(cur, comp, (last ? flags : O_PATH | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                struct stat st;
                if ((flags & O_PATH) && fstat(fd, &st) >= 0 && S_ISLNK(st.st_mode)) {
                        close(fd);
                        return -ELOOP;
                }
                safe_close(cur);
                cur = fd;
                if (last)
                        return TAKE_FD(cur);
        }
}

int chase_in_root(int rootfd, const char *path, int open_flags, int *ret_fd) {
        /* With RESOLVE_IN_ROOT the kernel answers EAGAIN to a ".." walk that raced with a mount or
         * a rename anywhere on the host (constant while many machines start): just walk again. */
        int fd = -EAGAIN;
        for (int attempt = 0; attempt < 128 && fd == -EAGAIN; attempt++)
                fd = openat2_in_root(rootfd, path, open_flags);
        if (fd == -ENOSYS)
                fd = walk_nofollow(rootfd, path, open_flags);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

int open_no_symlinks(const char *path, int open_flags, int *ret_fd) {
        if (!path_is_absolute(path))
                return -EINVAL;
        struct open_how how = { .flags = (unsigned) open_flags | O_CLOEXEC,
                                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
        int fd = (int) syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
        fd = fd < 0 ? -errno : fd;
        if (fd == -ENOSYS) {
                _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                fd = root < 0 ? -errno : walk_nofollow(root, path, open_flags);
        }
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

/* Lexically normalise an absolute path, clamping ".." at "/" as RESOLVE_IN_ROOT does. */
static int normalize_in_root(const char *in, char *out, size_t n) {
        size_t len = 0;
        const char *s = in;
        out[0] = 0;
        for (;;) {
                while (*s == '/')
                        s++;
                if (!*s)
                        break;
                size_t c = strcspn(s, "/");
                if (c == 1 && s[0] == '.') {
                } else if (c == 2 && s[0] == '.' && s[1] == '.') {
                        while (len > 0 && out[len - 1] != '/')
                                len--;
                        if (len > 0)
                                len--;
                        out[len] = 0;
                } else {
                        if (len + 1 + c + 1 > n)
                                return -ENAMETOOLONG;
                        out[len++] = '/';
                        memcpy(out + len, s, c);
                        len += c;
                        out[len] = 0;
                }
                s += c;
        }
        if (len == 0) {
                if (n < 2)
                        return -ENAMETOOLONG;
                strcpy(out, "/");
        }
        return 0;
}

/* path names a symlink in the tree whose target does not exist: where it points, inside the tree. */
static int dangling_target(int parent, const char *path, const char *last, char *ret, size_t n) {
        char target[4096], joined[8192];
        ssize_t k = readlinkat(parent, last, target, sizeof target - 1);
        if (k < 0)
                return errno == EINVAL ? -ENOTDIR : -errno;
        target[k] = 0;
        if (target[0] == '/')
                snprintf(joined, sizeof joined, "%s", target);
        else {
                const char *slash = strrchr(path, '/');
                snprintf(joined, sizeof joined, "%.*s/%s", (int) (slash - path), path, target);
        }
        return normalize_in_root(joined, ret, n);
}

static int mkdir_p_depth(int rootfd, const char *path, mode_t mode, int *ret_fd, unsigned depth);
static int target_depth(int rootfd, const char *path, bool want_dir, int *ret_fd, unsigned depth);

/* Split path into the parent's fd (created if needed) and the last component. */
static int open_parent_in_root(int rootfd, const char *path, mode_t mode, int *ret_fd, char last[static 256],
                               unsigned depth) {
        const char *slash = strrchr(path, '/');
        if (!slash || strlen(slash + 1) == 0 || strlen(slash + 1) >= 256)
                return -EINVAL;
        strcpy(last, slash + 1);
        if (slash == path)
                return chase_in_root(rootfd, "/", O_PATH | O_DIRECTORY, ret_fd);
        char parent[4096];
        size_t n = (size_t) (slash - path);
        if (n >= sizeof parent)
                return -ENAMETOOLONG;
        memcpy(parent, path, n);
        parent[n] = 0;
        return mkdir_p_depth(rootfd, parent, mode, ret_fd, depth);
}

/* Symlinks met on the way are followed inside the tree, their missing targets created there, the
 * way an init would see them once the tree is its root. */
#define MAX_LINK_DEPTH 32

static int mkdir_p_depth(int rootfd, const char *path, mode_t mode, int *ret_fd, unsigned depth) {
        if (depth > MAX_LINK_DEPTH)
                return -ELOOP;
        int fd;
        int r = chase_in_root(rootfd, path, O_PATH | O_DIRECTORY, &fd);
        if (r != -ENOENT) {
                if (r >= 0)
                        *ret_fd = fd;
                return r;
        }
        char norm[4096];
        if (!path_is_absolute(path) || normalize_in_root(path, norm, sizeof norm) < 0 ||
            strcmp(norm, "/") == 0)
                return -EINVAL;

        _cleanup_close_ int parent = -EBADF;
        char last[256];
        r = open_parent_in_root(rootfd, norm, mode, &parent, last, depth);
        if (r < 0)
                return r;
        if (mkdirat(parent, last, mode) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(parent, last, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
                *ret_fd = fd;
                return 0;
        }
        if (errno != ENOTDIR && errno != ELOOP)
                return -errno;
        char target[4096];
        r = dangling_target(parent, norm, last, target, sizeof target);
        if (r < 0)
                return r;
        r = mkdir_p_depth(rootfd, target, mode, &fd, depth + 1);
        if (r < 0)
                return r;
        safe_close(fd);
        return chase_in_root(rootfd, norm, O_PATH | O_DIRECTORY, ret_fd);
}

int mkdir_p_in_root(int rootfd, const char *path, mode_t mode, int *ret_fd) {
        return mkdir_p_depth(rootfd, path, mode, ret_fd, 0);
}

static int target_depth(int rootfd, const char *path, bool want_dir, int *ret_fd, unsigned depth) {
        if (want_dir)
                return mkdir_p_depth(rootfd, path, 0755, ret_fd, depth);
        if (depth > MAX_LINK_DEPTH)
                return -ELOOP;

        int fd;
        int r = chase_in_root(rootfd, path, O_PATH, &fd);
        if (r >= 0) {
                struct stat st;
                if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
                        close(fd);
                        return -EISDIR;
                }
                *ret_fd = fd;
                return 0;
        }
        if (r != -ENOENT)
                return r;
        char norm[4096];
        if (!path_is_absolute(path) || normalize_in_root(path, norm, sizeof norm) < 0 ||
            strcmp(norm, "/") == 0)
                return -EINVAL;

        _cleanup_close_ int parent = -EBADF;
        char last[256];
        r = open_parent_in_root(rootfd, norm, 0755, &parent, last, depth);
        if (r < 0)
                return r;
        _cleanup_close_ int created =
                openat(parent, last, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0644);
        if (created < 0) {
                if (errno != ELOOP && errno != EEXIST)
                        return -errno;
                char target[4096];
                r = dangling_target(parent, norm, last, target, sizeof target);
                if (r < 0)
                        return r;
                return target_depth(rootfd, target, false, ret_fd, depth + 1);
        }
        fd = openat(parent, last, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

int mount_target_in_root(int rootfd, const char *path, bool want_dir, int *ret_fd) {
        return target_depth(rootfd, path, want_dir, ret_fd, 0);
}
