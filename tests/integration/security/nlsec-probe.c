/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nlsec-probe: the static helper the security tests run inside machines (and, as positive
 * controls, on the host). Every probe prints one line per operation, "NAME OK" or "NAME ERRNAME",
 * so that the tests assert on the exact errno. Nothing here writes to a kernel interface: files
 * are opened for writing and closed again, syscalls get arguments that make them fail or do
 * nothing if they ever reach the kernel.
 *
 *   nlsec-probe syscalls             the denied syscalls on x86-64, i386 (int $0x80) and x32
 *   nlsec-probe audit [user]         an audit socket through i386 socketcall() (out of the
 *                                    filter's sight), then the kernel's answer to a status
 *                                    request and, with "user", to a user message
 *   nlsec-probe tiocsti TEXT [fd0only]  push TEXT (plus "\n") into fd 0, 1, 2, /dev/tty,
 *                                    /dev/console (only fd 0 with "fd0only")
 *   nlsec-probe openw PATH…          open(O_WRONLY) each PATH, close it, write nothing
 *   nlsec-probe readn PATH…          open(O_RDONLY) each PATH and read; prints the byte count
 *   nlsec-probe mknod-open PATH b|c MAJ MIN   mknod, then open(O_RDONLY) and read one byte
 *   nlsec-probe fds                  "fd target dev rdev" for each of our fds (dev as maj:min)
 *   nlsec-probe racer SECONDS [MARKER]  steal fds (pidfd_getfd) from every new process of our
 *                                    pid namespace, and look for MARKER in its environment
 *   nlsec-probe connect PATH TEXT    connect to a SOCK_SEQPACKET unix socket (a SOCK_STREAM
 *                                    abstract one for @NAME), send TEXT, print the reply
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/fs.h>
#include <linux/netlink.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static const char *res(long r, int e) {
        return r < 0 ? strerrorname_np(e) : "OK";
}
static void report(const char *name, long r) {
        int e = errno;
        printf("%s %s\n", name, res(r, e));
}

#ifdef __x86_64__
/* i386 ABI via int 0x80. Pointers must be below 4 GiB: this static non-PIE binary's data is. */
static long sys_i386(long nr, long a, long b, long c, long d, long e) {
        long ret;
        asm volatile("int $0x80"
                     : "=a"(ret)
                     : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
                     : "memory", "r8", "r9", "r10", "r11");
        return (int) ret;
}
static void report_i386(const char *name, long r) {
        printf("i386:%s %s\n", name, r < 0 ? strerrorname_np((int) -r) : "OK");
}
/* Whether the kernel runs i386 code for us at all: a kernel built with IA32 emulation may have it
 * off (ia32_emulation=false, or a hypervisor's kernel), and int $0x80 then raises a general
 * protection fault. Tried in a child, so that the fault is not ours. NULL when it runs, else what
 * ended the child ("SIGSEGV"), which the caller reports in place of the probes. */
