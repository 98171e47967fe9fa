/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which machine cgroups are nspawnlite's, and of which runtime dir (see cgroup.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "machines/cgroup.h"
#include "machines/registry.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/macro.h"

#define RUNTIME_ID_LEN 32

static bool runtime_id_valid(const char *s) {
        return strlen(s) == RUNTIME_ID_LEN && strspn(s, "0123456789abcdef") == RUNTIME_ID_LEN;
}

static int runtime_id_read(const char *path, char ret[static RUNTIME_ID_LEN + 1]) {
        _cleanup_free_ char *s = NULL;
        int r = read_file_at(AT_FDCWD, path, 64, &s);
        if (r < 0)
                return r;
        s[strcspn(s, "\n")] = 0;
        if (!runtime_id_valid(s))
                return -EBADMSG;
        memcpy(ret, s, RUNTIME_ID_LEN + 1);
        return 0;
}

/* The id this process read or made, and of which runtime dir: a machine's start and teardown mark
 * and check its scope in every hierarchy, a read of the file each. Kept for the process's life, as
 * the marks it made carry it, even should the file be replaced meanwhile. */
static char cached_id[RUNTIME_ID_LEN + 1], cached_dir[PATH_MAX];

static int runtime_id_read_cached(const char *path, char ret[static RUNTIME_ID_LEN + 1]) {
        if (cached_id[0] && strcmp(cached_dir, runtime_dir()) == 0) {
                memcpy(ret, cached_id, RUNTIME_ID_LEN + 1);
                return 0;
        }
        int r = runtime_id_read(path, ret);
        if (r < 0)
                return r;
        memcpy(cached_id, ret, RUNTIME_ID_LEN + 1);
        snprintf(cached_dir, sizeof cached_dir, "%s", runtime_dir());
        return 0;
}

/* Written whole under a temporary name and linked into place: a reader never sees half an id, and
 * of two first users racing, the one whose link() lost reads the winner's. */
