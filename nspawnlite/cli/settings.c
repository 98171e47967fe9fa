/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* .nspawn settings files: where they are, whom to trust, and which option each key feeds. */
#include "nspawnlite/cli/settings.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "machines/images/store.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/ini.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/parse-util.h"
#include "nspawnlite/basic/strv.h"

#define SETTINGS_FILE_MAX (1024 * 1024)

typedef enum {
        KIND_VALUE, /* the value is the option's argument */
        KIND_WORDS, /* each word of the value is an argument of its own */
        KIND_FLAG,  /* a boolean: yes gives the option (it takes no argument), no leaves the default */
        KIND_PRIVATE_USERS, /* a boolean (yes: pick) or the option's argument */
        KIND_OWNERSHIP,     /* auto is map, our default */
        KIND_BOOT,          /* run without a command boots instead */
        KIND_PARAMETERS,    /* the command of run, init's arguments for boot */
} SettingKind;

/* Each key of systemd.nspawn(5) that nspawnlite honours, applied in this order (so that, as in
 * systemd-nspawn, VirtualEthernet= and Bridge= win over Private=). "privileged": what
 * systemd-nspawn ignores from an untrusted file, since it reaches out of the container (host paths,
 * the host's network, ports, added capabilities, the user namespace's mapping). */
static const struct {
        const char *section, *key;
        const char *option; /* the long option whose parser takes the value */
        SettingKind kind;
        SettingGroup group;
        bool list; /* repeated assignments accumulate and an empty one resets; else the last wins */
        bool privileged;
} setting_keys[] = {
        { "Exec", "Boot", NULL, KIND_BOOT, SETTING_GROUP_START, false, false },
        { "Exec", "Parameters", NULL, KIND_PARAMETERS, SETTING_GROUP_START, true, false },
        { "Exec", "Environment", "setenv", KIND_WORDS, SETTING_GROUP_ENV, true, false },
        { "Exec", "User", "user", KIND_VALUE, SETTING_GROUP_USER, false, false },
        { "Exec", "WorkingDirectory", "chdir", KIND_VALUE, SETTING_GROUP_CHDIR, false, false },
        { "Exec", "Capability", "capability", KIND_WORDS, SETTING_GROUP_CAPS, true, true },
        { "Exec", "DropCapability", "drop-capability", KIND_WORDS, SETTING_GROUP_CAPS, true, false },
        { "Exec", "NoNewPrivileges", "no-new-privileges", KIND_VALUE, SETTING_GROUP_NNP, false, false },
        { "Exec", "KillSignal", "kill-signal", KIND_VALUE, SETTING_GROUP_KILL_SIGNAL, false, false },
        { "Exec", "Hostname", "hostname", KIND_VALUE, SETTING_GROUP_HOSTNAME, false, false },
        { "Exec", "PrivateUsers", "private-users", KIND_PRIVATE_USERS, SETTING_GROUP_USERNS, false, true },
        { "Exec", "Ephemeral", "ephemeral", KIND_FLAG, SETTING_GROUP_ROOT_MODE, false, false },
        { "Files", "ReadOnly", "read-only", KIND_FLAG, SETTING_GROUP_READ_ONLY, false, false },
        { "Files", "Volatile", "volatile", KIND_VALUE, SETTING_GROUP_ROOT_MODE, false, false },
        { "Files", "Bind", "bind", KIND_VALUE, SETTING_GROUP_MOUNTS, true, true },
        { "Files", "BindReadOnly", "bind-ro", KIND_VALUE, SETTING_GROUP_MOUNTS, true, true },
        { "Files", "TemporaryFileSystem", "tmpfs", KIND_VALUE, SETTING_GROUP_MOUNTS, true, true },
        { "Files", "Overlay", "overlay", KIND_VALUE, SETTING_GROUP_MOUNTS, true, true },
        { "Files", "OverlayReadOnly", "overlay-ro", KIND_VALUE, SETTING_GROUP_MOUNTS, true, true },
        { "Files", "PrivateUsersOwnership", "private-users-ownership", KIND_OWNERSHIP, SETTING_GROUP_USERNS,
          false, true },
        { "Network", "Private", "private-network", KIND_FLAG, SETTING_GROUP_NETWORK, false, true },
        { "Network", "VirtualEthernet", "network-veth", KIND_FLAG, SETTING_GROUP_NETWORK, false, true },
        { "Network", "Bridge", "network-bridge", KIND_VALUE, SETTING_GROUP_NETWORK, false, true },
        { "Network", "Port", "port", KIND_VALUE, SETTING_GROUP_PORTS, true, true },
};
#define N_SETTING_KEYS ELEMENTSOF(setting_keys)

