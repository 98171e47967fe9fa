/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/cli/options.h"
#include "nspawnlite/cli/verbs.h"
#include "nspawnlite/cli/help.h"
#include "nspawnlite/cli/mount-options.h"
#include "nspawnlite/cli/options-root.h"
#include "nspawnlite/cli/settings.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "machines/images/store.h"
#include "nspawnlite/basic/name.h"
#include "network/ifname.h"
#include "network/nat.h"
#include "nspawnlite/caps.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/path-util.h"
#include "nspawnlite/basic/strv.h"

LaunchSpec config_launch_spec(const Config *c) {
        return (LaunchSpec){
                .kind = c->kind,
                .rootfs = c->rootfs,
                .image = c->image,
                .machine = c->machine,
                .hostname = c->hostname,
                .console = c->console,
                .network = { .mode = c->network,
                             .bridge = c->bridge,
                             .ports = c->ports,
                             .n_ports = c->n_ports },
                .mounts = c->mounts,
                .n_mounts = c->n_mounts,
                /* --volatile=state is the tree read-only with a tmpfs on /var. */
                .read_only = c->read_only || c->volatile_mode == ROOT_STATE,
                .root_mode = c->ephemeral ? ROOT_OVERLAY : c->volatile_mode,
                .lock_root = c->lock_root,
                .overlays = c->overlays,
                .n_overlays = c->n_overlays,
                .tmpfs_size = c->tmpfs_size,
                .ephemeral_size = c->ephemeral_size,
                .detach = c->detach,
                .wait_ready = c->wait_ready,
                .ttys = c->ttys,
                .userns = c->userns,
                .limits = c->limits,
                .setenv = c->setenv,
                .caps_add = c->caps_add,
                .caps_drop = c->caps_drop,
                .no_new_privileges = c->no_new_privileges,
                .kill_signal = c->kill_signal,
                .timeout = c->timeout,
                .user = c->user,
                .chdir = c->chdir,
                .register_mode = c->register_mode,
                .keep_unit = c->keep_unit,
                .slice = c->slice,
                .args = c->args,
        };
}

void config_done(Config *c) {
        free(c->rootfs);
        free(c->image);
        free(c->machine);
        free(c->hostname);
        free(c->bridge);
        free(c->slice);
        free(c->ports);
        for (size_t i = 0; i < c->n_mounts; i++) {
                free(c->mounts[i].source);
                free(c->mounts[i].dest);
        }
        free(c->mounts);
        for (size_t i = 0; i < c->n_overlays; i++) {
                strv_free(c->overlays[i].lower);
                free(c->overlays[i].upper);
                free(c->overlays[i].work);
                free(c->overlays[i].dest);
        }
        free(c->overlays);
        strv_free(c->setenv);
        free(c->user);
        free(c->chdir);
        strv_free(c->args);
        *c = (Config){};
}

static const struct {
        const char *name;
        ConsoleMode mode;
} console_modes[] = {
        { "interactive", CONSOLE_INTERACTIVE }, { "read-only", CONSOLE_READ_ONLY },
        { "passive", CONSOLE_PASSIVE },         { "pipe", CONSOLE_PIPE },
        { "autopipe", CONSOLE_AUTO },
};

static int parse_console(const char *s, ConsoleMode *ret) {
        for (size_t i = 0; i < ELEMENTSOF(console_modes); i++)
                if (strcmp(s, console_modes[i].name) == 0) {
                        *ret = console_modes[i].mode;
                        return 0;
                }
        return -EINVAL;
}

static int parse_network(Config *c, const char *s) {
        if (strcmp(s, "none") == 0)
                c->network = NETWORK_NONE;
        else if (strcmp(s, "host") == 0)
                c->network = NETWORK_HOST;
        else if (strcmp(s, "veth") == 0)
                c->network = NETWORK_VETH;
        else if (strcmp(s, "bridge") == 0 || strncmp(s, "bridge:", 7) == 0) {
                c->network = NETWORK_BRIDGE;
                free(c->bridge);
                c->bridge = NULL;
                if (s[6] == ':') {
                        if (!ifname_is_valid(s + 7))
                                return -EINVAL;
                        if (!(c->bridge = strdup(s + 7)))
                                return -ENOMEM;
                }
        } else
                return -EINVAL;
        return 0;
}

static bool env_assignment_is_valid(const char *s) {
        const char *eq = strchr(s, '=');
        if (!eq || eq == s)
                return false;
        for (const char *p = s; p < eq; p++)
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' ||
                      (p > s && *p >= '0' && *p <= '9')))
                        return false;
        return true;
}