int runtime_id(bool create, char ret[static RUNTIME_ID_LEN + 1]) {
        char path[PATH_MAX], tmp[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/id", runtime_dir()) >= (int) sizeof path)
                return -ENAMETOOLONG;
        int r = runtime_id_read_cached(path, ret);
        if (r != -ENOENT || !create)
                return r;

        uint8_t b[RUNTIME_ID_LEN / 2];
        if (getrandom(b, sizeof b, 0) != (ssize_t) sizeof b)
                return -EIO;
        char id[RUNTIME_ID_LEN + 2];
        for (size_t i = 0; i < sizeof b; i++)
                snprintf(id + 2 * i, 3, "%02x", b[i]);
        strcat(id, "\n");

        if (mkdir(runtime_dir(), 0755) < 0 && errno != EEXIST)
                return -errno;
        snprintf(tmp, sizeof tmp, "%s/.id.XXXXXX", runtime_dir());
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = loop_write(fd, id, strlen(id));
        if (r >= 0 && fchmod(fd, 0644) < 0)
                r = -errno;
        if (r >= 0 && link(tmp, path) < 0 && errno != EEXIST)
                r = -errno;
        (void) unlink(tmp);
        return r < 0 ? r : runtime_id_read_cached(path, ret);
}

/* A supervisor killed between the mkdir() of a scope directory and its marking leaves it unmarked.
 * So that it is not taken for someone else's, the supervisor records "creating" in the machine's
 * own registry directory (under the name lock) for the time it makes them: an unmarked scope with
 * that record, still empty (no process, no child cgroup: marking comes before anything else goes
 * in), is ours. */
static int creating_path(const MachineCgroup *cg, char *buf, size_t n) {
        return cg->name ? machine_path(cg->name, "cgroup-creating", buf, n) : -EINVAL;
}

int cgroup_creating_begin(const MachineCgroup *cg) {
        char p[PATH_MAX];
        int r = creating_path(cg, p, sizeof p);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        return fd < 0 ? -errno : 0;
}

void cgroup_creating_end(const MachineCgroup *cg) {
        char p[PATH_MAX];
        if (creating_path(cg, p, sizeof p) >= 0)
                (void) unlink(p);
}

static bool scope_empty(const char *path) {
        char p[PATH_MAX];
        _cleanup_free_ char *procs = NULL;
        snprintf(p, sizeof p, "%s/cgroup.procs", path);
        if (read_file_at(AT_FDCWD, p, 64, &procs) < 0 || procs[0])
                return false;
        DIR *d = opendir(path);
        if (!d)
                return false;
        bool empty = true;
        for (struct dirent *de; empty && (de = readdir(d));)
                if (de->d_type == DT_DIR && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        empty = false;
        closedir(d);
        return empty;
}

int cgroup_scope_claim_at(const MachineCgroup *cg, const char *root, char *ret_why, size_t why_len) {
        char p[PATH_MAX], v[PATH_MAX + RUNTIME_ID_LEN + 2], id[RUNTIME_ID_LEN + 1], rec[PATH_MAX];
        if (snprintf(p, sizeof p, "%s/%s", root, cg->scope) >= (int) sizeof p)
                return -ENAMETOOLONG;
        ssize_t n = lgetxattr(p, CGROUP_OWNER_XATTR, v, sizeof v - 1);
        if (n < 0 && errno == ENOENT)
                return 0;
        if (n < 0 && errno != ENODATA && errno != EOPNOTSUPP)
                return -errno;
        if (n < 0) {
                if (errno == ENODATA && creating_path(cg, rec, sizeof rec) >= 0 && access(rec, F_OK) >= 0 &&
                    scope_empty(p))
                        return 1;
                snprintf(ret_why, why_len, "no nspawnlite marker");
                return -EEXIST;
        }
        v[n] = 0;
        /* No id of our own yet: then nothing can be ours. */
        if (runtime_id(false, id) >= 0 && strncmp(v, id, RUNTIME_ID_LEN) == 0 && v[RUNTIME_ID_LEN] == ' ')
                return 1;
        snprintf(ret_why, why_len, "made by the nspawnlite of runtime dir %s",
                 n > RUNTIME_ID_LEN ? v + RUNTIME_ID_LEN + 1 : "?");
        return -EEXIST;
}

int machine_cgroup_claim(MachineCgroup *cg, char *ret_path, size_t path_len, char *ret_why, size_t why_len) {
        const char *roots[CGROUP_V1_MAX + 1];
        size_t n = 0;
        roots[n++] = cg->unified_root;
        for (size_t i = 0; i < cg->n_v1; i++)
                roots[n++] = cg->v1_roots[i];

        bool exists = false;
        for (size_t i = 0; i < n; i++) {
                int r = cgroup_scope_claim_at(cg, roots[i], ret_why, why_len);
                if (r == -EEXIST)
                        snprintf(ret_path, path_len, "%s/%s", roots[i], cg->scope);
                if (r < 0)
                        return r;
                exists = exists || r > 0;
        }
        cg->owned = true;
        return exists;
}

static int owner_marker(char *buf, size_t n) {
        char id[RUNTIME_ID_LEN + 1];
        int r = runtime_id(true, id);
        if (r < 0)
                return r;
        return snprintf(buf, n, "%s %s", id, runtime_dir()) >= (int) n ? -ENAMETOOLONG : 0;
}

static int create_scope_once(MachineCgroup *cg, const char *root, bool *ret_created_parent) {
        char p[PATH_MAX], why[PATH_MAX], marker[PATH_MAX + RUNTIME_ID_LEN + 2];
        int r = owner_marker(marker, sizeof marker);
        if (r < 0)
                return r;
        r = cgroup_mkdir_p(root, cg->parent, ret_created_parent, cg->parent);
        if (r < 0)
                return r;
        if (snprintf(p, sizeof p, "%s/%s", root, cg->scope) >= (int) sizeof p)
                return -ENAMETOOLONG;
        bool made = mkdir(p, 0755) >= 0;
        if (!made && errno != EEXIST)
                return -errno;
        if (!made && (r = cgroup_scope_claim_at(cg, root, why, sizeof why)) <= 0)
                return r < 0 ? r : -ENOENT; /* removed meanwhile: try again */
        /* Found ours: marked again, as one left unmarked by a killed supervisor is not yet. */
        if (lsetxattr(p, CGROUP_OWNER_XATTR, marker, strlen(marker), 0) < 0) {
                r = -errno;
                if (made)
                        (void) rmdir(p);
                return r;
        }
        /* The scope is ours now (the name lock keeps others' teardowns off it): its parents exist. */
        if (snprintf(p, sizeof p, "%s/%s", root, cg->payload) >= (int) sizeof p)
                return -ENAMETOOLONG;
        return mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

int cgroup_mark_scope(const MachineCgroup *cg, const char *root) {
        char p[PATH_MAX], marker[PATH_MAX + RUNTIME_ID_LEN + 2];
        int r = owner_marker(marker, sizeof marker);
        if (r < 0)
                return r;
        if (snprintf(p, sizeof p, "%s/%s", root, cg->scope) >= (int) sizeof p)
                return -ENAMETOOLONG;
        return lsetxattr(p, CGROUP_OWNER_XATTR, marker, strlen(marker), 0) < 0 ? -errno : 0;
}

int cgroup_create_scope(MachineCgroup *cg, const char *root, bool *ret_created_parent) {
        /* Another machine's teardown may remove the empty parent between our mkdir()s. */
        int r = -ENOENT;
        for (int attempt = 0; attempt < 5 && r == -ENOENT; attempt++)
                r = create_scope_once(cg, root, ret_created_parent);
        return r;
}

int machine_cgroup_kill_by_name(const char *name, char *ret_why, size_t why_len) {
        MachineCgroup cg;
        char path[PATH_MAX], why[PATH_MAX] = "";
        int r = machine_cgroup_init(&cg, name);
        if (r >= 0)
                r = machine_cgroup_claim(&cg, path, sizeof path, why, sizeof why);
        if (r == -EEXIST)
                snprintf(ret_why, why_len, "%s: %s", path, why);
        if (r == 0)
                r = -ESRCH;
        if (r > 0)
                r = machine_cgroup_kill_all(&cg);
        machine_cgroup_done(&cg);
        return r;
}
