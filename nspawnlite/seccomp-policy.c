/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/seccomp-policy.h"

#include <errno.h>
#include <linux/fs.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nspawnlite/basic/macro.h"

/* Things a guest has no business doing to the shared kernel, grouped as in nspawnlite(1), SECURITY. */
const char *const seccomp_denied_syscalls[] = {
        /* keyrings are not namespaced */
        "add_key",
        "keyctl",
        "request_key",
        /* replacing or extending the kernel */
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        /* handle-based opens escape any mount namespace */
        "open_by_handle_at",
        /* kernel introspection and instrumentation */
        "bpf",
        "perf_event_open",
        "lookup_dcookie",
        "fanotify_init",
        /* host-wide resources */
        "swapon",
        "swapoff",
        "quotactl",
        "quotactl_fd",
        "acct",
        "syslog",
        /* raw I/O ports */
        "iopl",
        "ioperm",
        /* the clock is the host's */
        "settimeofday",
        "clock_settime",
        "clock_settime64",
        "stime",
        "adjtimex",
        "clock_adjtime",
        "clock_adjtime64",
};
const unsigned seccomp_n_denied_syscalls = ELEMENTSOF(seccomp_denied_syscalls);

/* <linux/fs.h> names it only from Linux 6.x on (before, each filesystem had its own name). */
#define FS_IOC_SHUTDOWN_ _IOR('X', 125, uint32_t)

static const uint32_t extra_arches[] = { SCMP_ARCH_X86, SCMP_ARCH_X32 };

/* ioctl requests no guest needs, compared on the low 32 bits only: the kernel ignores the high
 * ones, so a filter comparing all 64 could be passed with them set (CVE-2019-10063). */
static const unsigned long denied_ioctls[] = {
        TIOCSTI,   /* types into whatever terminal an fd reaches: the caller's, in pipe mode */
        TIOCLINUX, /* the console's selection paste does the same on a virtual terminal */
        /* Without -U the guest's root is a bind mount of a host filesystem, and guest root may
         * freeze or shut down that superblock: host writes would block or fail. The same class
         * of accident as the superblock remount below. */
        FIFREEZE, FITHAW, FS_IOC_SHUTDOWN_, /* ext4, xfs (XFS_IOC_GOINGDOWN) and f2fs share this number */
};

static void seccomp_releasep(scmp_filter_ctx *ctx) {
        if (*ctx)
                seccomp_release(*ctx);
}

int seccomp_policy_build(scmp_filter_ctx *ret) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;
        int r;

        /* Only the native arch (x86-64) can add the others; elsewhere, the native one alone. */
        if (seccomp_arch_native() == SCMP_ARCH_X86_64)
                for (size_t i = 0; i < ELEMENTSOF(extra_arches); i++) {
                        r = seccomp_arch_add(ctx, extra_arches[i]);
                        if (r < 0 && r != -EEXIST)
                                return r;
                }

        for (size_t i = 0; i < ELEMENTSOF(seccomp_denied_syscalls); i++) {
                int nr = seccomp_syscall_resolve_name(seccomp_denied_syscalls[i]);
                if (nr == __NR_SCMP_ERROR)
                        continue; /* unknown to this libseccomp: nothing to deny */
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
                /* A syscall that exists on no arch in the filter is fine to skip. */
                if (r < 0 && r != -EDOM && r != -EINVAL && r != -EFAULT)
                        return r;
        }

        /* A remount without MS_BIND reconfigures the superblock, and the guest's root is a bind
         * mount of a host filesystem: "mount -o remount,ro /" in a shutdown script would make the
         * host's filesystem read-only. Per-mount remounts (MS_BIND) stay allowed; fspick() is the
         * new mount API's way to the same superblock. */
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mount), 1,
                             SCMP_A3(SCMP_CMP_MASKED_EQ, MS_REMOUNT | MS_BIND, MS_REMOUNT));
        if (r < 0)
                return r;
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fspick), 0);
        if (r < 0 && r != -EDOM)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(denied_ioctls); i++) {
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                                     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, denied_ioctls[i]));
                if (r < 0)
                        return r;
        }

        /* Audit is not namespaced: make it look absent, as systemd-nspawn does. (On i386, socket()
         * may come through socketcall(), whose arguments a filter cannot see; the kernel refuses
         * audit requests from outside the initial namespaces anyway.) */
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 2,
                             SCMP_A0(SCMP_CMP_EQ, AF_NETLINK), SCMP_A2(SCMP_CMP_EQ, NETLINK_AUDIT));
        if (r < 0)
                return r;

        *ret = TAKE_PTR(ctx);
        return 0;
}

int seccomp_policy_export(struct sock_filter **ret, size_t *ret_n) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        int r = seccomp_policy_build(&ctx);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        size_t n = (size_t) st.st_size / sizeof(struct sock_filter);
        if (n == 0 || n > BPF_MAXINSNS || (size_t) st.st_size % sizeof(struct sock_filter))
                return -EBADMSG;
        _cleanup_free_ struct sock_filter *prog = calloc(n, sizeof *prog);
        if (!prog)
                return -ENOMEM;
        if (pread(fd, prog, n * sizeof *prog, 0) != (ssize_t) (n * sizeof *prog))
                return -EIO;
        *ret = TAKE_PTR(prog);
        *ret_n = n;
        return 0;
}