enum {
        ARG_HOSTNAME = 0x100,
        ARG_CONSOLE,
        ARG_NETWORK,
        ARG_PRIVATE_NETWORK,
        ARG_NETWORK_VETH,
        ARG_NETWORK_BRIDGE,
        ARG_BIND,
        ARG_BIND_RO,
        ARG_TMPFS,
        ARG_TMPFS_SIZE,
        ARG_EPHEMERAL_SIZE,
        ARG_READ_ONLY,
        ARG_CAPABILITY,
        ARG_DROP_CAPABILITY,
        ARG_NO_NEW_PRIVILEGES,
        ARG_KILL_SIGNAL,
        ARG_TIMEOUT,
        ARG_REGISTER,
        ARG_KEEP_UNIT,
        ARG_SLICE,
        ARG_WAIT_READY,
        ARG_MEMORY_MAX,
        ARG_CPU_WEIGHT,
        ARG_CPU_QUOTA,
        ARG_PIDS_MAX,
        ARG_IO_WEIGHT,
        ARG_PORT,
        ARG_TTYS,
        ARG_PRIVATE_USERS,
        ARG_PRIVATE_USERS_OWNERSHIP,
        ARG_VOLATILE,
        ARG_OVERLAY,
        ARG_OVERLAY_RO,
        ARG_SETTINGS,
        ARG_CHDIR,
};

/* The limit options, in the order of LimitKey. */
static const int limit_options[_LIMIT_MAX] = {
        [LIMIT_MEMORY_MAX] = ARG_MEMORY_MAX, [LIMIT_CPU_WEIGHT] = ARG_CPU_WEIGHT,
        [LIMIT_CPU_QUOTA] = ARG_CPU_QUOTA,   [LIMIT_PIDS_MAX] = ARG_PIDS_MAX,
        [LIMIT_IO_WEIGHT] = ARG_IO_WEIGHT,
};

#define BAD(...) (log_error(__VA_ARGS__), -EINVAL)

/* What one option does with its argument: 0, 1 to stop (after --help), or -errno (after its message). */
typedef struct {
        Config *config;
        const char *directory; /* -D */
        const char *image;     /* -i */
        SettingsMode settings; /* --settings= */
        unsigned given;        /* SettingGroup: what the command line set */
} ParseState;
typedef int (*OptionHandler)(ParseState *st, int opt, const char *arg);

static int opt_help(ParseState *st, int opt, const char *arg) {
        launch_help(stdout, st->config->kind);
        return 1;
}

static int opt_directory(ParseState *st, int opt, const char *arg) {
        st->directory = arg;
        return 0;
}

static int opt_image(ParseState *st, int opt, const char *arg) {
        st->image = arg;
        return 0;
}

static int opt_machine(ParseState *st, int opt, const char *arg) {
        Config *c = st->config;
        if (!machine_name_is_valid(arg))
                return BAD("Invalid machine name '%s': use up to 64 characters of "
                           "[A-Za-z0-9._-], starting with a letter or digit.",
                           arg);
        free(c->machine);
        return (c->machine = strdup(arg)) ? 0 : -ENOMEM;
}

static int opt_hostname(ParseState *st, int opt, const char *arg) {
        Config *c = st->config;
        if (!hostname_is_valid(arg))
                return BAD("Invalid hostname '%s'.", arg);
        free(c->hostname);
        return (c->hostname = strdup(arg)) ? 0 : -ENOMEM;
}

/* The options that only switch something on. */
static int opt_flag(ParseState *st, int opt, const char *arg) {
        Config *c = st->config;
        switch (opt) {
        case 'd':
                c->detach = true;
                break;
        case ARG_READ_ONLY:
                c->read_only = true;
                break;
        case 'x':
                c->ephemeral = true;
                break;
        case ARG_WAIT_READY:
                c->wait_ready = true;
                break;
        case ARG_PRIVATE_NETWORK:
                c->network = NETWORK_NONE;
                break;
        case ARG_NETWORK_VETH:
                c->network = NETWORK_VETH;
                break;
        case 'U':
                c->userns.mode = USERNS_PICK;
                break;
        case 'q':
                log_set_max_level(LOG_WARNING);
                break;
        }
        return 0;
}

/* --register=, --keep-unit, --slice=: what systemd-nspawn means by them, on systemd hosts (elsewhere
 * accepted and without effect, so that scripts keep working). */
