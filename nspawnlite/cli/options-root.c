/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What boot and run start from: a directory tree, a disk image (--image=), or the image -M NAME of
 * the store; checked and resolved here, with the default machine name they give. */
#include "nspawnlite/cli/options-root.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "machines/images/store.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/name.h"
#include "nspawnlite/cli/verbs.h"

#define BAD(...) (log_error(__VA_ARGS__), -EINVAL)

/* Default machine name: the tree's directory name, or the image's file name without .raw or
 * .img, if it is a valid name. */
int default_machine_name(const char *rootfs, bool image, char **ret) {
        const char *base = strrchr(rootfs, '/');
        base = base ? base + 1 : rootfs;
        size_t n = strlen(base);
        static const char *const suffixes[] = { ".raw", ".img" };
        for (size_t i = 0; image && i < ELEMENTSOF(suffixes); i++)
                if (n > strlen(suffixes[i]) && strcmp(base + n - strlen(suffixes[i]), suffixes[i]) == 0) {
                        n -= strlen(suffixes[i]);
                        break;
                }
        _cleanup_free_ char *name = strndup(base, n);
        if (!name)
                return -ENOMEM;
        if (!machine_name_is_valid(name))
                return -EINVAL;
        *ret = TAKE_PTR(name);
        return 0;
}

/* --image=: an existing disk image file (or block device), resolved; what it holds is probed at
 * the launch. */
int config_set_image(Config *c, const char *image) {
        if (!*image)
                return BAD("Empty --image= path.");
        char resolved[PATH_MAX];
        if (!realpath(image, resolved)) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return BAD("Image %s does not exist.", image);
                return log_error_errno(errno, "Cannot resolve image %s: %m", image);
        }
        struct stat st;
        if (stat(resolved, &st) < 0)
                return log_error_errno(errno, "Cannot access image %s: %m", image);
        if (S_ISDIR(st.st_mode))
                return BAD("%s is a directory: give a tree as ROOTFS (or -D), --image= takes a disk image "
                           "file.",
                           image);
        if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
                return BAD("%s is not a regular file or block device: --image= takes a disk image file.",
                           image);
        if (!(c->image = strdup(resolved)) || !(c->rootfs = strdup(resolved)))
                return -ENOMEM;
        return 0;
}

/* The root directory: it exists, is a directory and not the host's own root; resolved. */
int config_set_rootfs(Config *c, const char *directory) {
        if (!*directory)
                return BAD("Empty root directory path.");
        char resolved[PATH_MAX];
        if (!realpath(directory, resolved)) {
                if (errno == ELOOP)
                        return BAD("Root directory %s cannot be resolved: too many levels of symbolic "
                                   "links.",
                                   directory);
                if (errno == ENOENT || errno == ENOTDIR)
                        return BAD("Root directory %s does not exist.", directory);
                return log_error_errno(errno, "Cannot resolve root directory %s: %m", directory);
        }
        struct stat st;
        if (stat(resolved, &st) < 0)
                return log_error_errno(errno, "Cannot access root directory %s: %m", directory);
        if (!S_ISDIR(st.st_mode))
                return BAD("%s is not a directory: give the root directory of an OS tree.", directory);
        if (strcmp(resolved, "/") == 0)
                return BAD("Refusing to use the host's root directory as a machine's root.");
        return (c->rootfs = strdup(resolved)) ? 0 : -ENOMEM;
}

/* -M NAME with no ROOTFS: boot wants the image NAME of the store when nothing (or "--") follows the
 * options; run when what follows is not a directory and the store has the image (so that a path,
 * even a wrong one, means what it meant before). */
bool store_image_wanted(const Config *c, int n, char **args) {
        if (!c->machine)
                return false;
        if (n == 0 || strcmp(args[0], "--") == 0)
                return true;
        struct stat st;
        StoreImage img;
        _cleanup_close_ int fd = -EBADF;
        return c->kind == LAUNCH_RUN && (stat(args[0], &st) < 0 || !S_ISDIR(st.st_mode)) &&
               (fd = open(store_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0 &&
               store_find(fd, c->machine, &img) >= 0;
}

/* The image -M NAME of the store: a tree (directory, subvolume) or a raw image, as --image= takes it.
 * An image marked read-only is booted read-only, as systemd-nspawn does. */
int config_set_store_image(Config *c) {
        StoreImage img;
        if (store_dir_safe(false) < 0)
                return -EPERM;
        /* Not store_open(): looking for an image makes no store. */
        _cleanup_close_ int fd = open(store_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r = fd < 0 ? -errno : store_find(fd, c->machine, &img);
        if (r == -ENOENT)
                return BAD("No image named %s in %s: give a ROOTFS path, or make the image first "
                           "('nspawnlite import-fs DIR %s').",
                           c->machine, store_dir(), c->machine);
        if (r < 0)
                return log_error_errno(r, "Cannot look up image %s in %s: %m", c->machine, store_dir());
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", store_dir(), img.file);
        c->read_only = c->read_only || img.read_only;
        return img.kind == STORE_RAW ? config_set_image(c, path) : config_set_rootfs(c, path);
}

/* A tree of the store is locked while a machine runs it, like the store's raw images (whose lock
 * --image= takes): by its path too, not only as -M NAME. */
bool rootfs_in_store(const char *rootfs) {
        char store[PATH_MAX];
        const char *slash = strrchr(rootfs, '/');
        return slash && slash > rootfs && realpath(store_dir(), store) &&
               strlen(store) == (size_t) (slash - rootfs) && strncmp(store, rootfs, slash - rootfs) == 0;
}
