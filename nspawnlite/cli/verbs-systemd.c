/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* enable|disable NAME: autostart of a store machine through nspawnlite@.service, like machinectl's. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "machines/systemd-scope.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/name.h"
#include "nspawnlite/cli/verbs-systemd.h"

static int enable_disable(int argc, char **argv, bool enable) {
        const char *verb = enable ? "enable" : "disable";
        if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                printf("nspawnlite %s NAME\n\n%s the start of the store machine NAME at boot, through "
                       "nspawnlite@NAME.service\n(systemd hosts).\n",
                       verb, enable ? "Enable" : "Disable");
                return 0;
        }
        if (argc != 2)
                return log_error("Usage: nspawnlite %s NAME (one machine of the image store).", verb), 2;
        if (!machine_name_is_valid(argv[1]))
                return log_error("Invalid machine name '%s': use [A-Za-z0-9][A-Za-z0-9._-]*, at most 64 "
                                 "characters.",
                                 argv[1]),
                       2;
        if (!systemd_booted())
                return log_error("nspawnlite %s needs systemd as PID 1 (it %ss nspawnlite@%s.service); on "
                                 "this host start the machine with 'nspawnlite boot -d'.",
                                 verb, verb, argv[1]),
                       1;
        if (geteuid() != 0)
                return log_error("nspawnlite %s must run as root.", verb), 1;

        char unit[128], err[512];
        snprintf(unit, sizeof unit, "nspawnlite@%s.service", argv[1]);
        /* machines.target pulls the enabled machines in: enabled with the first of them. */
        const char *const units[] = { unit, enable ? "machines.target" : NULL, NULL };
        int r = systemd_unit_files_enable(units, enable, err, sizeof err);
        if (r < 0)
                return log_error_errno(r, "%s", err), 1;
        return 0;
}

int verb_enable(int argc, char **argv) {
        return enable_disable(argc, argv, true);
}

int verb_disable(int argc, char **argv) {
        return enable_disable(argc, argv, false);
}