static int opt_systemd(ParseState *st, int opt, const char *arg) {
        Config *c = st->config;
        if (opt == ARG_KEEP_UNIT) {
                c->keep_unit = true;
                return 0;
        }
        if (opt == ARG_REGISTER) {
                int r = parse_boolean(arg);
                if (r < 0)
                        return BAD("Invalid --register= value '%s': use yes or no.", arg);
                c->register_mode = r ? REGISTER_YES : REGISTER_NO;
                return 0;
        }
        size_t l = strlen(arg);
        if (l < 7 || l > 255 || strcmp(arg + l - 6, ".slice") != 0 ||
            arg[strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:_.\\-")] ||
            arg[0] == '-')
                return BAD("Invalid --slice= '%s': use a slice unit name like machine.slice or "
                           "machine-test.slice.",
                           arg);
        free(c->slice);
        c->slice = strdup(arg);
        return c->slice ? 0 : -ENOMEM;
}

/* systemd-nspawn spellings that mean nothing here (-b with boot). */
static int opt_ignored(ParseState *st, int opt, const char *arg) {
        if (opt == 'b' && st->config->kind != LAUNCH_BOOT)
                return BAD("-b/--boot only makes sense with 'boot'; 'run' starts a command.");
        return 0;
}

static int opt_console(ParseState *st, int opt, const char *arg) {
        if (parse_console(arg, &st->config->console) < 0)
                return BAD("Invalid --console= mode '%s': use interactive, read-only, "
                           "passive or pipe.",
                           arg);
        return 0;
}

static int opt_network(ParseState *st, int opt, const char *arg) {
        if (parse_network(st->config, arg) < 0)
                return BAD("Invalid --network= '%s': use bridge[:NAME] (NAME: 1 to 15 characters, "
                           "no '/', ':' or spaces), veth, none or host.",
                           arg);
        return 0;
}

static int opt_network_bridge(ParseState *st, int opt, const char *arg) {
        Config *c = st->config;
        if (!ifname_is_valid(arg))
                return BAD("Invalid bridge name '%s': use 1 to 15 characters, no '/', ':' or spaces.", arg);
        c->network = NETWORK_BRIDGE;
        free(c->bridge);
        return (c->bridge = strdup(arg)) ? 0 : -ENOMEM;
}

static int opt_bind(ParseState *st, int opt, const char *arg) {
        int r = parse_bind(st->config, arg, opt == ARG_BIND_RO);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return BAD("Invalid bind mount '%s': use SRC[:DST[:ro|rw]] with absolute "
                           "paths and no '..' components ('\\:' for a colon in a path).",
                           arg);
        return 0;
}

static int opt_tmpfs(ParseState *st, int opt, const char *arg) {
        int r = parse_tmpfs(st->config, arg);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return BAD("Invalid --tmpfs= path '%s': use an absolute path without '..'.", arg);
        return 0;
}

static int opt_volatile(ParseState *st, int opt, const char *arg) {
        static const struct {
                const char *name;
                RootMode mode;
        } modes[] = {
                { "yes", ROOT_VOLATILE }, { "state", ROOT_STATE },   { "overlay", ROOT_OVERLAY },
                { "no", ROOT_TREE },      { "true", ROOT_VOLATILE }, { "false", ROOT_TREE },
        };
        for (size_t i = 0; i < ELEMENTSOF(modes); i++)
                if (strcmp(arg ?: "yes", modes[i].name) == 0) {
                        st->config->volatile_mode = modes[i].mode;
                        return 0;
                }
        return BAD("Invalid --volatile= '%s': use yes, state, overlay or no.", arg);
}

static int opt_overlay(ParseState *st, int opt, const char *arg) {
        bool ro = opt == ARG_OVERLAY_RO;
        int r = parse_overlay(st->config, arg, ro);
        if (r == -ENOMEM)
                return r;
        if (r == -EPROTONOSUPPORT)
                return BAD("Invalid --overlay%s= '%s': paths relative to the tree ('+' prefix) are not "
                           "supported; give absolute host paths.",
                           ro ? "-ro" : "", arg);
        if (r < 0)
                return BAD("Invalid --overlay%s= '%s': use %s with absolute paths and no '..' "
                           "components ('\\:' for a colon in a path).",
                           ro ? "-ro" : "", arg,
                           ro ? "LOWER:LOWER[:LOWER…]:DST" : "LOWER[:LOWER…]:UPPER:DST");
        return 0;
}

static int opt_ephemeral_size(ParseState *st, int opt, const char *arg) {
        Config *c = st->config;
        if (ephemeral_size_parse(arg, c->ephemeral_size, sizeof c->ephemeral_size) < 0)
                return BAD("Invalid --ephemeral-size= '%s': use a percentage of RAM from 1%% to 100%%, a "
                           "size of at least 1M (e.g. 10%% or 512M), or disk.",
                           arg);
        return 0;
}

static int opt_tmpfs_size(ParseState *st, int opt, const char *arg) {
        Config *c = st->config;
        if (tmpfs_size_parse(arg, c->tmpfs_size, sizeof c->tmpfs_size) < 0)
                return BAD("Invalid --tmpfs-size= '%s': use a percentage of RAM from 1%% to 100%% "
                           "or a size of at least 1M, e.g. 10%% or 512M.",
                           arg);
        return 0;
}

static int opt_setenv(ParseState *st, int opt, const char *arg) {
        if (!env_assignment_is_valid(arg))
                return BAD("Invalid environment assignment '%s': use VAR=VALUE.", arg);
        return strv_push(&st->config->setenv, arg) < 0 ? -ENOMEM : 0;
}

static int opt_capability(ParseState *st, int opt, const char *arg) {
        Config *c = st->config;
        uint64_t set;
        if (capability_parse_list(arg, &set) < 0)
                return BAD("Invalid capability list '%s': use names like CAP_NET_ADMIN "
                           "separated by commas, or 'all'.",
                           arg);
        /* The last word on a capability wins. */
        uint64_t *add = opt == ARG_CAPABILITY ? &c->caps_add : &c->caps_drop;
        uint64_t *del = opt == ARG_CAPABILITY ? &c->caps_drop : &c->caps_add;
        *add |= set;
        *del &= ~set;
        return 0;
}

static int opt_no_new_privileges(ParseState *st, int opt, const char *arg) {
        if (!arg) {
                st->config->no_new_privileges = true;
                return 0;
        }
        int r = parse_boolean(arg);
        if (r < 0)
                return BAD("Invalid --no-new-privileges= value '%s'.", arg);
        st->config->no_new_privileges = r;
        return 0;
}

static int opt_kill_signal(ParseState *st, int opt, const char *arg) {
        if (parse_signal(arg, &st->config->kill_signal) < 0)
                return BAD("Invalid --kill-signal= '%s': use a name like SIGRTMIN+3 or a number.", arg);
        return 0;
}

static int opt_timeout(ParseState *st, int opt, const char *arg) {
        if (parse_sec(arg, &st->config->timeout) < 0 || st->config->timeout == 0)
                return BAD("Invalid --timeout= '%s': use seconds, e.g. 30 or 500ms.", arg);
        return 0;
}

static int opt_port(ParseState *st, int opt, const char *arg) {
        Config *c = st->config;
        PortForward pf;
        if (port_forward_parse(arg, &pf) < 0)
                return BAD("Invalid --port= '%s': use [tcp|udp:]HOST[:GUEST] with ports from 1 to "
                           "65535.",
                           arg);
        for (size_t i = 0; i < c->n_ports; i++)
                if (c->ports[i].protocol == pf.protocol && c->ports[i].host_port == pf.host_port)
                        return BAD("Port %s/%u is given twice.", port_protocol_to_string(pf.protocol),
                                   pf.host_port);
        PortForward *n = realloc(c->ports, sizeof(PortForward) * (c->n_ports + 1));
        if (!n)
                return -ENOMEM;
        c->ports = n;
        c->ports[c->n_ports++] = pf;
        return 0;
}

static int opt_private_users(ParseState *st, int opt, const char *arg) {
        int r = userns_parse(arg, &st->config->userns);
        if (r == -ERANGE)
                return BAD("Invalid --private-users= '%s': the range must hold 65536 ids (the guest "
                           "uses ids up to 65534, nobody); use UID or UID:65536.",
                           arg);
        if (r < 0)
                return BAD("Invalid --private-users= '%s': use pick, no, UID or UID:65536 (UID not "
                           "0, UID+65536 at most 4294967295).",
                           arg);
        return 0;
}

static int opt_private_users_ownership(ParseState *st, int opt, const char *arg) {
        if (userns_ownership_parse(arg, &st->config->userns.ownership) < 0)
                return BAD("Invalid --private-users-ownership= '%s': use map or chown.", arg);
        return 0;
}

static int opt_ttys(ParseState *st, int opt, const char *arg) {
        uint64_t v;
        if (parse_uint64_range(arg, 0, 16, &v) < 0)
                return BAD("Invalid --ttys= '%s': use a number from 0 to 16.", arg);
        st->config->ttys = (unsigned) v;
        return 0;
}

static int opt_limit(ParseState *st, int opt, const char *arg) {
        LimitKey k = 0;
        while (limit_options[k] != opt)
                k++;
        uint64_t v;
        if (limit_parse_value(k, arg, &v) < 0) {
                char why[256];
                limit_explain_parse_error(k, arg, why, sizeof why);
                return BAD("Invalid --%s=%s: %s.", limit_info(k)->name, arg, why);
        }
        st->config->limits.set[k] = true;
        st->config->limits.value[k] = v;
        return 0;
}

static int opt_settings(ParseState *st, int opt, const char *arg) {
        if (settings_mode_parse(arg, &st->settings) < 0)
                return BAD("Invalid --settings= '%s': use yes, no, trusted or override.", arg);
        return 0;
}

static int opt_user(ParseState *st, int opt, const char *arg) {
        Config *c = st->config;
        /* Looked up in the guest's /etc/passwd at the start; here only what can never be a user. */
        if (!*arg || strlen(arg) >= 64 || strpbrk(arg, ":/\n"))
                return BAD("Invalid --user= '%s': give a user name or uid of the guest.", arg);
        free(c->user);
        return (c->user = strdup(arg)) ? 0 : -ENOMEM;
}

static int opt_chdir(ParseState *st, int opt, const char *arg) {
        Config *c = st->config;
        if (!path_is_absolute(arg))
                return BAD("Invalid --chdir= '%s': give an absolute path inside the guest.", arg);
        free(c->chdir);
        return (c->chdir = strdup(arg)) ? 0 : -ENOMEM;
}

/* The options of boot and run: getopt's long name (NULL for a short option alone), whether it
 * takes an argument, its letter or ARG_*, what it does, what of a settings file it shadows, and
 * what --help shows: the argument's name and a description. --help prints the rows in this order;
 * nspawnlite(1) lists the same options (tests/man/check.sh compares them). */
static const struct {
        const char *name;
        int has_arg;
        int val;
        OptionHandler handle;
        SettingGroup group;
        const char *arg;
        const char *help;
} launch_options[] = {
        { "help", no_argument, 'h', opt_help, .help = "Show this help" },
        { "directory", required_argument, 'D', opt_directory, .arg = "PATH",
          .help = "Root directory (instead of ROOTFS)" },
        { "image", required_argument, 'i', opt_image, .arg = "PATH",
          .help = "Disk image (instead of ROOTFS): a GPT with Discoverable Partitions types, an MBR with "
                  "one Linux partition, or a bare ext4, xfs, btrfs, squashfs or erofs filesystem" },
        { "machine", required_argument, 'M', opt_machine, .arg = "NAME",
          .help = "Machine name (default: the tree's directory name, or the image's file name without "
                  ".raw/.img); without ROOTFS and --image=: the image NAME of the store "
                  "(/var/lib/machines)" },
        { "detach", no_argument, 'd', opt_flag,
          .help = "Run in the background; console to the machine's log" },
        { "wait-ready", no_argument, ARG_WAIT_READY, opt_flag,
          .help = "With -d: return once the guest is ready (READY=1 or a login prompt), or fail after "
                  "--timeout" },
        { "hostname", required_argument, ARG_HOSTNAME, opt_hostname, SETTING_GROUP_HOSTNAME, "NAME",
          "Hostname of the guest (default: the machine name)" },
        { "console", required_argument, ARG_CONSOLE, opt_console, .arg = "MODE",
          .help = "interactive, read-only, passive or pipe" },
        { "network", required_argument, ARG_NETWORK, opt_network, SETTING_GROUP_NETWORK, "MODE",
          "bridge[:NAME] (default, on nspawnlite0 with NAT), veth (point-to-point), none (only lo) or "
          "host" },
        { "private-network", no_argument, ARG_PRIVATE_NETWORK, opt_flag, SETTING_GROUP_NETWORK,
          .help = "Same as --network=none" },
        { "network-veth", no_argument, ARG_NETWORK_VETH, opt_flag, SETTING_GROUP_NETWORK,
          .help = "Same as --network=veth" },
        { "network-bridge", required_argument, ARG_NETWORK_BRIDGE, opt_network_bridge, SETTING_GROUP_NETWORK,
          "NAME", "Same as --network=bridge:NAME" },
        { "port", required_argument, 'p', opt_port, SETTING_GROUP_PORTS, "[tcp|udp:]HOST[:GUEST]",
          "Forward a host port to the guest" },
        { "bind", required_argument, ARG_BIND, opt_bind, SETTING_GROUP_MOUNTS, "SRC[:DST[:ro]]",
          "Bind mount a host path into the guest ('\\:' for a colon in a path)" },
        { "bind-ro", required_argument, ARG_BIND_RO, opt_bind, SETTING_GROUP_MOUNTS, "SRC[:DST]",
          "Same, read-only" },
        { "tmpfs", required_argument, ARG_TMPFS, opt_tmpfs, SETTING_GROUP_MOUNTS, "DST",
          "Mount a tmpfs on DST inside the guest" },
        { "tmpfs-size", required_argument, ARG_TMPFS_SIZE, opt_tmpfs_size, .arg = "SIZE",
          .help = "Cap /tmp, /run, /dev/shm and --tmpfs mounts at SIZE each: N% of RAM or bytes (K, M, G "
                  "suffixes; default 10%)" },
        { "read-only", no_argument, ARG_READ_ONLY, opt_flag, SETTING_GROUP_READ_ONLY,
          .help = "Mount the root directory read-only" },
        { "ephemeral", no_argument, 'x', opt_flag, SETTING_GROUP_ROOT_MODE,
          .help = "Run on a throwaway overlay of the tree (upper layer on a tmpfs): nothing written "
                  "reaches the tree" },
        { "ephemeral-size", required_argument, ARG_EPHEMERAL_SIZE, opt_ephemeral_size, .arg = "SIZE|disk",
          .help = "The upper layer of --ephemeral/--volatile=overlay: a tmpfs of SIZE (N% of RAM or "
                  "bytes; default: --tmpfs-size's), or disk: a directory in the runtime dir, removed when "
                  "the machine ends (or by gc after a crash)" },
        { "volatile", optional_argument, ARG_VOLATILE, opt_volatile, SETTING_GROUP_ROOT_MODE, "MODE",
          "yes (default): a tmpfs root with the tree's /usr read-only; state: the tree read-only, a "
          "tmpfs on /var; overlay: as --ephemeral; no" },
        { "overlay", required_argument, ARG_OVERLAY, opt_overlay, SETTING_GROUP_MOUNTS,
          "LOWER[:LOWER…]:UPPER:DST",
          "Mount an overlay of host directories on DST (leftmost lowest); writes land in UPPER" },
        { "overlay-ro", required_argument, ARG_OVERLAY_RO, opt_overlay, SETTING_GROUP_MOUNTS,
          "LOWER:LOWER[:LOWER…]:DST", "Same, read-only" },
        { "setenv", required_argument, 'E', opt_setenv, SETTING_GROUP_ENV, "VAR=VALUE",
          "Set an environment variable for init (container= too)" },
        { "user", required_argument, 'u', opt_user, SETTING_GROUP_USER, "USER",
          "run: the command's user (from the guest's /etc/passwd)" },
        { "chdir", required_argument, ARG_CHDIR, opt_chdir, SETTING_GROUP_CHDIR, "DIR",
          "run: the command's working directory in the guest" },
        { "settings", required_argument, ARG_SETTINGS, opt_settings, .arg = "MODE",
          .help = "The machine's NAME.nspawn file: yes (default), no, trusted (trust one in the store "
                  "too) or override (it wins over the options)" },
        { "private-users", optional_argument, ARG_PRIVATE_USERS, opt_private_users, SETTING_GROUP_USERNS,
          "pick|UID[:COUNT]",
          "Run in a user namespace: root in the guest is an unprivileged uid range on the host (the "
          "security boundary)" },
        { NULL, no_argument, 'U', opt_flag, SETTING_GROUP_USERNS, .help = "Same as --private-users=pick" },
        { "private-users-ownership", required_argument, ARG_PRIVATE_USERS_OWNERSHIP,
          opt_private_users_ownership, SETTING_GROUP_USERNS, "map|chown",
          "Map the tree's owners with an idmapped mount (default), or shift them on disk once" },
        { "capability", required_argument, ARG_CAPABILITY, opt_capability, SETTING_GROUP_CAPS, "CAPS",
          "Add capabilities to the bounding set (comma-separated names, or all)" },
        { "drop-capability", required_argument, ARG_DROP_CAPABILITY, opt_capability, SETTING_GROUP_CAPS,
          "CAPS", "Remove capabilities from the bounding set" },
        { "no-new-privileges", optional_argument, ARG_NO_NEW_PRIVILEGES, opt_no_new_privileges,
          SETTING_GROUP_NNP, "BOOL", "Set PR_SET_NO_NEW_PRIVS for the guest" },
        { "ttys", required_argument, ARG_TTYS, opt_ttys, SETTING_GROUP_TTYS, "N",
          "Login ttys /dev/tty1..N for 'nspawnlite login' (default 4; 0 for run)" },
        { "kill-signal", required_argument, ARG_KILL_SIGNAL, opt_kill_signal, SETTING_GROUP_KILL_SIGNAL,
          "SIG", "Signal that asks init to power off (default: per init)" },
        { "timeout", required_argument, ARG_TIMEOUT, opt_timeout, .arg = "SEC",
          .help = "How long a poweroff may take before the machine is killed (default 30 s)" },
        { "memory-max", required_argument, ARG_MEMORY_MAX, opt_limit, .arg = "BYTES",
          .help = "Memory limit (K, M, G, T suffixes; infinity)" },
        { "cpu-weight", required_argument, ARG_CPU_WEIGHT, opt_limit, .arg = "N",
          .help = "CPU weight, 1-10000 (default 100)" },
        { "cpu-quota", required_argument, ARG_CPU_QUOTA, opt_limit, .arg = "N%",
          .help = "CPU time, as a percentage of one CPU" },
        { "pids-max", required_argument, ARG_PIDS_MAX, opt_limit, .arg = "N",
          .help = "Most tasks at once (at least 16; infinity)" },
        { "io-weight", required_argument, ARG_IO_WEIGHT, opt_limit, .arg = "N",
          .help = "IO weight, 1-10000" },
        { "register", required_argument, ARG_REGISTER, opt_systemd, .arg = "BOOL",
          .help = "Register with systemd-machined (systemd hosts; default: where it runs)" },
        { "keep-unit", no_argument, ARG_KEEP_UNIT, opt_systemd,
          .help = "Use the systemd unit nspawnlite runs in as the scope" },
        { "slice", required_argument, ARG_SLICE, opt_systemd, .arg = "NAME.slice",
          .help = "Slice of the machine's scope unit (default machine.slice)" },
        { "boot", no_argument, 'b', opt_ignored,
          .help = "Accepted for systemd-nspawn's -b: boot always starts the tree's init (refused by run)" },
        { "quiet", no_argument, 'q', opt_flag, .help = "Fewer messages" },
};
#define SHORT_OPTIONS "+hD:i:M:dbqE:p:Uxu:"

/* getopt's view of launch_options[]: the rows with a long name, and the closing zero row. */
static void long_options_fill(struct option ret[static ELEMENTSOF(launch_options) + 1]) {
        size_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(launch_options); i++)
                if (launch_options[i].name)
                        ret[n++] = (struct option){ launch_options[i].name, launch_options[i].has_arg, NULL,
                                                    launch_options[i].val };
        ret[n] = (struct option){};
}