static const char *i386_unusable(void) {
        static char what[32];
        pid_t pid = fork();
        if (pid < 0)
                return strerrorname_np(errno);
        if (pid == 0) {
                (void) sys_i386(20 /* getpid */, 0, 0, 0, 0, 0);
                _exit(0);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return strerrorname_np(errno);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                return NULL;
        if (WIFSIGNALED(st))
                snprintf(what, sizeof what, "SIG%s", sigabbrev_np(WTERMSIG(st)));
        else
                snprintf(what, sizeof what, "EXIT%d", WEXITSTATUS(st));
        return what;
}
#define X32 0x40000000L
#endif

static char nonexistent[] = "/nonexistent-nlsec";
static char bogus_type[] = "nlsec-no-such-type";
static char desc[] = "d";
static char empty[] = "";
static char nomod[] = "nlsec_no_such_module";
/* socketcall(SYS_SOCKET, args) on i386: the arguments are 32-bit words in memory. */
static unsigned int audit_args[3] = { AF_NETLINK, SOCK_RAW, NETLINK_AUDIT };

static int do_syscalls(void) {
        /* Controls: calls the filter must let through. */
        report("getpid", syscall(SYS_getpid));
        report("route_socket", socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
        struct {
                struct file_handle fh;
                unsigned char buf[128];
        } h = { .fh.handle_bytes = 128 };
        int mnt_id;
        report("name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &h.fh, &mnt_id, 0));
        int rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        /* Denied: arguments such that a call reaching the kernel fails or does nothing. */
        report("open_by_handle_at", syscall(SYS_open_by_handle_at, rootfd, &h.fh, O_RDONLY | O_CLOEXEC));
        report("keyctl", syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0));
        report("add_key", syscall(SYS_add_key, bogus_type, desc, NULL, 0, -2));
        report("request_key", syscall(SYS_request_key, bogus_type, desc, NULL, 0));
        report("bpf", syscall(SYS_bpf, -1, NULL, 0));
        report("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
        report("kexec_load", syscall(SYS_kexec_load, 0, 1000, NULL, 0));
        report("kexec_file_load", syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0));
        report("init_module", syscall(SYS_init_module, NULL, 0, empty));
        report("finit_module", syscall(SYS_finit_module, -1, empty, 0));
        report("delete_module", syscall(SYS_delete_module, nomod, O_NONBLOCK));
        report("swapon", syscall(SYS_swapon, nonexistent, 0));
        report("swapoff", syscall(SYS_swapoff, nonexistent));
        report("quotactl", syscall(SYS_quotactl, 0x800004 /* QCMD(Q_GETFMT, USRQUOTA) */, nonexistent, 0, NULL));
        report("fanotify_init", syscall(SYS_fanotify_init, 0xffffffffu, 0));
        report("lookup_dcookie", syscall(SYS_lookup_dcookie, 0, NULL, 0));
        report("iopl", syscall(SYS_iopl, 0));
        report("ioperm", syscall(SYS_ioperm, 0x80, 1, 0));
        report("acct", syscall(SYS_acct, nonexistent));
        report("settimeofday", syscall(SYS_settimeofday, NULL, NULL));
        report("clock_settime", syscall(SYS_clock_settime, CLOCK_REALTIME, NULL));
        report("syslog", syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0));
        report("audit_socket", socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT));
        /* Filesystem freeze and shutdown, on procfs: it can be neither frozen (EOPNOTSUPP), nor
         * thawed (EINVAL), nor shut down (ENOTTY), so a call that reaches the kernel does nothing.
         * With the high bits set too (the kernel ignores them; a 64-bit compare would not). */
        int procfd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
        report("fifreeze", syscall(SYS_ioctl, procfd, FIFREEZE, 0));
        report("fifreeze_highbits", syscall(SYS_ioctl, procfd, FIFREEZE | (1UL << 32), 0));
        report("fithaw", syscall(SYS_ioctl, procfd, FITHAW, 0));
        uint32_t how = 2; /* FS_GOING_DOWN_NOSYNC, were it ever to reach a real filesystem */
        report("fs_shutdown", syscall(SYS_ioctl, procfd, _IOR('X', 125, uint32_t), &how));
        if (procfd >= 0)
                close(procfd);

#ifdef __x86_64__
        /* i386 numbers (arch/x86/entry/syscalls/syscall_32.tbl). */
        static const struct {
                const char *name;
                long nr, a, b, c, d, e;
        } i386[] = {
                { "getpid", 20, 0, 0, 0, 0, 0 },
                { "keyctl", 288, 0, -3, 0, 0, 0 },
                { "add_key", 286, (long) bogus_type, (long) desc, 0, 0, -2 },
                { "request_key", 287, (long) bogus_type, (long) desc, 0, 0, 0 },
                { "bpf", 357, -1, 0, 0, 0, 0 },
                { "perf_event_open", 336, 0, 0, -1, -1, 0 },
                { "open_by_handle_at", 342, -1, 0, 0, 0, 0 },
                { "kexec_load", 283, 0, 1000, 0, 0, 0 },
                { "init_module", 128, 0, 0, (long) empty, 0, 0 },
                { "finit_module", 350, -1, (long) empty, 0, 0, 0 },
                { "delete_module", 129, (long) nomod, O_NONBLOCK, 0, 0, 0 },
                { "swapon", 87, (long) nonexistent, 0, 0, 0, 0 },
                { "swapoff", 115, (long) nonexistent, 0, 0, 0, 0 },
                { "quotactl", 131, 0x800004, (long) nonexistent, 0, 0, 0 },
                { "fanotify_init", 338, 0xffffffffL, 0, 0, 0, 0 },
                { "lookup_dcookie", 253, 0, 0, 0, 0, 0 },
                { "iopl", 110, 0, 0, 0, 0, 0 },
                { "ioperm", 101, 0x80, 1, 0, 0, 0 },
                { "acct", 51, (long) nonexistent, 0, 0, 0, 0 },
                { "settimeofday", 79, 0, 0, 0, 0, 0 },
                { "clock_settime", 264, CLOCK_REALTIME, 0, 0, 0, 0 },
                { "syslog", 103, 10, 0, 0, 0, 0 },
                { "audit_socket", 359, AF_NETLINK, SOCK_RAW, NETLINK_AUDIT, 0, 0 },
                /* the same socket through the socketcall() multiplexer, whose arguments a
                 * seccomp filter cannot see */
                { "socketcall_audit", 102, 1 /* SYS_SOCKET */, (long) audit_args, 0, 0, 0 },
        };
        const char *no_i386 = i386_unusable();
        if (no_i386) /* one line, "i386:getpid SIGSEGV": the tests skip the ABI on it */
                printf("i386:getpid %s\n", no_i386);
        for (size_t i = 0; !no_i386 && i < sizeof i386 / sizeof i386[0]; i++)
                report_i386(i386[i].name, sys_i386(i386[i].nr, i386[i].a, i386[i].b, i386[i].c, i386[i].d, i386[i].e));

        /* x32: the x86-64 number with bit 30 (for these calls the numbers are the same). */
        report("x32:getpid", syscall(X32 | SYS_getpid));
        report("x32:keyctl", syscall(X32 | SYS_keyctl, 0, -3, 0));
        report("x32:bpf", syscall(X32 | SYS_bpf, -1, NULL, 0));
        report("x32:init_module", syscall(X32 | SYS_init_module, NULL, 0, empty));
        report("x32:syslog", syscall(X32 | SYS_syslog, 10, NULL, 0));
        report("x32:open_by_handle_at", syscall(X32 | SYS_open_by_handle_at, -1, NULL, 0));
        report("x32:perf_event_open", syscall(X32 | SYS_perf_event_open, NULL, 0, -1, -1, 0));
#endif
        return 0;
}

