/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "machines/registry.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/parse-util.h"

int userns_parse(const char *s, UsernsConfig *ret) {
        UsernsConfig c = { .ownership = ret->ownership };
        int b;
        if (!s || strcmp(s, "pick") == 0)
                c.mode = USERNS_PICK;
        else if ((b = parse_boolean(s)) >= 0)
                c.mode = b ? USERNS_PICK : USERNS_OFF;
        else {
                char buf[32];
                const char *colon = strchr(s, ':');
                size_t n = colon ? (size_t) (colon - s) : strlen(s);
                uint64_t base, size = USERNS_RANGE;
                if (n >= sizeof buf)
                        return -EINVAL;
                memcpy(buf, s, n);
                buf[n] = 0;
                /* Not 0: the guest's root would be the host's. */
                if (parse_uint64_range(buf, 1, UINT32_MAX - 1, &base) < 0)
                        return -EINVAL;
                /* The guest uses ids up to 65534 (nobody), gid 5 for its ttys: a smaller range
                 * fails later, and obscurely (devpts refuses gid=5). */
                if (colon && parse_uint64_range(colon + 1, 0, UINT64_MAX, &size) < 0)
                        return -EINVAL;
                if (size != USERNS_RANGE)
                        return -ERANGE;
                if (base + size > UINT32_MAX)
                        return -EOVERFLOW;
                c.mode = USERNS_FIXED;
                c.base = (uint32_t) base;
                c.size = (uint32_t) size;
        }
        *ret = c;
        return 0;
}

int userns_ownership_parse(const char *s, UsernsOwnership *ret) {
        if (strcmp(s, "map") == 0 || strcmp(s, "auto") == 0)
                *ret = USERNS_OWNERSHIP_MAP;
        else if (strcmp(s, "chown") == 0)
                *ret = USERNS_OWNERSHIP_CHOWN;
        else
                return -EINVAL;
        return 0;
}

static int try_lock(uint32_t base, uint32_t size, UsernsRange *ret) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/userns", runtime_dir());
        (void) mkdir(runtime_dir(), 0755);
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        UsernsRange r = { .base = base, .size = size };
        snprintf(r.lock_path, sizeof r.lock_path, "%s/%u.lock", dir, base);
        r.lock_fd = open(r.lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (r.lock_fd < 0)
                return -errno;
        if (flock(r.lock_fd, LOCK_EX | LOCK_NB) < 0) {
                int e = errno;
                close(r.lock_fd);
                return e == EWOULDBLOCK ? -EBUSY : -e;
        }
        *ret = r;
        return 0;
}

int userns_acquire(const UsernsConfig *c, uint32_t preferred_base, UsernsRange *ret) {
        if (c->mode == USERNS_FIXED) {
                /* Ranges are locked by their base; a fixed range must not overlap a picked one. */
                if (c->base < USERNS_PICK_BASE + USERNS_PICK_SLOTS * USERNS_RANGE &&
                    c->base + c->size > USERNS_PICK_BASE && (c->base - USERNS_PICK_BASE) % USERNS_RANGE != 0)
                        return -EINVAL;
                return try_lock(c->base, c->size, ret);
        }
        if (preferred_base >= USERNS_PICK_BASE && (preferred_base - USERNS_PICK_BASE) % USERNS_RANGE == 0 &&
            try_lock(preferred_base, USERNS_RANGE, ret) >= 0)
                return 0;
        for (uint32_t i = 0; i < USERNS_PICK_SLOTS; i++) {
                int r = try_lock(USERNS_PICK_BASE + i * USERNS_RANGE, USERNS_RANGE, ret);
                if (r != -EBUSY)
                        return r;
        }
        return -EBUSY;
}

void userns_release(UsernsRange *r) {
        if (r->lock_fd < 0)
                return;
        (void) unlink(r->lock_path);
        r->lock_fd = safe_close(r->lock_fd);
}

int userns_write_maps(pid_t pid, const UsernsRange *r) {
        static const char *const files[] = { "uid_map", "gid_map" };
        char path[64], map[64];
        snprintf(map, sizeof map, "0 %u %u\n", r->base, r->size);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(path, sizeof path, "/proc/%d/%s", (int) pid, files[i]);
                int k = write_file_at(AT_FDCWD, path, map);
                if (k < 0)
                        return k;
        }
        return 0;
}

int userns_tree(const char *path, pid_t pid, int *ret_fd) {
        _cleanup_close_ int tree =
                open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (tree < 0)
                return -errno;
        if (pid == 0) {
                *ret_fd = TAKE_FD(tree);
                return 0;
        }
        int r = userns_idmap_mount(tree, pid);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(tree);
        return 0;
}

int userns_idmap_mount(int mnt, pid_t pid) {
        char ns[64];
        snprintf(ns, sizeof ns, "/proc/%d/ns/user", (int) pid);
        _cleanup_close_ int userns = open(ns, O_RDONLY | O_CLOEXEC);
        if (userns < 0)
                return -errno;
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t) userns };
        if (mount_setattr(mnt, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
                return -errno;
        return 0;
}

int userns_tree_shift(const char *path, uint32_t *ret) {
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        *ret = st.st_uid;
        return 0;
}

static uint32_t shift_from, shift_to;
static dev_t shift_dev;

static uid_t shift_id(uint32_t id) {
        /* Ids outside the range being moved are left as they are. */
        if (id >= shift_from && id - shift_from < USERNS_RANGE)
                return id - shift_from + shift_to;
        return id;
}

static int shift_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        if (st->st_dev != shift_dev)
                return FTW_SKIP_SUBTREE; /* another filesystem mounted in the tree: not ours */
        uid_t u = shift_id(st->st_uid);
        gid_t g = shift_id(st->st_gid);
        if (u == st->st_uid && g == st->st_gid)
                return FTW_CONTINUE;
        /* lchown clears setuid/setgid bits: put the mode back (not for symlinks). */
        if (lchown(p, u, g) < 0)
                return FTW_STOP;
        if (!S_ISLNK(st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID)) && chmod(p, st->st_mode & 07777) < 0)
                return FTW_STOP;
        return FTW_CONTINUE;
}

int userns_shift_tree(const char *path, uint32_t from, uint32_t to) {
        struct stat st;
        if (from == to)
                return 0;
        if (stat(path, &st) < 0)
                return -errno;
        shift_from = from;
        shift_to = to;
        shift_dev = st.st_dev;
        int r = nftw(path, shift_one, 64, FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL);
        return r == 0 ? 0 : -(errno ?: EIO);
}