static ssize_t option_find(int opt) {
        for (size_t i = 0; i < ELEMENTSOF(launch_options); i++)
                if (launch_options[i].val == opt)
                        return (ssize_t) i;
        return -1;
}

void launch_help(FILE *f, LaunchKind kind) {
        help_launch_header(f, kind == LAUNCH_RUN);
        for (size_t i = 0; i < ELEMENTSOF(launch_options); i++)
                help_option(f, launch_options[i].val < 0x100 ? (char) launch_options[i].val : 0,
                            launch_options[i].name, launch_options[i].has_arg, launch_options[i].arg,
                            launch_options[i].help);
        help_launch_footer(f, kind == LAUNCH_RUN);
}

int config_apply_option(Config *c, const char *name, const char *value) {
        ParseState st = { .config = c };
        for (size_t i = 0; i < ELEMENTSOF(launch_options); i++)
                if (launch_options[i].name && strcmp(launch_options[i].name, name) == 0)
                        return launch_options[i].handle(&st, launch_options[i].val, value);
        return -ENOENT;
}

void config_reset_group(Config *c, SettingGroup group) {
        switch (group) {
        case SETTING_GROUP_START:
                strv_free(TAKE_PTR(c->args));
                break;
        case SETTING_GROUP_ENV:
                strv_free(TAKE_PTR(c->setenv));
                break;
        case SETTING_GROUP_CAPS:
                c->caps_add = c->caps_drop = 0;
                break;
        case SETTING_GROUP_READ_ONLY:
                c->read_only = false;
                break;
        case SETTING_GROUP_ROOT_MODE:
                c->ephemeral = false;
                c->volatile_mode = ROOT_TREE;
                break;
        case SETTING_GROUP_MOUNTS: {
                /* config_done() frees these lists; keep the rest of c. */
                Config m = { .mounts = TAKE_PTR(c->mounts),
                             .n_mounts = c->n_mounts,
                             .overlays = TAKE_PTR(c->overlays),
                             .n_overlays = c->n_overlays };
                c->n_mounts = c->n_overlays = 0;
                config_done(&m);
                break;
        }
        case SETTING_GROUP_PORTS:
                free(TAKE_PTR(c->ports));
                c->n_ports = 0;
                break;
        default: /* a single value: the file's replaces it */
                break;
        }
}

