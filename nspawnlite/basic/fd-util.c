/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/basic/fd-util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nspawnlite/basic/macro.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

int fd_cloexec_from_three(void) {
        if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) >= 0)
                return 0;
        if (errno != ENOSYS && errno != EINVAL)
                return -errno;

        /* Old kernel: walk /proc/self/fd. */
        DIR *d = opendir("/proc/self/fd");
        if (!d)
                return -errno;
        int dfd = dirfd(d);
        for (struct dirent *de; (de = readdir(d));) {
                char *end;
                long fd = strtol(de->d_name, &end, 10);
                if (*end || fd < 3 || fd == dfd)
                        continue;
                int flags = fcntl((int) fd, F_GETFD);
                if (flags >= 0)
                        (void) fcntl((int) fd, F_SETFD, flags | FD_CLOEXEC);
        }
        closedir(d);
        return 0;
}

static int cmp_int(const void *a, const void *b) {
        return *(const int *) a - *(const int *) b;
}

int close_all_fds_except(const int *keep, size_t n_keep) {
        int sorted[64];
        size_t n = 0;
        for (size_t i = 0; i < n_keep && n < ELEMENTSOF(sorted); i++)
                if (keep[i] >= 3)
                        sorted[n++] = keep[i];
        if (n < n_keep && n == ELEMENTSOF(sorted))
                return -E2BIG;
        qsort(sorted, n, sizeof(int), cmp_int);
        unsigned from = 3;
        for (size_t i = 0; i <= n; i++) {
                unsigned to = i < n ? (unsigned) sorted[i] : ~0U;
                if (to > from && close_range(from, i < n ? to - 1 : ~0U, 0) < 0)
                        return -errno;
                if (i < n)
                        from = to + 1;
        }
        return 0;
}

int fd_nonblock(int fd, int nonblock) {
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return -errno;
        int nflags = nonblock ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
        if (nflags != flags && fcntl(fd, F_SETFL, nflags) < 0)
                return -errno;
        return 0;
}

int stdio_to_null(int last) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0)
                return -errno;
        int r = 0;
        for (int fd = STDIN_FILENO; r >= 0 && fd <= last; fd++)
                if (dup2(null, fd) < 0)
                        r = -errno;
        safe_close(null);
        return r;
}

int loop_write(int fd, const void *buf, size_t n) {
        const char *p = buf;
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret) {
        /* O_NONBLOCK: a FIFO put where a file is expected would block the open for ever. */
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        _cleanup_free_ char *buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        size_t n = 0;
        while (n < max) {
                ssize_t k = read(fd, buf + n, max - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        return (int) n;
}

int write_file_at(int dirfd, const char *path, const char *content) {
        _cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return loop_write(fd, content, strlen(content));
}

ssize_t send_with_fds(int fd, const void *buf, size_t len, const int *fds, size_t n_fds, int flags) {
        if (n_fds > FD_PASS_MAX)
                return -E2BIG;
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * FD_PASS_MAX)];
        } control = {};
        struct iovec iov = { .iov_base = (void *) buf, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (n_fds > 0) {
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        for (;;) {
                ssize_t k = sendmsg(fd, &mh, flags);
                if (k >= 0 || errno != EINTR)
                        return k >= 0 ? k : -errno;
        }
}

void remove_stale_tmp_files(const char *dir) {
        DIR *d = opendir(dir);
        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_type == DT_REG && strstr(de->d_name, ".tmp"))
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
}

int write_file_atomic(const char *path, const char *content, mode_t mode) {
        char tmp[PATH_MAX];
        if (snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path) >= (int) sizeof tmp)
                return -ENAMETOOLONG;
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = loop_write(fd, content, strlen(content));
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}
