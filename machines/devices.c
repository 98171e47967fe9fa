/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/devices.h"

#include <errno.h>
#include <stdio.h>

#include "nspawnlite/basic/macro.h"

const MachineDevice machine_devices[] = {
        { "null", 0666, 1, 3 },
        { "zero", 0666, 1, 5 },
        { "full", 0666, 1, 7 },
        { "random", 0666, 1, 8 },
        { "urandom", 0666, 1, 9 },
        { "tty", 0666, 5, 0 },
        { "net/tun", 0666, 10, 200 },
        /* /dev/ptmx is a link to the devpts's own multiplexer, pts/ptmx. */
        { NULL, 0, 5, 2 },
        /* The ptys of the machine's devpts: its console, login ttys and whatever its programs open. */
        { NULL, 0, 136, DEVICE_MINOR_ANY },
};
const size_t machine_devices_size = ELEMENTSOF(machine_devices);

int machine_device_v1_allow(const MachineDevice *d, char *buf, size_t n) {
        int k = d->minor == DEVICE_MINOR_ANY ? snprintf(buf, n, "c %u:* rwm", d->major)
                                             : snprintf(buf, n, "c %u:%d rwm", d->major, d->minor);
        return k < 0 || (size_t) k >= n ? -ENOBUFS : 0;
}
