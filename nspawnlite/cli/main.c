/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/registry.h"
#include "network/lease.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/proc-title.h"
#include "nspawnlite/cli/verbs.h"

int main(int argc, char **argv) {
        log_setup_from_env();
        proc_title_init(argc, argv);
        network_set_liveness(machine_lock_held); /* the registry decides which machines are alive */
        return verbs_dispatch(argc, argv);
}
