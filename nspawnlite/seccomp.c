/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/seccomp.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nspawnlite/basic/macro.h"
#include "seccomp-filter.h" /* generated at build time, see seccomp-policy.h */

int seccomp_load_machine_filter(bool no_new_privileges) {
        if (no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        struct sock_fprog prog = {
                .len = ELEMENTSOF(seccomp_machine_program),
                .filter = (struct sock_filter *) seccomp_machine_program,
        };
        /* Without no_new_privs this needs CAP_SYS_ADMIN in our user namespace, which we still have. */
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
                return -errno;
        return 0;
}

const struct sock_filter *seccomp_machine_filter(size_t *ret_len) {
        *ret_len = ELEMENTSOF(seccomp_machine_program);
        return seccomp_machine_program;
}