struct Settings {
        char *path;
        bool trusted;
        struct {
                bool present;
                char **values;
                unsigned *lines;
                size_t n;
        } e[N_SETTING_KEYS];
};

int settings_mode_parse(const char *s, SettingsMode *ret) {
        static const char *const names[] = {
                [SETTINGS_YES] = "yes",
                [SETTINGS_NO] = "no",
                [SETTINGS_TRUSTED] = "trusted",
                [SETTINGS_OVERRIDE] = "override",
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(s, names[i]) == 0) {
                        *ret = (SettingsMode) i;
                        return 0;
                }
        int b = parse_boolean(s);
        if (b < 0)
                return -EINVAL;
        *ret = b ? SETTINGS_YES : SETTINGS_NO;
        return 0;
}

static int settings_file_in(const char *dir, const char *name, char **ret) {
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/%s.nspawn", dir, name) < 0)
                return -ENOMEM;
        if (access(p, F_OK) < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        *ret = TAKE_PTR(p);
        return 1;
}

int settings_find(const char *name, char **ret_path, bool *ret_trusted) {
        const char *search = getenv("NSPAWNLITE_SETTINGS_PATH") ?: "/etc/systemd/nspawn:/run/systemd/nspawn";
        char *p = NULL;
        int r;

        /* The first trusted place that has it; only then the store. */
        for (const char *d = search; *d;) {
                size_t n = strcspn(d, ":");
                _cleanup_free_ char *dir = strndup(d, n);
                if (!dir)
                        return -ENOMEM;
                d += n + (d[n] == ':');
                if (!*dir)
                        continue;
                r = settings_file_in(dir, name, &p);
                if (r != 0) {
                        if (r > 0) {
                                *ret_path = p;
                                *ret_trusted = true;
                        }
                        return r < 0 ? r : 0;
                }
        }
        r = settings_file_in(store_dir(), name, &p);
        if (r < 0)
                return r;
        *ret_path = p; /* NULL when there is none */
        *ret_trusted = false;
        return 0;
}

static ssize_t setting_key_find(const char *section, const char *key) {
        for (size_t i = 0; i < N_SETTING_KEYS; i++)
                if (strcmp(setting_keys[i].section, section) == 0 && strcmp(setting_keys[i].key, key) == 0)
                        return (ssize_t) i;
        return -1;
}

int settings_key_is_privileged(const char *section, const char *key) {
        ssize_t i = setting_key_find(section, key);
        return i < 0 ? -ENOENT : setting_keys[i].privileged;
}

static bool section_is_known(const char *section) {
        for (size_t i = 0; i < N_SETTING_KEYS; i++)
                if (strcmp(setting_keys[i].section, section) == 0)
                        return true;
        return false;
}

Settings *settings_free(Settings *s) {
        for (size_t i = 0; i < N_SETTING_KEYS; i++) {
                strv_free(s->e[i].values);
                free(s->e[i].lines);
        }
        free(s->path);
        free(s);
        return NULL;
}

typedef struct {
        Settings *s;
        char *warned_section; /* one warning per unknown section */
} ParseContext;

static int on_assignment(const char *section, const char *key, const char *value, unsigned line,
                         void *userdata) {
        ParseContext *p = userdata;
        Settings *s = p->s;
        ssize_t i = setting_key_find(section, key);

        if (i < 0) {
                if (section_is_known(section))
                        log_warning("%s:%u: Unknown key %s= in section [%s], ignoring it.", s->path, line,
                                    key, section);
                else if (!p->warned_section || strcmp(p->warned_section, section) != 0) {
                        if (*section)
                                log_warning("%s:%u: Unknown section [%s], ignoring it.", s->path, line,
                                            section);
                        else
                                log_warning("%s:%u: Assignment outside of a section, ignoring it.", s->path,
                                            line);
                        free(p->warned_section);
                        if (!(p->warned_section = strdup(section)))
                                return -ENOMEM;
                }
                return 0;
        }

        /* An empty assignment resets: a list to empty, a single value to the default. */
        if (!setting_keys[i].list || !*value) {
                strv_free(TAKE_PTR(s->e[i].values));
                free(TAKE_PTR(s->e[i].lines));
                s->e[i].n = 0;
        }
        s->e[i].present = *value || setting_keys[i].list;
        if (!*value)
                return 0;
        unsigned *nl = realloc(s->e[i].lines, sizeof(unsigned) * (s->e[i].n + 1));
        if (!nl)
                return -ENOMEM;
        s->e[i].lines = nl;
        if (strv_push(&s->e[i].values, value) < 0)
                return -ENOMEM;
        s->e[i].lines[s->e[i].n++] = line;
        return 0;
}

int settings_parse(const char *text, size_t size, const char *path, bool trusted, Settings **ret) {
        _cleanup_(settings_freep) Settings *s = calloc(1, sizeof(Settings));
        if (!s || !(s->path = strdup(path)))
                return -ENOMEM;
        s->trusted = trusted;

        ParseContext p = { .s = s };
        unsigned line = 0;
        int r = ini_parse(text, size, on_assignment, &p, &line);
        free(p.warned_section);
        if (r == -EBADMSG)
                return log_error_errno(r,
                                       "%s:%u: Not a section header, KEY=VALUE assignment or comment; fix or "
                                       "remove the line (settings files use systemd's ini format).",
                                       path, line);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int settings_split_words(const char *s, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *w = malloc(strlen(s) + 1);
        if (!w)
                return -ENOMEM;

        for (const char *p = s;;) {
                p += strspn(p, " \t\r\n");
                if (!*p)
                        break;
                size_t n = 0;
                char quote = 0;
                for (; *p && (quote || !strchr(" \t\r\n", *p)); p++) {
                        if (*p == '\\') {
                                if (!*++p)
                                        return -EINVAL;
                                w[n++] = *p;
                        } else if (quote && *p == quote)
                                quote = 0;
                        else if (!quote && (*p == '"' || *p == '\''))
                                quote = *p;
                        else
                                w[n++] = *p;
                }
                if (quote)
                        return -EINVAL;
                w[n] = 0;
                if (strv_push(&l, w) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* One value of key i from line: through the option's own parser, so a key and its option accept
 * the same values and say the same about a bad one. */
static int setting_apply_one(size_t i, const char *value, Config *c, unsigned given) {
        const char *option = setting_keys[i].option, *key = setting_keys[i].key;
        int b;

        switch (setting_keys[i].kind) {
        case KIND_VALUE:
                return config_apply_option(c, option, value);
        case KIND_WORDS:
        case KIND_PARAMETERS: {
                _cleanup_strv_free_ char **words = NULL;
                int r = settings_split_words(value, &words);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return log_error_errno(
                                r, "Invalid %s= '%s': a quote is not closed or a backslash ends it.", key,
                                value);
                for (char **w = words; w && *w; w++) {
                        r = setting_keys[i].kind == KIND_PARAMETERS ? strv_push(&c->args, *w)
                                                                    : config_apply_option(c, option, *w);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        case KIND_FLAG:
        case KIND_BOOT:
                b = parse_boolean(value);
                if (b < 0)
                        return log_error_errno(b, "Invalid %s= '%s': use yes or no.", key, value);
                if (setting_keys[i].kind == KIND_FLAG)
                        return b ? config_apply_option(c, option, NULL) : 0;
                /* The verb says what to start; only run without a command leaves it to the file, as
                 * systemd-nspawn without -b and without a command does. */
                if (b && c->kind == LAUNCH_RUN && strv_length(c->args) == 0) {
                        c->kind = LAUNCH_BOOT;
                        if (!(given & SETTING_GROUP_TTYS))
                                c->ttys = 4;
                }
                return 0;
        case KIND_PRIVATE_USERS:
                b = parse_boolean(value);
                return config_apply_option(c, option, b < 0 ? value : b ? "pick" : "no");
        case KIND_OWNERSHIP:
                return config_apply_option(c, option, strcmp(value, "auto") == 0 ? "map" : value);
        }
        return -EINVAL;
}

/* Every value of key i into c. */
static int setting_apply_key(const Settings *s, size_t i, Config *c, unsigned given) {
        for (size_t j = 0; j < s->e[i].n; j++) {
                char prefix[PATH_MAX + 32];
                snprintf(prefix, sizeof prefix, "%s:%u: ", s->path, s->e[i].lines[j]);
                /* The option parsers' error lines then name the file and line. */
                log_set_prefix(prefix);
                int r = setting_apply_one(i, s->e[i].values[j], c, given);
                log_set_prefix(NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

int settings_apply(const Settings *s, Config *c, SettingsMode mode, unsigned given) {
        unsigned reset = 0;
        int r;

        for (size_t i = 0; i < N_SETTING_KEYS; i++) {
                const char *key = setting_keys[i].key;
                SettingGroup g = setting_keys[i].group;
                bool shadowed = (given & g) && mode != SETTINGS_OVERRIDE;
                bool untrusted = setting_keys[i].privileged && !s->trusted && mode != SETTINGS_TRUSTED;
                if (!s->e[i].present)
                        continue;
                if (shadowed || untrusted) {
                        /* Not used, but a bad value is an error all the same, as it is in
                         * systemd-nspawn, which parses the whole file: check it on a scratch Config. */
                        Config scratch = { .kind = c->kind, .network = NETWORK_BRIDGE };
                        r = setting_apply_key(s, i, &scratch, given);
                        config_done(&scratch);
                        if (r < 0)
                                return r;
                        if (shadowed)
                                log_debug("%s: %s= is given on the command line, which wins.", s->path, key);
                        else
                                log_warning(
                                        "%s: Ignoring %s=: a settings file beside the image is not trusted "
                                        "with it; move the file to /etc/systemd/nspawn/ or use "
                                        "--settings=trusted.",
                                        s->path, key);
                        continue;
                }
                if ((given & g) && !(reset & g)) {
                        config_reset_group(c, g);
                        reset |= g;
                }
                r = setting_apply_key(s, i, c, given);
                if (r < 0)
                        return r;
        }
        return 0;
}

int settings_load(Config *c, SettingsMode mode, unsigned given) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_(settings_freep) Settings *s = NULL;
        bool trusted;
        int r;

        if (mode == SETTINGS_NO)
                return 0;
        r = settings_find(c->machine, &path, &trusted);
        if (r < 0)
                return log_error_errno(r, "Failed to look for the settings file of machine %s: %m",
                                       c->machine);
        if (!path)
                return 0;
        r = read_file_at(AT_FDCWD, path, SETTINGS_FILE_MAX, &text);
        if (r == -EBADMSG)
                return log_error_errno(
                        r, "Settings file %s is not a regular file; remove it or use --settings=no.", path);
        if (r < 0)
                return log_error_errno(r, "Failed to read settings file %s: %m", path);
        if (r >= SETTINGS_FILE_MAX)
                return log_error_errno(EFBIG, "Settings file %s is larger than 1 MiB; is it a settings file?",
                                       path);
        log_debug("Settings of machine %s: %s (%s).", c->machine, path, trusted ? "trusted" : "not trusted");
        r = settings_parse(text, (size_t) r, path, trusted, &s);
        if (r < 0)
                return r;
        return settings_apply(s, c, mode, given);
}
