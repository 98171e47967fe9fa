/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/log.h"
#include "nspawnlite/verbs.h"

int main(int argc, char **argv) {
        log_setup_from_env();
        return verbs_dispatch(argc, argv);
}
