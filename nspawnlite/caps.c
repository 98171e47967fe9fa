/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/macro.h"

/* What a full OS needs to boot and what systemd-nspawn grants. */
static const int default_caps[] = {
        CAP_AUDIT_CONTROL,
        CAP_AUDIT_WRITE,
        CAP_CHOWN,
        CAP_DAC_OVERRIDE,
        CAP_DAC_READ_SEARCH,
        CAP_FOWNER,
        CAP_FSETID,
        CAP_IPC_OWNER,
        CAP_KILL,
        CAP_LEASE,
        CAP_LINUX_IMMUTABLE,
        CAP_MKNOD,
        CAP_NET_BIND_SERVICE,
        CAP_NET_BROADCAST,
        CAP_NET_RAW,
        CAP_SETFCAP,
        CAP_SETGID,
        CAP_SETPCAP,
        CAP_SETUID,
        CAP_SYS_ADMIN,
        CAP_SYS_BOOT,
        CAP_SYS_CHROOT,
        CAP_SYS_NICE,
        CAP_SYS_PTRACE,
        CAP_SYS_RESOURCE,
        CAP_SYS_TTY_CONFIG,
};

int capability_last(void) {
        static int cached = -1;
        if (cached >= 0)
                return cached;
        _cleanup_free_ char *s = NULL;
        if (read_file_at(-EBADF, "/proc/sys/kernel/cap_last_cap", 16, &s) > 0)
                cached = atoi(s);
        if (cached <= 0 || cached > 63)
                cached = CAP_LAST_CAP;
        return cached;
}

uint64_t capability_default_set(bool own_network) {
        uint64_t m = 0;
        for (size_t i = 0; i < ELEMENTSOF(default_caps); i++)
                m |= CAP_MASK(default_caps[i]);
        if (own_network)
                m |= CAP_MASK(CAP_NET_ADMIN);
        return m;
}

uint64_t capability_host_bounding_set(void) {
        uint64_t m = 0;
        for (int c = 0; c <= capability_last(); c++)
                if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) > 0)
                        m |= CAP_MASK(c);
        return m;
}

uint64_t capability_machine_set(bool own_network, uint64_t add, uint64_t drop) {
        return ((capability_default_set(own_network) | add) & ~drop) & capability_host_bounding_set();
}

int capability_parse_list(const char *s, uint64_t *ret) {
        if (!s || !*s)
                return -EINVAL;
        _cleanup_free_ char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        uint64_t m = 0;
        char *save = NULL;
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                if (strcasecmp(w, "all") == 0) {
                        for (int c = 0; c <= capability_last(); c++)
                                m |= CAP_MASK(c);
                        continue;
                }
                cap_value_t v;
                char name[64];
                if (strncasecmp(w, "cap_", 4) == 0)
                        snprintf(name, sizeof name, "%s", w);
                else
                        snprintf(name, sizeof name, "cap_%s", w);
                if (cap_from_name(name, &v) < 0 || v < 0 || v > 63)
                        return -EINVAL;
                m |= CAP_MASK(v);
        }
        *ret = m;
        return 0;
}

static int clear_flags(uint64_t keep, const cap_flag_t *flags, size_t n_flags) {
        cap_t caps = cap_get_proc();
        if (!caps)
                return -errno;
        int r = 0;
        for (int c = 0; c <= capability_last() && r >= 0; c++) {
                if (keep & CAP_MASK(c))
                        continue;
                cap_value_t v = c;
                for (size_t i = 0; i < n_flags; i++)
                        if (cap_set_flag(caps, flags[i], 1, &v, CAP_CLEAR) < 0)
                                r = -errno;
        }
        if (r >= 0 && cap_set_proc(caps) < 0)
                r = -errno;
        cap_free(caps);
        return r;
}

int keyring_new_session(void) {
        if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0)
                return -errno;
        return 0;
}

int keyring_probe(void) {
        if (syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0) < 0)
                return -errno;
        return 0;
}

bool keyring_unavailable(int r) {
        /* No keyrings at all, or an outer container manager's filter forbids keyctl: then the
         * guest, under the same filter, cannot reach the host's keys either (systemd-nspawn
         * goes on too). */
        return r == -ENOSYS || r == -EOPNOTSUPP || r == -EPERM || r == -EACCES;
}

int capability_drop_permitted(uint64_t keep) {
        static const cap_flag_t flags[] = { CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE };
        return clear_flags(keep, flags, ELEMENTSOF(flags));
}

int capability_apply_bounding(uint64_t keep) {
        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);

        for (int c = 0; c <= capability_last(); c++) {
                if (keep & CAP_MASK(c))
                        continue;
                if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
                        return -errno;
        }

        /* Also drop them from the inheritable set, so nothing can carry them through execve(). The
         * effective and permitted sets are left: we still need them until the exec. */
        static const cap_flag_t flags[] = { CAP_INHERITABLE };
        return clear_flags(keep, flags, ELEMENTSOF(flags));
}
