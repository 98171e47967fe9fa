/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/dev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "machines/devices.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/path-util.h"

const DeviceLink device_links[] = {
        { "fd", "/proc/self/fd" },       { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
        { "stderr", "/proc/self/fd/2" }, { "ptmx", "pts/ptmx" },
};
const size_t device_links_size = ELEMENTSOF(device_links);

static int bind_host_node(int rootfd, const MachineDevice *d) {
        char host[64], guest[64];
        snprintf(host, sizeof host, "/dev/%s", d->name);
        snprintf(guest, sizeof guest, "/dev/%s", d->name);
        _cleanup_close_ int src = open(host, O_PATH | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        if (src < 0 || fstat(src, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        /* Only the very device the table names. */
        if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != d->major || minor(st.st_rdev) != (unsigned) d->minor)
                return -EPERM;
        _cleanup_close_ int target = -EBADF;
        int r = mount_target_in_root(rootfd, guest, false, &target);
        if (r < 0)
                return r;
        FdPath sp = fd_path(src);
        if (mount(sp.path, fd_path(target).path, NULL, MS_BIND, NULL) < 0)
                return -errno;
        return 0;
}

int dev_populate(int rootfd, bool userns, char *err, size_t errlen) {
        _cleanup_close_ int devfd = -EBADF;
        int r = chase_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, &devfd);
        if (r < 0) {
                snprintf(err, errlen, "Failed to open the machine's /dev");
                return r;
        }
        if (userns) {
                for (size_t i = 0; i < machine_devices_size; i++) {
                        if (!machine_devices[i].name)
                                continue;
                        r = bind_host_node(rootfd, &machine_devices[i]);
                        if (r < 0) {
                                snprintf(err, errlen, "Failed to bind /dev/%s from the host",
                                         machine_devices[i].name);
                                return r;
                        }
                }
                goto links;
        }
        /* mknod honours the umask; the table's modes are meant as written. */
        mode_t old = umask(0);
        for (size_t i = 0; i < machine_devices_size; i++) {
                const MachineDevice *d = &machine_devices[i];
                if (!d->name)
                        continue;
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
links:
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
