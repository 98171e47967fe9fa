/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/cli/verbs-machines.h"
#include "nspawnlite/cli/verbs.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "machines/cgroup.h"
#include "machines/control.h"
#include "machines/images/store.h"
#include "nspawnlite/basic/name.h"
#include "machines/registry.h"
#include "nspawnlite/console.h"
#include "nspawnlite/gc.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/format-util.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/strv.h"

/* Options shared by the machine verbs; each verb says which it takes. */
typedef struct {
        bool json;
        usec_t timeout;
        int signal;
} VerbOptions;

enum { OPT_JSON = 1 << 0, OPT_TIMEOUT = 1 << 1, OPT_SIGNAL = 1 << 2 };

static const struct {
        const char *verb;
        const char *usage;
        const char *text;
} verb_help_table[] = {
        { "list", "list [--json]", "List running machines: name, state, init, address, since." },
        { "status", "status NAME [--json]",
          "Show a machine: leader, rootfs, cgroup, CPU, memory, tasks, IO and limits." },
        { "console", "console NAME",
          "Attach to the machine's console. One writer at a time; later ones are read-only.\n"
          "Ctrl-] three times within a second detaches." },
        { "poweroff", "poweroff NAME [--timeout=SEC]",
          "Ask the guest's init to power off, wait for it (default 30 s), then kill it." },
        { "reboot", "reboot NAME", "Ask the guest's init to reboot; the machine comes back under its name." },
        { "terminate", "terminate NAME", "Kill every process of the machine now." },
        { "kill", "kill NAME [--signal=SIG]", "Send a signal (default SIGTERM) to the guest's init." },
        { "freeze", "freeze NAME", "Suspend every process of the machine." },
        { "thaw", "thaw NAME", "Resume a frozen machine." },
        { "set-limit", "set-limit NAME KEY=VALUE…",
          "Change limits of a running machine: memory-max=BYTES|infinity, cpu-weight=1-10000,\n"
          "cpu-quota=N%|infinity, pids-max=N|infinity, io-weight=1-10000." },
        { "gc", "gc", "Remove what dead machines left behind: state files, cgroups." },
};

static void help(const char *verb) {
        for (size_t i = 0; i < ELEMENTSOF(verb_help_table); i++)
                if (strcmp(verb_help_table[i].verb, verb) == 0)
                        printf("nspawnlite %s\n\n%s\n", verb_help_table[i].usage, verb_help_table[i].text);
}

/* Parse the options of a verb; positional arguments are left in argv[optind…]. Returns 1 after
 * --help, 0 on success, -EINVAL after printing an error. */
static int parse_verb_options(int argc, char **argv, unsigned allowed, VerbOptions *o) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                { "timeout", required_argument, NULL, 't' },
                { "signal", required_argument, NULL, 's' },
                {},
        };
        *o = (VerbOptions){ .timeout = 30 * USEC_PER_SEC, .signal = SIGTERM };
        optind = 0;
        opterr = 0;
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help(argv[0]);
                        return 1;
                case 'j':
                        if (!(allowed & OPT_JSON))
                                goto unknown;
                        o->json = true;
                        break;
                case 't':
                        if (!(allowed & OPT_TIMEOUT))
                                goto unknown;
                        if (parse_sec(optarg, &o->timeout) < 0 || o->timeout == 0)
                                return log_error("Invalid --timeout= '%s': use seconds, e.g. 30 or 500ms.",
                                                 optarg),
                                       -EINVAL;
                        break;
                case 's':
                        if (!(allowed & OPT_SIGNAL))
                                goto unknown;
                        if (parse_signal(optarg, &o->signal) < 0)
                                return log_error(
                                               "Invalid --signal= '%s': use a name like SIGTERM or a number.",
                                               optarg),
                                       -EINVAL;
                        break;
                default:
                unknown:
                        log_error("Unknown option or missing argument '%s'. See 'nspawnlite %s --help'.",
                                  argv[optind - 1], argv[0]);
                        return -EINVAL;
                }
        return 0;
}

/* The one NAME argument of a verb, validated. */
static int take_name(int argc, char **argv, const char **ret) {
        if (optind >= argc)
                return log_error("No machine name given. Usage: nspawnlite %s NAME", argv[0]), -EINVAL;
        const char *name = argv[optind++];
        if (!machine_name_is_valid(name))
                return log_error("Invalid machine name '%s'.", name), -EINVAL;
        *ret = name;
        return 0;
}