#ifdef __x86_64__
/* One audit request; the kernel's answer: "OK" (a reply or a zero ack) or the errno it acked. */
static const char *audit_ask(int fd, uint16_t type, const char *text) {
        struct {
                struct nlmsghdr h;
                char data[128];
        } req = {};
        size_t len = text ? strlen(text) + 1 : 0;
        req.h.nlmsg_len = NLMSG_LENGTH(len);
        req.h.nlmsg_type = type;
        req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        req.h.nlmsg_seq = 1;
        memcpy(req.data, text ? text : "", len);
        struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
        if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *) &kernel, sizeof kernel) < 0)
                return strerrorname_np(errno);
        struct timeval tv = { .tv_sec = 2 };
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[8192] __attribute__((aligned(4)));
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0)
                return strerrorname_np(errno);
        for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
                if (h->nlmsg_type == NLMSG_ERROR) {
                        const struct nlmsgerr *e = NLMSG_DATA(h);
                        return e->error ? strerrorname_np(-e->error) : "OK";
                }
                if (h->nlmsg_type == type)
                        return "OK";
        }
        return "NO-ANSWER";
}

static int do_audit(bool user) {
        const char *no_i386 = i386_unusable();
        if (no_i386) {
                printf("i386:socketcall_audit %s\n", no_i386);
                return 0;
        }
        long fd = sys_i386(102 /* socketcall */, 1 /* SYS_SOCKET */, (long) audit_args, 0, 0, 0);
        report_i386("socketcall_audit", fd);
        if (fd < 0)
                return 0;
        printf("audit:get %s\n", audit_ask((int) fd, AUDIT_GET, NULL));
        if (user)
                printf("audit:user %s\n", audit_ask((int) fd, AUDIT_USER, "nlsec-probe: this must never be logged"));
        close((int) fd);
        return 0;
}
#endif

static void inject(const char *what, int fd, const char *text, unsigned long cmd) {
        if (fd < 0) {
                printf("tiocsti:%s %s\n", what, strerrorname_np(errno));
                return;
        }
        long r = 0;
        int e = 0;
        for (const char *p = text; *p && r >= 0; p++) {
                r = syscall(SYS_ioctl, fd, cmd, p);
                e = errno;
        }
        printf("tiocsti:%s %s\n", what, res(r, e));
}

static int do_tiocsti(const char *body, bool fd0_only) {
        char text[512];
        snprintf(text, sizeof text, "%s\n", body);
        inject("fd0", 0, text, TIOCSTI);
        if (fd0_only) /* the host's positive control: never the host's console */
                return fflush(stdout), 0;
        inject("fd1", 1, text, TIOCSTI);
        inject("fd2", 2, text, TIOCSTI);
        /* CVE-2019-10063: high bits set in the command, which a 64-bit filter compare misses. */
        inject("fd0-highbits", 0, text, TIOCSTI | (1UL << 32));
        inject("dev-tty", open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC), text, TIOCSTI);
        inject("dev-console", open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC), text, TIOCSTI);
        /* TIOCLINUX: set selection (2) and paste (3), meaningful on a VT only. */
        struct {
                char sub;
                short xs, ys, xe, ye, mode;
        } __attribute__((packed)) sel = { 2, 1, 1, 10, 1, 0 };
        report("tioclinux:setsel", ioctl(0, TIOCLINUX, &sel));
        char paste = 3;
        report("tioclinux:paste", ioctl(0, TIOCLINUX, &paste));
        fflush(stdout);
        return 0;
}