/* The overlays' host directories exist, and each upper one gets its work directory beside it,
 * named after the machine (the name is locked while it runs). */
static int config_check_overlays(Config *c) {
        for (size_t i = 0; i < c->n_overlays; i++) {
                CustomOverlay *o = &c->overlays[i];
                for (size_t j = 0; j <= o->n_lower; j++) {
                        const char *p = j < o->n_lower ? o->lower[j] : o->upper;
                        struct stat st;
                        if (!p)
                                continue;
                        bool missing = stat(p, &st) < 0;
                        if (missing || !S_ISDIR(st.st_mode))
                                return BAD("Overlay directory %s %s: give existing directories.", p,
                                           missing ? "does not exist" : "is not a directory");
                }
                if (!o->upper)
                        continue;
                const char *slash = strrchr(o->upper, '/');
                if (asprintf(&o->work, "%.*s/.#nspawnlite-work-%s-%s", (int) (slash - o->upper), o->upper,
                             slash + 1, c->machine) < 0) {
                        o->work = NULL;
                        return -ENOMEM;
                }
        }
        return 0;
}

/* What the options say only together. */
static int config_check(Config *c) {
        if (c->ephemeral && c->volatile_mode != ROOT_TREE && c->volatile_mode != ROOT_OVERLAY)
                return BAD("--ephemeral and --volatile=%s exclude each other; give one of them.",
                           c->volatile_mode == ROOT_STATE ? "state" : "yes");
        if (c->ephemeral_size[0] && !c->ephemeral && c->volatile_mode != ROOT_OVERLAY)
                return BAD("--ephemeral-size= sizes the upper layer of --ephemeral or --volatile=overlay: "
                           "give one of them too.");
        int r = config_check_overlays(c);
        if (r < 0)
                return r;
        if (c->n_ports > 0 && (c->network == NETWORK_HOST || c->network == NETWORK_NONE))
                return BAD("--port needs a network of the machine's own with an address (bridge or veth), "
                           "not --network=%s.",
                           c->network == NETWORK_HOST ? "host" : "none");
        if (c->userns.mode != USERNS_OFF && c->network == NETWORK_HOST)
                return BAD("-U/--private-users cannot share the host's network (--network=host): a user "
                           "namespace cannot mount /sys for it.");
        if (c->image && c->userns.mode != USERNS_OFF && c->userns.ownership == USERNS_OWNERSHIP_CHOWN)
                return BAD("--private-users-ownership=chown would rewrite the owners of every file in image "
                           "%s: use the default, map (an idmapped mount), with --image=.",
                           c->image);
        if (c->kind == LAUNCH_BOOT && (c->user || c->chdir))
                return BAD("--user=/User= and --chdir=/WorkingDirectory= apply to 'run' only: 'boot' starts "
                           "the tree's init as root in /.");
        /* In the foreground it is for a Type=notify service: READY=1 to systemd when the guest is. */
        if (c->wait_ready && !c->detach && !getenv("NOTIFY_SOCKET"))
                return BAD("--wait-ready only makes sense with -d/--detach, or under a Type=notify service.");
        if (c->detach && c->console != CONSOLE_AUTO && c->console != CONSOLE_READ_ONLY)
                return BAD("A detached machine's console goes to its log: --console= does not apply "
                           "with -d.");

        for (size_t i = 0; i < c->n_mounts; i++) {
                struct stat st;
                if (c->mounts[i].tmpfs)
                        continue;
                if (stat(c->mounts[i].source, &st) < 0)
                        return BAD("Bind mount source %s does not exist: %s.", c->mounts[i].source,
                                   strerror(errno));
        }
        return 0;
}

