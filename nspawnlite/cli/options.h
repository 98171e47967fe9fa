/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "machines/cgroup-limits.h"
#include "network/setup.h"
#include "nspawnlite/basic/parse-util.h"
#include "nspawnlite/console.h"
#include "nspawnlite/launch.h"
#include "nspawnlite/mounts.h"
#include "nspawnlite/userns.h"

typedef struct {
        LaunchKind kind;
        char *rootfs;   /* absolute, canonical */
        char *image;    /* --image=: absolute, canonical (rootfs is the same); NULL for a tree */
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
        bool lock_root;         /* a tree of the image store: locked while the machine runs */
        bool ephemeral;         /* --ephemeral, -x */
        RootMode volatile_mode; /* --volatile=: ROOT_TREE for no */
        CustomOverlay *overlays;
        size_t n_overlays;
        char tmpfs_size[24]; /* --tmpfs-size=: size= of /tmp, /run, /dev/shm, --tmpfs; "" for the default */
        char ephemeral_size[24]; /* --ephemeral-size=: the upper layer's tmpfs size=, "disk", or "" */
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
        char *user;                 /* run: --user=, a name or uid of the guest's /etc/passwd; NULL: root */
        char *chdir;                /* run: --chdir=, the command's working directory inside the guest */
        RegisterMode register_mode; /* --register= */
        bool keep_unit;
        char *slice; /* --slice= */
        char **args; /* boot: arguments for init; run: the command */
} Config;

/* What a setting of a .nspawn file fills (nspawnlite/cli/settings.c). An option given on the command
 * line for the same thing wins over the file (with --settings=override the file wins). */
typedef enum {
        SETTING_GROUP_START = 1 << 0, /* Boot=, Parameters=: the command or init's arguments */
        SETTING_GROUP_ENV = 1 << 1,
        SETTING_GROUP_USER = 1 << 2,
        SETTING_GROUP_CHDIR = 1 << 3,
        SETTING_GROUP_CAPS = 1 << 4, /* Capability=, DropCapability= together, as systemd-nspawn */
        SETTING_GROUP_NNP = 1 << 5,
        SETTING_GROUP_KILL_SIGNAL = 1 << 6,
        SETTING_GROUP_HOSTNAME = 1 << 7,
        SETTING_GROUP_USERNS = 1 << 8,
        SETTING_GROUP_READ_ONLY = 1 << 9,
        SETTING_GROUP_ROOT_MODE = 1 << 10, /* --volatile=, --ephemeral */
        SETTING_GROUP_MOUNTS = 1 << 11,    /* --bind, --bind-ro, --tmpfs, --overlay, --overlay-ro */
        SETTING_GROUP_NETWORK = 1 << 12,
        SETTING_GROUP_PORTS = 1 << 13,
        SETTING_GROUP_TTYS = 1 << 14,
} SettingGroup;

/* For settings.c: run option NAME's handler on value, as the command line would (one error line
 * and -EINVAL on a bad value); forget what the command line gave for a group (--settings=override). */
int config_apply_option(Config *c, const char *name, const char *value);
void config_reset_group(Config *c, SettingGroup group);

/* Parse argv of "boot" or "run" (argv[0] is the verb). Prints one error line and returns -EINVAL
 * (or 1 for --help, having printed it) without touching anything outside the process. */
int config_parse(Config *c, LaunchKind kind, int argc, char **argv);
void config_done(Config *c);
/* What the launch takes: a view of c (which must outlive it), read-only from there on. */
LaunchSpec config_launch_spec(const Config *c);

/* "N%" (1 to 100, of the host's RAM) or a size (512M, 2G; at least 1M) into the value of tmpfs's
 * size= option (a percentage or bytes). -EINVAL or -ERANGE. */
int tmpfs_size_parse(const char *s, char *ret, size_t n);
/* --ephemeral-size=: OVERLAY_UPPER_DISK, or a size as tmpfs_size_parse() takes it. */
int ephemeral_size_parse(const char *s, char *ret, size_t n);

/* boot's or run's --help, from the option table. */
void launch_help(FILE *f, LaunchKind kind);
