/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/sync.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "nspawnlite/basic/fd-util.h"

static const char *const step_names[_SYNC_STEP_MAX] = {
        [SYNC_STEP_CGROUP_READY] = "cgroup-ready",
        [SYNC_STEP_CONSOLE_READY] = "console-ready",
        [SYNC_STEP_REGISTERED] = "registered",
        [SYNC_STEP_COMMAND_STARTED] = "command-started",
        [SYNC_STEP_ERROR] = "error",
};

static const char *const stage_names[_CHILD_STAGE_MAX] = {
        [CHILD_STAGE_CGROUP] = "joining the cgroup",
        [CHILD_STAGE_WAIT] = "waiting for the supervisor",
        [CHILD_STAGE_NAMESPACES] = "namespaces",
        [CHILD_STAGE_MOUNTS] = "mounts",
        [CHILD_STAGE_DEVICES] = "devices",
        [CHILD_STAGE_CONSOLE] = "console",
        [CHILD_STAGE_CUSTOM_MOUNTS] = "bind mounts",
        [CHILD_STAGE_PIVOT] = "pivot_root",
        [CHILD_STAGE_HOSTNAME] = "hostname",
        [CHILD_STAGE_NETWORK] = "network",
        [CHILD_STAGE_CAPABILITIES] = "capabilities",
        [CHILD_STAGE_SECCOMP] = "seccomp",
        [CHILD_STAGE_EXEC] = "exec",
};

const char *sync_step_to_string(SyncStep s) {
        return (unsigned) s < _SYNC_STEP_MAX ? step_names[s] : "unknown";
}

const char *child_stage_to_string(ChildStage s) {
        return (unsigned) s < _CHILD_STAGE_MAX ? stage_names[s] : "unknown";
}

int sync_send(int fd, const SyncMessage *m, const int *fds, size_t n_fds) {
        if (n_fds > SYNC_FDS_MAX)
                return -E2BIG;
        ssize_t k = send_with_fds(fd, m, sizeof *m, fds, n_fds, MSG_NOSIGNAL);
        return k < 0 ? (int) k : k == (ssize_t) sizeof *m ? 0 : -EIO;
}

int sync_recv(int fd, SyncMessage *m, int *fds, size_t *n_fds) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * SYNC_FDS_MAX)];
        } control = {};
        struct iovec iov = { .iov_base = m, .iov_len = sizeof *m };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof control,
        };
        ssize_t k;
        do
                k = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;

        size_t got = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        int *in = (int *) CMSG_DATA(c);
                        for (size_t i = 0; i < n; i++) {
                                if (fds && got < SYNC_FDS_MAX)
                                        fds[got++] = in[i];
                                else
                                        safe_close(in[i]);
                        }
                }
        if (n_fds)
                *n_fds = got;

        /* EOF (or an empty datagram) hands nothing over: close what came with it. */
        if (k == 0 || k != (ssize_t) sizeof *m || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
                goto bad;
        m->message[SYNC_MESSAGE_MAX - 1] = 0;
        return 1;
bad:
        for (size_t i = 0; fds && i < got; i++)
                fds[i] = safe_close(fds[i]);
        if (n_fds)
                *n_fds = 0;
        return k == 0 ? 0 : -EBADMSG;
}

int sync_send_step(int fd, SyncStep step, const int *fds, size_t n_fds) {
        SyncMessage m = { .step = step };
        return sync_send(fd, &m, fds, n_fds);
}

int sync_send_error(int fd, ChildStage stage, int error, const char *fmt, ...) {
        SyncMessage m = { .step = SYNC_STEP_ERROR, .stage = stage, .error = error < 0 ? -error : error };
        va_list ap;
        int saved = errno;
        errno = m.error;
        va_start(ap, fmt);
        vsnprintf(m.message, sizeof m.message, fmt, ap);
        va_end(ap);
        errno = saved;
        return sync_send(fd, &m, NULL, 0);
}

int sync_expect(int fd, SyncStep step, SyncMessage *m, int *fds, size_t *n_fds) {
        int r = sync_recv(fd, m, fds, n_fds);
        if (r < 0)
                return r;
        if (r == 0)
                return -EPIPE;
        if (m->step != step) {
                for (size_t i = 0; fds && n_fds && i < *n_fds; i++)
                        fds[i] = safe_close(fds[i]);
                return -EPROTO;
        }
        return 0;
}