static int no_more_args(int argc, char **argv) {
        if (optind < argc)
                return log_error("Unexpected argument '%s'. See 'nspawnlite %s --help'.", argv[optind],
                                 argv[0]),
                       -EINVAL;
        return 0;
}

int log_needs_root(const char *verb) {
        log_error("nspawnlite %s needs root: running machines and their control sockets are root's only.",
                  verb);
        return 1;
}

int load_machine(const char *verb, const char *name, MachineInfo *m) {
        int r = machine_info_load(name, m);
        switch (r) {
        case 0:
                return 0;
        case -EACCES:
                return log_needs_root(verb), r;
        case -EBADMSG:
                return log_error("Machine %s has a state file nspawnlite did not write; refusing it.", name),
                       r;
        case -ENOENT:
                return log_error("No machine named %s is running.", name), r;
        case -EAGAIN:
                return log_error("Machine %s is still starting; try again in a moment.", name), r;
        case -ESRCH:
                return log_error("Machine %s is not running (its leftovers go with 'nspawnlite gc').", name),
                       r;
        default:
                return log_error_errno(r, "Failed to read the state of machine %s: %m", name);
        }
}

int log_control_error(const MachineInfo *m, int r, const char *reply) {
        if (reply && reply[0])
                return log_error("%s", reply), r; /* the supervisor's own answer */
        switch (r) {
        case -EACCES:
        case -EPERM:
                log_error("Reaching the supervisor of machine %s needs root.", m->name);
                break;
        case -ETIMEDOUT:
                log_error("Machine %s's supervisor (pid %d) did not answer within %d s; is it stopped?",
                          m->name, (int) m->supervisor, CONTROL_TIMEOUT_SEC);
                break;
        case -ECONNRESET:
        case -EBADMSG:
                log_error("Machine %s's supervisor (pid %d) closed the connection without answering.",
                          m->name, (int) m->supervisor);
                break;
        default:
                log_error_errno(r, "Failed to reach the supervisor (pid %d) of machine %s: %m",
                                (int) m->supervisor, m->name);
        }
        return r;
}

