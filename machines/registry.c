/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "machines/name.h"
#include "nspawnlite/fd-util.h"
#include "nspawnlite/macro.h"

const char *runtime_dir(void) {
        const char *e = getenv("NSPAWNLITE_RUNTIME_DIR");
        return e && e[0] == '/' ? e : "/run/nspawnlite";
}

static int mkdir_if_missing(const char *p, mode_t mode) {
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int machine_lock_acquire(const char *name, MachineLock *ret) {
        if (!machine_name_is_valid(name))
                return -EINVAL;
        char p[PATH_MAX];
        int r = mkdir_if_missing(runtime_dir(), 0755);
        if (r < 0)
                return r;
        snprintf(p, sizeof p, "%s/machines", runtime_dir());
        if ((r = mkdir_if_missing(p, 0755)) < 0)
                return r;
        snprintf(p, sizeof p, "%s/machines/%s", runtime_dir(), name);
        if ((r = mkdir_if_missing(p, 0755)) < 0)
                return r;

        _cleanup_free_ char *dir = strdup(p);
        if (!dir)
                return -ENOMEM;
        snprintf(p, sizeof p, "%s/lock", dir);
        /* A lock file left by a dead supervisor is simply taken over. */
        _cleanup_close_ int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : -errno;
        *ret = (MachineLock) { .dir = TAKE_PTR(dir), .lock_fd = TAKE_FD(fd) };
        return 0;
}

int machine_state_write(const MachineLock *l, const char *content) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/state", l->dir);
        return write_file_atomic(p, content, 0644);
}

void machine_lock_release(MachineLock *l) {
        if (!l->dir)
                return;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/state", l->dir);
        (void) unlink(p);
        snprintf(p, sizeof p, "%s/lock", l->dir);
        (void) unlink(p);
        (void) rmdir(l->dir);
        l->lock_fd = safe_close(l->lock_fd);
        free(l->dir);
        l->dir = NULL;
}
