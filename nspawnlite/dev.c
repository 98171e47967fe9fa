/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/dev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "nspawnlite/macro.h"
#include "nspawnlite/path-util.h"

const DeviceNode device_nodes[] = {
        { "null", 0666, 1, 3 },   { "zero", 0666, 1, 5 },    { "full", 0666, 1, 7 },
        { "random", 0666, 1, 8 }, { "urandom", 0666, 1, 9 }, { "tty", 0666, 5, 0 },
        { "net/tun", 0666, 10, 200 },
};
const size_t device_nodes_size = ELEMENTSOF(device_nodes);

const DeviceLink device_links[] = {
        { "fd", "/proc/self/fd" },          { "stdin", "/proc/self/fd/0" },
        { "stdout", "/proc/self/fd/1" },    { "stderr", "/proc/self/fd/2" },
        { "ptmx", "pts/ptmx" },
};
const size_t device_links_size = ELEMENTSOF(device_links);

int dev_populate(int rootfd, char *err, size_t errlen) {
        _cleanup_close_ int devfd = -EBADF;
        int r = chase_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, &devfd);
        if (r < 0) {
                snprintf(err, errlen, "Failed to open the machine's /dev");
                return r;
        }
        /* mknod honours the umask; the table's modes are meant as written. */
        mode_t old = umask(0);
        for (size_t i = 0; i < device_nodes_size; i++) {
                const DeviceNode *d = &device_nodes[i];
                const char *slash = strchr(d->name, '/');
                if (slash) {
                        char dir[64];
                        snprintf(dir, sizeof dir, "%.*s", (int) (slash - d->name), d->name);
                        if (mkdirat(devfd, dir, 0755) < 0 && errno != EEXIST) {
                                r = -errno;
                                goto fail_node;
                        }
                }
                if (mknodat(devfd, d->name, S_IFCHR | d->mode, makedev(d->major, d->minor)) < 0) {
                        r = -errno;
                        goto fail_node;
                }
        }
        umask(old);
        for (size_t i = 0; i < device_links_size; i++)
                if (symlinkat(device_links[i].target, devfd, device_links[i].name) < 0) {
                        r = -errno;
                        snprintf(err, errlen, "Failed to create /dev/%s", device_links[i].name);
                        return r;
                }
        return 0;

fail_node:
        umask(old);
        snprintf(err, errlen, "Failed to create device nodes in /dev");
        return r;
}
