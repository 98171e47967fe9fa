/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* "login" and "shell": a person's way into a running machine. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "machines/control.h"
#include "nspawnlite/basic/name.h"
#include "machines/registry.h"
#include "nspawnlite/shell.h"
#include "nspawnlite/console.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/cli/verbs-machines.h"

static int load_named_machine(const char *verb, const char *name, MachineInfo *ret) {
        if (!machine_name_is_valid(name))
                return log_error("Invalid machine name '%s'.", name), 2;
        return load_machine(verb, name, ret) < 0 ? 1 : 0;
}

int verb_login(int argc, char **argv) {
        static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, {} };
        optind = 0;
        opterr = 0;
        for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) >= 0;) {
                if (c == 'h') {
                        printf("nspawnlite login NAME\n\nA login prompt on a free tty of the machine: the "
                               "guest's own getty,\n"
                               "password and all. Ctrl-] three times within a second detaches (the session\n"
                               "on that tty is hung up, and the tty is free again).\n");
                        return 0;
                }
                return log_error("Unknown option '%s'. See 'nspawnlite login --help'.", argv[optind - 1]), 2;
        }
        if (optind >= argc)
                return log_error("No machine name given. Usage: nspawnlite login NAME"), 2;
        MachineInfo m;
        int r = load_named_machine(argv[0], argv[optind++], &m);
        if (r != 0)
                return r;
        if (optind < argc)
                return log_error("Unexpected argument '%s'.", argv[optind]), 2;
        /* A getty's prompt wants a person at a terminal; without one the session would only end
         * at once, as if it had worked. */
        if (!isatty(STDIN_FILENO))
                return log_error("nspawnlite login needs a terminal on stdin; for commands from a script use "
                                 "'nspawnlite shell %s -- CMD'.",
                                 m.name),
                       1;

        _cleanup_close_ int fd = -EBADF, master = -EBADF;
        char reply[CONTROL_MESSAGE_MAX] = "";
        /* A getty that is just respawning leaves its tty without a reader for a moment. */
        for (int attempt = 0;; attempt++) {
                fd = safe_close(fd);
                reply[0] = 0;
                r = control_connect(m.name, &fd);
                if (r >= 0)
                        r = control_call(fd, CONTROL_LOGIN, NULL, reply, sizeof reply, &master);
                if (r != -EAGAIN || attempt >= 30)
                        break;
                nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
        }
        if (r < 0)
                return log_control_error(&m, r, reply), 1;

        ConsoleRelay relay;
        r = console_relay_init(&relay, CONSOLE_INTERACTIVE, STDIN_FILENO, STDOUT_FILENO);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the terminal: %m"), 1;
        log_info("Connected to machine %s on %s. Press Ctrl-] three times within 1 s to detach.", m.name,
                 reply);
        console_relay_set_master(&relay, master);
        /* A fresh prompt: the getty printed its own before we were here. */
        (void) console_relay_inject(&relay, "\r", 1);

        RelayEnd end = console_relay_run(&relay, fd, true, true);
        const char *why = end == RELAY_END_WATCH ? "The machine is gone" : "Detached";
        console_relay_set_master(&relay, -EBADF);
        console_relay_done(&relay);
        log_info("%s: left machine %s.", why, m.name);
        return 0;
}

int verb_shell(int argc, char **argv) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "uid", required_argument, NULL, 'u' },
                { "setenv", required_argument, NULL, 'E' },
                { "chdir", required_argument, NULL, 'C' },
                {},
        };
        const char *user = NULL, *dir = NULL;
        char *env[64];
        size_t n_env = 0;
        /* Options may stand before and after NAME; the command starts after "--" or at the first
         * word after NAME that is not an option, and its own options are its own. */
        optind = 0;
        opterr = 0;
        const char *name = NULL;
        for (;;) {
                int c = getopt_long(argc, argv, "+hu:E:", opts, NULL);
                if (c < 0) {
                        if (name || optind >= argc || strcmp(argv[optind - 1], "--") == 0)
                                break;
                        name = argv[optind++];
                        continue;
                }
                switch (c) {
                case 'h':
                        printf("nspawnlite shell NAME [--uid=USER] [-E VAR=VALUE] [--chdir=DIR] [-- CMD…]\n\n"
                               "A shell (or CMD) inside the machine, without a password: it joins every\n"
                               "namespace and the cgroup of the machine, with its capabilities and seccomp\n"
                               "filter, on a pty of the machine (or pipes when stdin/stdout are not\n"
                               "terminals). The exit status is CMD's; 127 when it is not found.\n");
                        return 0;
                case 'u':
                        user = optarg;
                        break;
                case 'C':
                        if (optarg[0] != '/')
                                return log_error("--chdir= needs an absolute path."), 2;
                        dir = optarg;
                        break;
                case 'E':
                        if (!strchr(optarg, '=') || optarg[0] == '=' || n_env >= ELEMENTSOF(env) - 1)
                                return log_error("Invalid environment assignment '%s': use VAR=VALUE.",
                                                 optarg),
                                       2;
                        env[n_env++] = optarg;
                        break;
                default:
                        return log_error("Unknown option or missing argument '%s'. See 'nspawnlite shell "
                                         "--help'.",
                                         argv[optind - 1]),
                               2;
                }
        }
        env[n_env] = NULL;
        if (geteuid() != 0)
                return log_needs_root(argv[0]);
        if (!name)
                return log_error("No machine name given. Usage: nspawnlite shell NAME [-- CMD…]"), 2;
        MachineInfo m;
        int r = load_named_machine(argv[0], name, &m);
        if (r != 0)
                return r;
        ShellRequest rq = {
                .machine = &m,
                .user = user,
                .chdir = dir,
                .setenv = env,
                .argv = optind < argc ? argv + optind : NULL,
        };
        /* Copied: the environment is wiped before anything of ours enters the machine. */
        char term[64] = "";
        const char *t = getenv("TERM");
        if (t && strlen(t) < sizeof term && !strpbrk(t, "/ "))
                rq.term = strcpy(term, t);
        return shell_run(&rq);
}
