/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "nspawnlite/cli/options.h"

/* .nspawn settings files (systemd.nspawn(5)): NAME.nspawn of the machine's name, looked for in the
 * trusted places (/etc/systemd/nspawn, /run/systemd/nspawn; NSPAWNLITE_SETTINGS_PATH=DIR:DIR… stands
 * for them) and, only when none has it, beside the images of the store (NSPAWNLITE_MACHINES_DIR,
 * default /var/lib/machines), where privileged settings (mounts, network, ports, added capabilities,
 * user namespace) are ignored unless --settings=trusted. */

typedef enum {
        SETTINGS_YES,      /* read; the command line wins; a file in the store is trusted only in part */
        SETTINGS_NO,       /* no file is read */
        SETTINGS_TRUSTED,  /* as yes, but every file is trusted in full */
        SETTINGS_OVERRIDE, /* as yes, but the file wins over the command line */
} SettingsMode;

int settings_mode_parse(const char *s, SettingsMode *ret);

/* The file for machine name: its path and whether it lies in a trusted place. 0 and *ret_path NULL
 * when there is none. */
int settings_find(const char *name, char **ret_path, bool *ret_trusted);

typedef struct Settings Settings;

/* Parse a file's text (path names it in messages): one warning line per unknown section or key,
 * one error line and -EINVAL for a syntax error. */
int settings_parse(const char *text, size_t size, const char *path, bool trusted, Settings **ret);
Settings *settings_free(Settings *s);
static inline void settings_freep(Settings **s) {
        if (*s)
                settings_free(*s);
}
/* Whether a key ("Bind", "Hostname") counts as privileged (ignored from an untrusted file). -ENOENT
 * for an unknown key. */
int settings_key_is_privileged(const char *section, const char *key);

/* Fill c from s: keys whose group is in given (set by the command line) are skipped unless mode is
 * SETTINGS_OVERRIDE; privileged keys of an untrusted file unless mode is SETTINGS_TRUSTED (a
 * warning each). One error line and -EINVAL on a malformed value. */
int settings_apply(const Settings *s, Config *c, SettingsMode mode, unsigned given);

/* All of it for config_parse(): find, read, parse and apply machine c->machine's file. */
int settings_load(Config *c, SettingsMode mode, unsigned given);

/* Split a value into words: white space separates, "…" and '…' quote, backslash escapes the next
 * character. -EINVAL for an unbalanced quote or a trailing backslash. */
int settings_split_words(const char *s, char ***ret);