static int do_openw(int argc, char **argv) {
        for (int i = 0; i < argc; i++) {
                int fd = open(argv[i], O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
                int e = errno;
                printf("openw:%s %s\n", argv[i], res(fd, e));
                if (fd >= 0)
                        close(fd);
        }
        return 0;
}

static int do_readn(int argc, char **argv) {
        for (int i = 0; i < argc; i++) {
                int fd = open(argv[i], O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
                if (fd < 0) {
                        printf("readn:%s %s\n", argv[i], strerrorname_np(errno));
                        continue;
                }
                char buf[4096];
                long total = 0;
                ssize_t k;
                while (total < (1 << 20) && (k = read(fd, buf, sizeof buf)) > 0)
                        total += k;
                if (total == 0 && k < 0)
                        printf("readn:%s %s\n", argv[i], strerrorname_np(errno));
                else
                        printf("readn:%s bytes=%ld\n", argv[i], total);
                close(fd);
        }
        return 0;
}

static int do_mknod_open(const char *path, const char *type, const char *maj, const char *min) {
        mode_t m = (type[0] == 'b' ? S_IFBLK : S_IFCHR) | 0600;
        int r = mknod(path, m, makedev(atoi(maj), atoi(min)));
        report("mknod", r);
        int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        int e = errno;
        printf("open %s\n", res(fd, e));
        if (fd >= 0) {
                char c;
                ssize_t k = read(fd, &c, 1);
                e = errno;
                printf("read %s\n", res(k, e));
                close(fd);
        }
        return 0;
}

static void describe_fd(int fd, const char *tag) {
        char p[64], target[512];
        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        ssize_t k = readlink(p, target, sizeof target - 1);
        target[k > 0 ? k : 0] = 0;
        struct stat st;
        if (fstat(fd, &st) < 0) {
                printf("%s%d %s fstat-failed\n", tag, fd, target);
                return;
        }
        char head[40] = "";
        if (S_ISREG(st.st_mode)) {
                ssize_t n = pread(fd, head, sizeof head - 1, 0);
                head[n > 0 ? n : 0] = 0;
                for (char *c = head; *c; c++)
                        if (*c < 0x20 || *c > 0x7e)
                                *c = '.';
        }
        const char *type = S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "dir" : S_ISCHR(st.st_mode) ? "chr"
                         : S_ISBLK(st.st_mode) ? "blk" : S_ISFIFO(st.st_mode) ? "fifo" : S_ISSOCK(st.st_mode) ? "sock"
                                                                                          : "other";
        /* id= is st_dev:st_ino in decimal, as "stat -L -c %d:%i" prints them on the host. */
        printf("%s%d %s type=%s id=%lu:%lu rdev=%u:%u head=%s\n", tag, fd, target, type, (unsigned long) st.st_dev,
               (unsigned long) st.st_ino, major(st.st_rdev), minor(st.st_rdev), head);
}

static int do_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        if (!d)
                return perror("opendir"), 1;
        int dfd = dirfd(d);
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                int fd = atoi(de->d_name);
                if (fd != dfd)
                        describe_fd(fd, "fd");
        }
        closedir(d);
        char cwd[4096];
        printf("cwd %s\n", getcwd(cwd, sizeof cwd) ? cwd : strerrorname_np(errno));
        return 0;
}

static int read_last_pid(void) {
        char buf[32] = "";
        int fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        ssize_t k = read(fd, buf, sizeof buf - 1);
        close(fd);
        return k > 0 ? atoi(buf) : -1;
}

/* Does /proc/PID/environ hold marker? */
static bool environ_has(int pid, const char *marker) {
        char p[64], buf[65536];
        snprintf(p, sizeof p, "/proc/%d/environ", pid);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        ssize_t k = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (k <= 0)
                return false;
        return memmem(buf, (size_t) k, marker, strlen(marker)) != NULL;
}

/* Guess the next pid of our namespace and, the moment it exists, read its environment and grab
 * its fds 0..15 (pidfd_getfd: what a guest root with CAP_SYS_PTRACE may do to any process that
 * enters its pid namespace). */