int machine_call(const MachineInfo *m, ControlRequestId id, char *const *args, char *reply, size_t n,
                 int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        if (n > 0)
                reply[0] = 0;
        if (control_request_info(id)->reply == CONTROL_REPLY_FD)
                return -EINVAL;
        int r = control_connect(m->name, &fd);
        if (r >= 0)
                r = control_call(fd, id, args, reply, n, NULL);
        if (r < 0)
                return r;
        if (ret_fd)
                *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Send one request to a machine's supervisor; prints the error. -ETIMEDOUT only when the
 * supervisor did not answer in time. */
static int call(const MachineInfo *m, ControlRequestId id, char *const *args, int *ret_fd) {
        char reply[CONTROL_MESSAGE_MAX];
        int r = machine_call(m, id, args, reply, sizeof reply, ret_fd);
        return r < 0 ? log_control_error(m, r, reply) : 0;
}

/* How long a terminated machine may take to die and be cleared up by its supervisor, before the
 * verb kills its cgroup itself. */
#define TERMINATE_WAIT_USEC (2 * CONTROL_TIMEOUT_SEC * USEC_PER_SEC)
/* poweroff: beyond its --timeout, the supervisor's kill and clear-up. */
#define POWEROFF_GRACE_USEC (10 * USEC_PER_SEC)

/* terminate and kill --signal=KILL work without the supervisor too: when it cannot be asked
 * (stopped, hung, gone), the machine's cgroup is killed directly, once proved to be this runtime
 * dir's. The supervisor reaps and clears up when it runs again; gc when it is dead. */
static int kill_through_cgroup(const char *name, const char *what) {
        char why[PATH_MAX] = "";
        log_warning("The supervisor of %s %s; killing the machine through its cgroup.", name, what);
        int r = machine_cgroup_kill_by_name(name, why, sizeof why);
        if (r == -EEXIST)
                return log_error_errno(r, "Not killing cgroup %s: it is not this nspawnlite's.", why);
        if (r == -ESRCH)
                return log_error_errno(r, "Machine %s has no cgroup left to kill.", name);
        if (r < 0 && cgroup_parent_error(r))
                return log_error("%s", cgroup_parent_error(r)), r;
        if (r < 0)
                return log_error_errno(r, "Failed to kill the cgroup of machine %s: %m", name);
        return 0;
}

/* call(), or, when the supervisor could not be asked (no answer in time, no socket), the cgroup
 * kill: 0 when the supervisor took the request, 1 when the cgroup was killed instead, -errno. */
static int call_or_kill(const MachineInfo *m, ControlRequestId id, char *const *args, int *ret_fd) {
        char reply[CONTROL_MESSAGE_MAX];
        int r = machine_call(m, id, args, reply, sizeof reply, ret_fd);
        if (r >= 0)
                return 0;
        if (reply[0] || r == -EACCES || r == -EPERM) /* it answered, or we may not ask */
                return log_control_error(m, r, reply);
        r = kill_through_cgroup(m->name, r == -ETIMEDOUT ? "does not answer" : "cannot be reached");
        return r < 0 ? r : 1;
}

/* Wait for "X STATUS" on a waiter connection. */
static int wait_machine_end(int fd, usec_t timeout, int *ret_status) {
        usec_t deadline = timeout == USEC_INFINITY ? USEC_INFINITY : now_usec() + timeout;
        for (;;) {
                int ms = -1;
                if (deadline != USEC_INFINITY) {
                        usec_t now = now_usec();
                        if (now >= deadline)
                                return -ETIMEDOUT;
                        ms = (int) ((deadline - now) / USEC_PER_MSEC) + 1;
                }
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int k = poll(&p, 1, ms);
                if (k < 0 && errno != EINTR)
                        return -errno;
                if (k <= 0)
                        continue;
                char buf[CONTROL_MESSAGE_MAX + 1];
                ssize_t n = recv(fd, buf, CONTROL_MESSAGE_MAX, 0);
                if (n <= 0)
                        return -ECONNRESET;
                buf[n] = 0;
                if (buf[0] == 'X' && sscanf(buf, "X %d", ret_status) == 1)
                        return 0;
        }
}

/* What every verb on one machine starts with: its options, NAME and nothing more, the machine
 * alive. 0 to go on, 1 when done (--help), -EINVAL after a usage error, -errno when the machine
 * cannot be had (both printed); verb_exit_status() says what the verb exits with. */
static int machine_verb_start(int argc, char **argv, unsigned allowed, VerbOptions *o, MachineInfo *m) {
        const char *name;
        int r = parse_verb_options(argc, argv, allowed, o);
        if (r != 0)
                return r;
        r = take_name(argc, argv, &name);
        if (r >= 0)
                r = no_more_args(argc, argv);
        if (r < 0)
                return r;
        r = load_machine(argv[0], name, m);
        /* The name is valid (take_name()): no -EINVAL here to pass for a usage error. */
        return r == -EINVAL ? -EBADMSG : r;
}

/* Exit statuses of the machine verbs: 0 after --help, 2 for a usage error, 1 for any other. */
static int verb_exit_status(int r) {
        return r > 0 ? 0 : r == -EINVAL ? 2 : 1;
}

static int simple_verb(int argc, char **argv, unsigned allowed, ControlRequestId id) {
        VerbOptions o;
        MachineInfo m;
        int r = machine_verb_start(argc, argv, allowed, &o, &m);
        if (r != 0)
                return verb_exit_status(r);
        char sig[16];
        snprintf(sig, sizeof sig, "%d", o.signal);
        char *const args[] = { (allowed & OPT_SIGNAL) ? sig : NULL, NULL };
        /* SIGKILL to init ends the whole machine: the cgroup can do that without the supervisor. */
        if ((allowed & OPT_SIGNAL) && o.signal == SIGKILL)
                return call_or_kill(&m, id, args, NULL) < 0 ? 1 : 0;
        return call(&m, id, args, NULL) < 0 ? 1 : 0;
}

int verb_reboot(int argc, char **argv) {
        return simple_verb(argc, argv, 0, CONTROL_REBOOT);
}

int verb_kill(int argc, char **argv) {
        return simple_verb(argc, argv, OPT_SIGNAL, CONTROL_KILL);
}

int verb_freeze(int argc, char **argv) {
        return simple_verb(argc, argv, 0, CONTROL_FREEZE);
}

int verb_thaw(int argc, char **argv) {
        return simple_verb(argc, argv, 0, CONTROL_THAW);
}

/* poweroff and terminate: ask, then wait for the machine to be gone. */
static int ending_verb(int argc, char **argv, bool terminate) {
        VerbOptions o;
        MachineInfo m;
        int r = machine_verb_start(argc, argv, terminate ? 0 : OPT_TIMEOUT, &o, &m);
        if (r != 0)
                return verb_exit_status(r);
        const char *name = m.name;
        char timeout[32] = "infinity";
        if (o.timeout != USEC_INFINITY)
                snprintf(timeout, sizeof timeout, "%" PRIu64 "ms", (uint64_t) (o.timeout / USEC_PER_MSEC));
        _cleanup_close_ int fd = -EBADF;
        if (terminate) {
                r = call_or_kill(&m, CONTROL_TERMINATE, NULL, &fd);
                if (r != 0)
                        return r < 0 ? 1 : 0;
        } else if (call(&m, CONTROL_POWEROFF, (char *const[]){ timeout, NULL }, &fd) < 0)
                return 1;
        int status = 0;
        /* The supervisor kills the machine at the timeout (terminate: at once); give it a moment
         * beyond that, but no more: a supervisor stopped after its answer must not hang us. A
         * terminate it does not finish in time is done without it. */
        usec_t wait = terminate                    ? TERMINATE_WAIT_USEC
                      : o.timeout == USEC_INFINITY ? USEC_INFINITY
                                                   : o.timeout + POWEROFF_GRACE_USEC;
        r = wait_machine_end(fd, wait, &status);
        if (r == -ETIMEDOUT && terminate)
                return kill_through_cgroup(name, "did not end the machine in time") < 0 ? 1 : 0;
        if (r == -ETIMEDOUT)
                return log_error("Machine %s did not end within %" PRIu64
                                 " s; is its supervisor (pid %d) stopped?",
                                 name, (uint64_t) (wait / USEC_PER_SEC), (int) m.supervisor),
                       1;
        if (r < 0)
                return log_error_errno(r, "Machine %s did not end: %m", name), 1;
        if (!terminate && status != 0) {
                log_error("Machine %s did not power off cleanly (exit status %d).", name, status);
                return 1;
        }
        return 0;
}

int verb_poweroff(int argc, char **argv) {
        return ending_verb(argc, argv, false);
}

int verb_terminate(int argc, char **argv) {
        return ending_verb(argc, argv, true);
}

int verb_set_limit(int argc, char **argv) {
        VerbOptions o;
        const char *name;
        MachineInfo m;
        int r = parse_verb_options(argc, argv, 0, &o);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (take_name(argc, argv, &name) < 0)
                return 2;
        if (optind >= argc)
                return log_error("No limit given. Usage: nspawnlite set-limit NAME KEY=VALUE…"), 2;
        for (int i = optind; i < argc; i++) {
                char why[256];
                if (limit_check_assignment(argv[i], why, sizeof why) < 0)
                        return log_error("Invalid limit '%s': %s.", argv[i], why), 2;
        }
        char request[CONTROL_MESSAGE_MAX];
        r = control_request_format(CONTROL_SET_LIMIT, argv + optind, request, sizeof request);
        if (r == -EMSGSIZE)
                return log_error("Too many limits at once."), 2;
        if (r < 0)
                return log_error("Invalid limits: give each as KEY=VALUE, without spaces."), 2;
        if (load_machine(argv[0], name, &m) < 0)
                return 1;
        return call(&m, CONTROL_SET_LIMIT, argv + optind, NULL) < 0 ? 1 : 0;
}

static void print_limits_json(const Limits *l) {
        printf("{");
        bool first = true;
        for (int k = 0; k < _LIMIT_MAX; k++) {
                if (!l->set[k])
                        continue;
                printf("%s\"%s\":", first ? "" : ",", limit_info((LimitKey) k)->name);
                if (l->value[k] == LIMIT_INFINITY)
                        printf("\"infinity\"");
                else
                        printf("%" PRIu64, l->value[k]);
                first = false;
        }
        printf("}");
}

int verb_list(int argc, char **argv) {
        VerbOptions o;
        int r = parse_verb_options(argc, argv, OPT_JSON, &o);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (no_more_args(argc, argv) < 0)
                return 2;
        _cleanup_strv_free_ char **names = NULL;
        r = machine_list_names(&names);
        if (r < 0)
                return log_error_errno(r, "Failed to list %s/machines: %m", runtime_dir()), 1;

        size_t n = 0;
        MachineInfo *ms = calloc((size_t) strv_length(names) + 1, sizeof(MachineInfo));
        if (!ms)
                return log_error("Out of memory."), 1;
        for (char **p = names; *p; p++) {
                r = machine_info_load(*p, &ms[n]);
                if (r == -EACCES) {
                        free(ms);
                        return log_needs_root(argv[0]);
                }
                if (r >= 0)
                        n++;
        }

        if (o.json) {
                printf("[");
                for (size_t i = 0; i < n; i++) {
                        char ts[64];
                        format_timestamp(ms[i].since_usec, 1, ts, sizeof ts);
                        printf("%s{\"name\":", i ? "," : "");
                        json_print_string(stdout, ms[i].name);
                        printf(",\"state\":");
                        json_print_string(stdout, ms[i].state);
                        printf(",\"init\":");
                        json_print_string(stdout, ms[i].init);
                        printf(",\"address\":");
                        if (ms[i].address[0])
                                json_print_string(stdout, ms[i].address);
                        else
                                printf("null");
                        printf(",\"leader\":%d,\"since\":\"%s\",\"since_usec\":%" PRIu64 "}",
                               (int) ms[i].leader, ts, ms[i].since_usec);
                }
                printf("]\n");
        } else {
                int w = 4;
                for (size_t i = 0; i < n; i++)
                        if ((int) strlen(ms[i].name) > w)
                                w = (int) strlen(ms[i].name);
                printf("%-*s  %-8s  %-11s  %-15s  %s\n", w, "NAME", "STATE", "INIT", "ADDRESS", "SINCE");
                for (size_t i = 0; i < n; i++) {
                        char ts[64];
                        format_timestamp(ms[i].since_usec, 0, ts, sizeof ts);
                        printf("%-*s  %-8s  %-11s  %-15s  %s\n", w, ms[i].name, ms[i].state, ms[i].init,
                               ms[i].address[0] ? ms[i].address : "-", ts);
                }
                printf("\n%zu machine%s listed.\n", n, n == 1 ? "" : "s");
        }
        free(ms);
        return 0;
}

int verb_status(int argc, char **argv) {
        VerbOptions o;
        MachineInfo m;
        int r = machine_verb_start(argc, argv, OPT_JSON, &o, &m);
        if (r != 0)
                return verb_exit_status(r);
        const char *name = m.name;

        MachineCgroup cg;
        CgroupStats st = { UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX };
        if (machine_cgroup_init(&cg, name) >= 0)
                (void) machine_cgroup_read_stats(&cg, &st);
        machine_cgroup_done(&cg);

        char ts[64];
        if (o.json) {
                format_timestamp(m.since_usec, 1, ts, sizeof ts);
                printf("{\"name\":");
                json_print_string(stdout, m.name);
                printf(",\"state\":");
                json_print_string(stdout, m.state);
                printf(",\"init\":");
                json_print_string(stdout, m.init);
                printf(",\"leader\":%d,\"supervisor\":%d,\"rootfs\":", (int) m.leader, (int) m.supervisor);
                json_print_string(stdout, m.rootfs);
                printf(",\"uuid\":");
                json_print_string(stdout, m.uuid);
                printf(",\"since\":\"%s\",\"since_usec\":%" PRIu64 ",\"cgroup\":", ts, m.since_usec);
                json_print_string(stdout, m.cgroup);
                printf(",\"address\":");
                if (m.address[0])
                        json_print_string(stdout, m.address);
                else
                        printf("null");
                printf(",\"detached\":%s", m.detached ? "true" : "false");
#define JSON_U64(key, v)                                                 \
        do {                                                             \
                if ((v) == UINT64_MAX)                                   \
                        printf(",\"" key "\":null");                     \
                else                                                     \
                        printf(",\"" key "\":%" PRIu64, (uint64_t) (v)); \
        } while (0)
                JSON_U64("cpu_usec", st.cpu_usec);
                JSON_U64("memory_current", st.memory_current);
                JSON_U64("memory_peak", st.memory_peak);
                JSON_U64("tasks", st.pids_current);
                JSON_U64("io_read_bytes", st.io_read_bytes);
                JSON_U64("io_write_bytes", st.io_write_bytes);
#undef JSON_U64
                printf(",\"limits\":");
                print_limits_json(&m.limits);
                printf("}\n");
                return 0;
        }

        char cpu[32], mem[32], peak[32], rd[32], wr[32];
        format_timestamp(m.since_usec, 0, ts, sizeof ts);
        format_usec_span(st.cpu_usec, cpu, sizeof cpu);
        format_bytes(st.memory_current, mem, sizeof mem);
        format_bytes(st.memory_peak, peak, sizeof peak);
        format_bytes(st.io_read_bytes, rd, sizeof rd);
        format_bytes(st.io_write_bytes, wr, sizeof wr);
        printf("%s\n", m.name);
        printf("     State: %s%s\n", m.state, m.detached ? " (detached)" : "");
        printf("    Leader: %d (%s)\n", (int) m.leader, m.init);
        printf("    Rootfs: %s\n", m.rootfs);
        printf("     Since: %s\n", ts);
        printf("   Address: %s\n", m.address[0] ? m.address : "-");
        printf("    Cgroup: %s\n", m.cgroup);
        printf("       CPU: %s\n", cpu);
        printf("    Memory: %s (peak %s)\n", mem, peak);
        if (st.pids_current == UINT64_MAX)
                printf("     Tasks: -\n");
        else
                printf("     Tasks: %" PRIu64 "\n", st.pids_current);
        printf("        IO: read %s, written %s\n", rd, wr);
        printf("    Limits:");
        bool any = false;
        for (int k = 0; k < _LIMIT_MAX; k++)
                if (m.limits.set[k]) {
                        char v[32];
                        limit_format_human((LimitKey) k, m.limits.value[k], v, sizeof v);
                        printf(" %s=%s", limit_info((LimitKey) k)->name, v);
                        any = true;
                }
        printf("%s\n", any ? "" : " none");
        return 0;
}

/* Remove one dead machine's leftovers (machine_clear_leftovers()): its cgroup only if it is this
 * runtime dir's (the parent is shared with systemd's machines and with other runtime dirs, whose
 * live machines gc must never touch). Returns 1 if anything of ours was there. */
static int gc_machine(const char *name, bool registered) {
        MachineLock lock = { .lock_fd = -EBADF };
        /* Holding its lock keeps a new boot of the name out while we clear up. */
        int r = machine_lock_acquire(name, &lock);
        if (r < 0)
                return r == -EBUSY ? 0 : r;
        MachineCgroup cg;
        char path[PATH_MAX] = "", why[PATH_MAX] = "";
        bool have_cgroup = machine_cgroup_init_dead(&cg, name) >= 0; /* a --slice=, a kept unit */
        r = machine_clear_leftovers(have_cgroup ? &cg : NULL, name, registered, path, sizeof path, why,
                                    sizeof why);
        if (r == -EEXIST)
                log_debug("Leaving cgroup %s alone: %s.", path, why);
        else if (r < 0)
                log_warning_errno(r, "Failed to check who made cgroup %s: %m", cg.scope);
        machine_cgroup_done(&cg);
        machine_lock_release(&lock);
        return r < 0 ? registered : r;
}

int verb_gc(int argc, char **argv) {
        VerbOptions o;
        int r = parse_verb_options(argc, argv, 0, &o);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (no_more_args(argc, argv) < 0)
                return 2;
        if (geteuid() != 0)
                return log_error("nspawnlite gc must run as root."), 1;

        unsigned removed = 0;
        /* A store others may change is left alone (store_dir_safe() said why); the machines are not. */
        r = store_dir_safe(false) < 0 ? -EPERM : gc_store(&removed);
        if (r == -EBUSY)
                log_error_errno(r,
                                "A temporary of the image store %s has a mount point inside it; unmount it "
                                "and run gc again.",
                                store_dir());
        else if (r < 0 && r != -EPERM)
                log_error_errno(r, "Failed to remove the abandoned temporaries of the image store %s: %m",
                                store_dir());
        else if (removed > 0)
                log_info("Removed %u abandoned temporar%s of the image store.", removed,
                         removed == 1 ? "y" : "ies");
        int failed = r < 0;

        MachineCgroup probe;
        r = machine_cgroup_init(&probe, "probe");
        if (r < 0 && cgroup_parent_error(r)) {
                machine_cgroup_done(&probe);
                return log_error("%s", cgroup_parent_error(r)), 1;
        }

        _cleanup_strv_free_ char **names = NULL;
        r = machine_list_names(&names);
        if (r < 0) {
                machine_cgroup_done(&probe);
                return log_error_errno(r, "Failed to list %s/machines: %m", runtime_dir()), 1;
        }
        for (char **p = names; *p; p++) {
                if (machine_lock_held(*p))
                        continue;
                r = gc_machine(*p, true);
                if (r > 0)
                        log_info("Removed the leftovers of machine %s.", *p);
                else if (r < 0) {
                        log_error_errno(r, "Failed to clear up machine %s: %m", *p);
                        failed = 1;
                }
        }

        /* cgroups whose machine directory is gone too (a supervisor killed before it wrote any). */
        _cleanup_strv_free_ char **scopes = NULL;
        (void) machine_cgroup_list_scopes(&probe, &scopes);
        for (char **p = scopes; p && *p; p++) {
                if (strv_contains(names, *p) || machine_lock_held(*p))
                        continue;
                if (gc_machine(*p, false) > 0)
                        log_info("Removed the cgroup of machine %s.", *p);
        }
        machine_cgroup_remove_parent(&probe);
        machine_cgroup_done(&probe);
        return failed;
}

/* Attach the caller's terminal to the console through the supervisor. */
int verb_console(int argc, char **argv) {
        VerbOptions o;
        MachineInfo m;
        int r = machine_verb_start(argc, argv, 0, &o, &m);
        if (r != 0)
                return verb_exit_status(r);
        const char *name = m.name;

        _cleanup_close_ int fd = -EBADF;
        char reply[CONTROL_MESSAGE_MAX];
        r = machine_call(&m, CONTROL_CONSOLE, NULL, reply, sizeof reply, &fd);
        if (r < 0 && reply[0])
                return log_error("Failed to attach to the console of %s: %s", name, reply), 1;
        if (r < 0)
                return log_control_error(&m, r, NULL), 1;
        bool writer = strcmp(reply, "rw") == 0;

        struct termios saved;
        bool raw = false;
        if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) >= 0) {
                struct termios t = saved;
                cfmakeraw(&t);
                raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) >= 0;
                log_set_raw_terminal(raw);
        }
        log_info("Connected to the console of %s%s. Press Ctrl-] three times within 1 s to detach.", name,
                 writer ? "" : " (read-only: another client writes)");

        int status = -1;
        EscapeScanner escape = {};
        bool in_open = true;
        for (;;) {
                struct pollfd p[2] = {
                        { .fd = fd, .events = POLLIN },
                        { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
                };
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[0].revents) {
                        char buf[CONTROL_MESSAGE_MAX + 1];
                        ssize_t k = recv(fd, buf, CONTROL_MESSAGE_MAX, 0);
                        if (k <= 0)
                                break;
                        if (buf[0] == 'D')
                                (void) loop_write(STDOUT_FILENO, buf + 1, (size_t) k - 1);
                        else if (buf[0] == 'X') {
                                buf[k] = 0;
                                (void) sscanf(buf, "X %d", &status);
                                break;
                        }
                }
                if (p[1].revents) {
                        char buf[1 + 1024];
                        ssize_t k = read(STDIN_FILENO, buf + 1, sizeof buf - 1);
                        if (k <= 0) {
                                in_open = false;
                                continue;
                        }
                        if (escape_scan(&escape, buf + 1, (size_t) k, now_usec()))
                                break;
                        if (writer) {
                                buf[0] = 'D';
                                (void) send(fd, buf, (size_t) k + 1, MSG_NOSIGNAL);
                        }
                }
        }
        if (raw) {
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
                log_set_raw_terminal(0);
        }
        if (status >= 0)
                log_info("Machine %s ended (status %d).", name, status);
        else
                log_info("Detached from the console of %s.", name);
        return 0;
}
