/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define ELEMENTSOF(x)  (sizeof(x) / sizeof((x)[0]))
#define _unused_       __attribute__((unused))
#define _noreturn_     __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _cleanup_(f)   __attribute__((cleanup(f)))

/* Hand a resource over to someone else: return its value and reset the variable so the
 * cleanup attribute does nothing. */
#define TAKE_GENERIC(var, empty)                \
        ({                                      \
                __typeof__(var) _taken = (var); \
                (var) = (empty);                \
                _taken;                         \
        })
#define TAKE_FD(fd) TAKE_GENERIC(fd, -EBADF)
#define TAKE_PTR(p) TAKE_GENERIC(p, NULL)

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd) {
        *fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void close_pairp(int (*p)[2]) {
        (*p)[0] = safe_close((*p)[0]);
        (*p)[1] = safe_close((*p)[1]);
}
#define _cleanup_close_pair_ _cleanup_(close_pairp)

/* Turn a libc "-1 and errno" result into a negative errno, never 0 on failure. */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

#define RET_NERRNO(expr)                        \
        ({                                      \
                int _r = (expr);                \
                _r < 0 ? negative_errno() : _r; \
        })

static inline const char *strempty(const char *s) {
        return s ?: "";
}