int config_parse(Config *c, LaunchKind kind, int argc, char **argv) {
        ParseState st = { .config = c };
        struct option long_options[ELEMENTSOF(launch_options) + 1];
        int r;

        *c = (Config){
                .kind = kind,
                .console = CONSOLE_AUTO,
                .network = NETWORK_BRIDGE,
                .timeout = 30 * USEC_PER_SEC,
                .ttys = kind == LAUNCH_BOOT ? 4 : 0,
        };

        long_options_fill(long_options);
        optind = 0; /* full reinitialisation of getopt */
        opterr = 0;
        for (int opt; (opt = getopt_long(argc, argv, SHORT_OPTIONS, long_options, NULL)) >= 0;) {
                ssize_t row = option_find(opt);
                if (row < 0) {
                        if (optopt && optopt < 0x100)
                                return BAD("Unknown option '-%c'. See 'nspawnlite %s --help'.", optopt,
                                           argv[0]);
                        return BAD("Unknown option or missing argument '%s'. See 'nspawnlite %s --help'.",
                                   argv[optind - 1], argv[0]);
                }
                r = launch_options[row].handle(&st, opt, optarg);
                if (r != 0)
                        return r;
                st.given |= launch_options[row].group;
        }

        const char *directory = st.directory;
        if (st.image && directory)
                return BAD("Give either a root directory or --image=, not both.");
        bool from_store = !directory && !st.image && store_image_wanted(c, argc - optind, argv + optind);
        if (!directory && !st.image && !from_store) {
                if (optind >= argc)
                        return BAD("No root directory given. Usage: nspawnlite %s [OPTIONS] ROOTFS|-M NAME%s",
                                   argv[0], kind == LAUNCH_RUN ? " [--] CMD…" : "");
                directory = argv[optind++];
        }
        if (optind < argc && strcmp(argv[optind], "--") == 0)
                optind++;
        for (int i = optind; i < argc; i++)
                if (strv_push(&c->args, argv[i]) < 0)
                        return -ENOMEM;
        if (c->args)
                st.given |= SETTING_GROUP_START;

        r = from_store ? config_set_store_image(c)
            : st.image ? config_set_image(c, st.image)
                       : config_set_rootfs(c, directory);
        if (r < 0)
                return r;
        c->lock_root = !c->image && rootfs_in_store(c->rootfs);
        if (!c->machine && default_machine_name(c->rootfs, c->image, &c->machine) < 0)
                return BAD("Cannot derive a machine name from '%s'; give one with -M NAME.", c->rootfs);
        /* The machine's .nspawn file fills what the command line left (Boot= may turn a run without
         * a command into a boot). */
        r = settings_load(c, st.settings, st.given);
        if (r < 0)
                return r;
        if (c->kind == LAUNCH_RUN && strv_length(c->args) == 0)
                return BAD("No command given. Usage: nspawnlite run [OPTIONS] ROOTFS [--] CMD…");
        if (!c->hostname && !(c->hostname = strdup(c->machine)))
                return -ENOMEM;
        return config_check(c);
}
