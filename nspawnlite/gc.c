/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/gc.h"

#include <errno.h>
#include <fcntl.h>

#include "machines/images/store.h"
#include "machines/registry.h"
#include "machines/systemd-scope.h"
#include "network/setup.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/overlays.h"

int machine_clear_leftovers(MachineCgroup *cg, const char *name, bool registered, char *ret_path,
                            size_t path_len, char *ret_why, size_t why_len) {
        int found = registered;
        int r = cg ? machine_cgroup_claim(cg, ret_path, path_len, ret_why, why_len) : 0;
        if (r == 0 && cg)
                cgroup_creating_end(cg); /* killed before its mkdir: a record of nothing */
        if (r > 0) {
                found = 1;
                (void) machine_cgroup_kill_all(cg);
                int k = machine_cgroup_destroy(cg);
                if (k < 0)
                        log_warning_errno(k, "Failed to remove cgroup %s: %m", cg->scope);
        }
        /* A kept unit outlives its supervisor, and machined's record of the machine with it. */
        if (cg && cg->unit_mode == CGROUP_UNIT_KEEP && machined_forget(name, cg->unit) > 0)
                found = 1;
        /* --ephemeral-size=disk's upper layer: the guest died with its supervisor, nobody uses it. */
        if (overlays_upper_dir_remove(name) > 0)
                found = 1;
        if (found)
                (void) network_gc(name);
        return r < 0 ? r : found;
}

int machine_cgroup_init_dead(MachineCgroup *cg, const char *name) {
        MachineInfo m;
        if (machine_info_read(name, &m) < 0 || !m.unit[0])
                return machine_cgroup_init(cg, name);
        int r = machine_cgroup_init_recorded(cg, name, m.cgroup, m.unit, m.unit_kept);
        return r < 0 ? r : cg->unit_mode != CGROUP_UNIT_NONE;
}

int gc_store(unsigned *ret_removed) {
        *ret_removed = 0;
        /* Not store_open(): gc makes no store where there is none. */
        _cleanup_close_ int fd = open(store_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        return store_gc(fd, ret_removed);
}
