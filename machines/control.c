/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/control.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "machines/registry.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/macro.h"

static const ControlRequestInfo control_requests[_CONTROL_REQUEST_MAX] = {
        [CONTROL_POWEROFF] = { "poweroff", CONTROL_REPLY_WAITER, 0, 1 },
        [CONTROL_TERMINATE] = { "terminate", CONTROL_REPLY_WAITER, 0, 0 },
        [CONTROL_REBOOT] = { "reboot", CONTROL_REPLY_PLAIN, 0, 0 },
        [CONTROL_KILL] = { "kill", CONTROL_REPLY_PLAIN, 1, 1 },
        [CONTROL_FREEZE] = { "freeze", CONTROL_REPLY_PLAIN, 0, 0 },
        [CONTROL_THAW] = { "thaw", CONTROL_REPLY_PLAIN, 0, 0 },
        [CONTROL_SET_LIMIT] = { "set-limit", CONTROL_REPLY_PLAIN, 1, CONTROL_ARGS_MANY },
        [CONTROL_LOGIN] = { "login", CONTROL_REPLY_FD, 0, 0 },
        [CONTROL_LEADER] = { "leader", CONTROL_REPLY_FD, 0, 0 },
        [CONTROL_CONSOLE] = { "console", CONTROL_REPLY_STREAM, 0, 0 },
};

const ControlRequestInfo *control_request_info(ControlRequestId id) {
        if ((unsigned) id >= _CONTROL_REQUEST_MAX)
                return NULL;
        return &control_requests[id];
}

int control_request_format(ControlRequestId id, char *const *args, char *buf, size_t size) {
        const ControlRequestInfo *info = control_request_info(id);
        if (!info || size == 0)
                return -EINVAL;
        size_t len = (size_t) snprintf(buf, size, "%s", info->name);
        unsigned n = 0;
        for (char *const *a = args; a && *a; a++, n++) {
                if (!**a || strchr(*a, ' '))
                        return -EINVAL;
                size_t at = len < size ? len : size - 1;
                len += (size_t) snprintf(buf + at, size - at, " %s", *a);
        }
        if (n < info->min_args || n > info->max_args)
                return -EINVAL;
        if (len >= size || len > CONTROL_MESSAGE_MAX)
                return -EMSGSIZE;
        return 0;
}

int control_request_parse(char *buf, ControlRequestId *ret_id, char **ret_args) {
        char *args = strchr(buf, ' ');
        if (args)
                *args++ = 0;
        for (ControlRequestId id = 0; id < _CONTROL_REQUEST_MAX; id++) {
                if (strcmp(buf, control_requests[id].name) != 0)
                        continue;
                unsigned n = 0;
                for (const char *p = args; p && *p;) {
                        p += strspn(p, " ");
                        if (!*p)
                                break;
                        n++;
                        p += strcspn(p, " ");
                }
                if (n < control_requests[id].min_args || n > control_requests[id].max_args)
                        return -EINVAL;
                *ret_id = id;
                *ret_args = n > 0 ? args : NULL;
                return 0;
        }
        return -EOPNOTSUPP;
}

/* sun_path is short (108) and runtime directories can be long: name the socket through an O_PATH
 * fd of its directory instead. */
static int control_address(const char *name, int *ret_dirfd, struct sockaddr_un *sa) {
        char dir[PATH_MAX];
        int r = machine_path(name, NULL, dir, sizeof dir);
        if (r < 0)
                return r;
        int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        *sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
        snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/control", dfd);
        *ret_dirfd = dfd;
        return 0;
}