static int do_racer(int seconds, const char *marker) {
        time_t end = time(NULL) + seconds;
        long seen = 0, grabbed = 0, env_leaks = 0;
        int self = getpid();
        setvbuf(stdout, NULL, _IOLBF, 0);
        while (time(NULL) < end) {
                int next = read_last_pid() + 1;
                if (next <= 1)
                        continue;
                int pidfd = -1;
                for (int spin = 0; spin < 200000 && pidfd < 0; spin++) {
                        pidfd = (int) syscall(SYS_pidfd_open, next, 0);
                        if (pidfd < 0 && (spin & 1023) == 1023 && read_last_pid() + 1 > next + 8)
                                break; /* we fell behind: guess again */
                }
                if (pidfd < 0 || next == self)
                        continue;
                seen++;
                if (marker && environ_has(next, marker)) {
                        env_leaks++;
                        printf("environ pid=%d holds %s\n", next, marker);
                }
                for (int fd = 0; fd < 16; fd++) {
                        int got = (int) syscall(SYS_pidfd_getfd, pidfd, fd, 0);
                        if (got < 0)
                                continue;
                        grabbed++;
                        char tag[64];
                        snprintf(tag, sizeof tag, "stolen pid=%d srcfd=%d tmpfd=", next, fd);
                        describe_fd(got, tag);
                        close(got);
                }
                close(pidfd);
        }
        printf("racer seen=%ld grabbed=%ld env_leaks=%ld\n", seen, grabbed, env_leaks);
        return 0;
}

static int do_connect(const char *path, const char *text) {
        int dfd = -1, type = SOCK_SEQPACKET;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        socklen_t salen = sizeof sa;
        if (path[0] == '@') {
                /* An abstract socket (per network namespace), stream type. */
                type = SOCK_STREAM;
                size_t n = strlen(path);
                if (n > sizeof sa.sun_path)
                        n = sizeof sa.sun_path;
                memcpy(sa.sun_path + 1, path + 1, n - 1);
                salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n);
        } else if (strlen(path) >= sizeof sa.sun_path) {
                /* Long runtime directories: name the socket through its directory's fd. */
                char dir[4096];
                snprintf(dir, sizeof dir, "%s", path);
                char *slash = strrchr(dir, '/');
                *slash = 0;
                dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return printf("connect %s\n", strerrorname_np(errno)), 0;
                snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dfd, slash + 1);
        } else
                snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        if (connect(fd, (struct sockaddr *) &sa, salen) < 0)
                return printf("connect %s\n", strerrorname_np(errno)), 0;
        printf("connect OK\n");
        if (send(fd, text, strlen(text), MSG_NOSIGNAL) < 0)
                printf("send %s\n", strerrorname_np(errno)); /* a peer that spoke and hung up: read it */
        struct timeval tv = { .tv_sec = 5 };
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[512];
        ssize_t k = recv(fd, buf, sizeof buf - 1, 0);
        if (k < 0)
                printf("reply %s\n", strerrorname_np(errno));
        else if (k == 0)
                printf("reply EOF\n");
        else {
                buf[k] = 0;
                printf("reply %s\n", buf);
        }
        return 0;
}

int main(int argc, char **argv) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc < 2)
                return fprintf(stderr, "usage: see the top of nlsec-probe.c\n"), 2;
        const char *cmd = argv[1];
        if (strcmp(cmd, "syscalls") == 0)
                return do_syscalls();
        if (strcmp(cmd, "tiocsti") == 0 && (argc == 3 || (argc == 4 && strcmp(argv[3], "fd0only") == 0)))
                return do_tiocsti(argv[2], argc == 4);
        if (strcmp(cmd, "openw") == 0)
                return do_openw(argc - 2, argv + 2);
        if (strcmp(cmd, "readn") == 0)
                return do_readn(argc - 2, argv + 2);
        if (strcmp(cmd, "mknod-open") == 0 && argc == 6)
                return do_mknod_open(argv[2], argv[3], argv[4], argv[5]);
        if (strcmp(cmd, "fds") == 0)
                return do_fds();
        if (strcmp(cmd, "racer") == 0 && (argc == 3 || argc == 4))
                return do_racer(atoi(argv[2]), argc == 4 ? argv[3] : NULL);
        if (strcmp(cmd, "connect") == 0 && argc == 4)
                return do_connect(argv[2], argv[3]);
#ifdef __x86_64__
        if (strcmp(cmd, "audit") == 0 && (argc == 2 || (argc == 3 && strcmp(argv[2], "user") == 0)))
                return do_audit(argc == 3);
#endif
        return fprintf(stderr, "nlsec-probe: bad usage\n"), 2;
}
