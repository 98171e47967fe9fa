/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machines/cgroup-limits.h"
#include "nspawnlite/basic/parse-util.h"
#include "nspawnlite/userns.h"

typedef enum {
        CONSOLE_AUTO,
        CONSOLE_INTERACTIVE, /* the caller's terminal relayed to /dev/console, raw */
        CONSOLE_READ_ONLY,   /* console output relayed, no input */
        CONSOLE_PASSIVE,     /* a /dev/console exists, nothing is relayed */
        CONSOLE_PIPE,        /* no pty: the guest gets the caller's stdio */
} ConsoleMode;

typedef enum {
        NETWORK_NONE,   /* own netns, only lo */
        NETWORK_HOST,   /* the host's netns */
        NETWORK_BRIDGE, /* veth on a host bridge (network issue) */
        NETWORK_VETH,   /* point-to-point veth (network issue) */
} NetworkMode;

typedef enum {
        LAUNCH_BOOT, /* the tree's init as PID 1 */
        LAUNCH_RUN,  /* a stub PID 1 that runs one command */
} LaunchKind;

typedef struct {
        char *source; /* host path, NULL for tmpfs */
        char *dest;   /* path inside the guest */
        bool read_only;
        bool tmpfs;
        int tree_fd; /* per boot: a detached copy of the source, made by the supervisor (see launch.c) */
} CustomMount;

typedef struct PortForward PortForward;

typedef struct {
        LaunchKind kind;
        char *rootfs;   /* absolute, canonical */
        char *machine;  /* validated name */
        char *hostname; /* defaults to the machine name */
        ConsoleMode console;
        NetworkMode network;
        char *bridge;
        PortForward *ports;
        size_t n_ports;
        CustomMount *mounts;
        size_t n_mounts;
        bool read_only;
        char tmpfs_size[24]; /* --tmpfs-size=: size= of /tmp, /run, /dev/shm, --tmpfs; "" for the default */
        bool detach;
        bool wait_ready;
        unsigned ttys; /* login ttys, /dev/tty1..N */
        UsernsConfig userns;
        Limits limits;
        char **setenv; /* -E VAR=VALUE, in order */
        uint64_t caps_add, caps_drop;
        bool no_new_privileges;
        int kill_signal; /* 0: chosen from the init */
        usec_t timeout;
        char **args; /* boot: arguments for init; run: the command */
} Config;

/* Parse argv of "boot" or "run" (argv[0] is the verb). Prints one error line and returns -EINVAL
 * (or 1 for --help, having printed it) without touching anything outside the process. */
int config_parse(Config *c, LaunchKind kind, int argc, char **argv);
void config_done(Config *c);

/* The size of the machine's tmpfs mounts (/tmp, /run, /dev/shm, --tmpfs): tmpfs pins what is
 * written there beyond the OOM killer's reach, so each is capped (systemd-nspawn's caps). */
#define TMPFS_SIZE_DEFAULT "10%"
#define TMPFS_SIZE_MIN (UINT64_C(1) << 20)
/* "N%" (1 to 100, of the host's RAM) or a size (512M, 2G; at least 1M) into the value of tmpfs's
 * size= option (a percentage or bytes). -EINVAL or -ERANGE. */
int tmpfs_size_parse(const char *s, char *ret, size_t n);

void boot_help(void);
void run_help(void);