int control_listen(const char *name, int *ret_fd) {
        struct sockaddr_un sa;
        _cleanup_close_ int dfd = -EBADF;
        int r = control_address(name, &dfd, &sa);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void) unlinkat(dfd, "control", 0);
        mode_t old = umask(0077);
        r = bind(fd, (struct sockaddr *) &sa, sizeof sa);
        umask(old);
        if (r < 0 || listen(fd, 16) < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int control_accept(int listen_fd, int *ret_fd) {
        _cleanup_close_ int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
                return -errno;
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        if (cred.uid != 0)
                return -EPERM;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int control_connect(const char *name, int *ret_fd) {
        struct sockaddr_un sa;
        _cleanup_close_ int dfd = -EBADF;
        int r = control_address(name, &dfd, &sa);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* SO_SNDTIMEO also bounds connect() on AF_UNIX: a supervisor that stopped accepting
         * fills its backlog, and a blocking connect would then wait for ever. */
        struct timeval tv = { .tv_sec = CONTROL_TIMEOUT_SEC };
        if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return errno == EAGAIN ? -ETIMEDOUT : -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int control_send_text(int fd, const char *text) {
        size_t n = strlen(text);
        if (n > CONTROL_MESSAGE_MAX)
                return -EMSGSIZE;
        return send(fd, text, n, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int control_reply_error(int fd, int error, const char *message) {
        char buf[CONTROL_MESSAGE_MAX];
        snprintf(buf, sizeof buf, "ERR %d %s", error < 0 ? -error : error, message);
        return control_send_text(fd, buf);
}

int control_send_text_fd(int fd, const char *text, int passed) {
        ssize_t k = send_with_fds(fd, text, strlen(text), &passed, 1, MSG_NOSIGNAL);
        return k < 0 ? (int) k : 0;
}

static int control_request_internal(int fd, const char *request, char *reply, size_t n, int *ret_fd) {
        if (n > 0)
                reply[0] = 0;
        int r = control_send_text(fd, request);
        if (r < 0)
                return r == -EAGAIN ? -ETIMEDOUT : r; /* SO_SNDTIMEO passed */
        char buf[CONTROL_MESSAGE_MAX + 1];
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = buf, .iov_len = CONTROL_MESSAGE_MAX };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control
        };
        ssize_t k;
        do
                k = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return errno == EAGAIN ? -ETIMEDOUT : -errno; /* SO_RCVTIMEO passed */
        int got = -EBADF;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
                    c->cmsg_len == CMSG_LEN(sizeof(int)))
                        memcpy(&got, CMSG_DATA(c), sizeof(int));
        if (ret_fd)
                *ret_fd = got;
        else
                safe_close(got);
        if (k == 0)
                return -ECONNRESET;
        buf[k] = 0;
        if (strncmp(buf, "OK", 2) == 0 && (buf[2] == 0 || buf[2] == ' ')) {
                snprintf(reply, n, "%s", buf[2] ? buf + 3 : "");
                return 0;
        }
        int e = 0, off = -1;
        if (sscanf(buf, "ERR %d %n", &e, &off) >= 1 && e > 0) {
                snprintf(reply, n, "%s", off > 0 && buf[off] ? buf + off : strerror(e));
                return -e;
        }
        return -EBADMSG;
}

int control_request(int fd, const char *request, char *reply, size_t n) {
        return control_request_internal(fd, request, reply, n, NULL);
}

int control_request_fd(int fd, const char *request, char *reply, size_t n, int *ret_fd) {
        int passed = -EBADF;
        int r = control_request_internal(fd, request, reply, n, &passed);
        if (r < 0 || passed < 0) {
                safe_close(passed);
                return r < 0 ? r : -EBADMSG;
        }
        *ret_fd = passed;
        return 0;
}

int control_call(int fd, ControlRequestId id, char *const *args, char *reply, size_t n, int *ret_fd) {
        char request[CONTROL_MESSAGE_MAX + 1];
        if (n > 0)
                reply[0] = 0;
        int r = control_request_format(id, args, request, sizeof request);
        if (r < 0)
                return r;
        if (control_request_info(id)->reply == CONTROL_REPLY_FD)
                return control_request_fd(fd, request, reply, n, ret_fd);
        return control_request(fd, request, reply, n);
}
