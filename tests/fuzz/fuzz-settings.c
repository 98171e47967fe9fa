/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* .nspawn files: the ini parser, then the mapping of the keys onto a Config through the options'
 * own parsers.
 *
 * Input: byte 0 chooses trusted (bit 0) and the --settings= mode (bits 1-2: yes, no, trusted,
 * override), byte 1 the groups the command line is said to have set; the rest is the file. */
#include "nspawnlite/basic/ini.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/name.h"
#include "nspawnlite/basic/path-util.h"
#include "nspawnlite/basic/strv.h"
#include "nspawnlite/cli/options.h"
#include "nspawnlite/cli/settings.h"
#include "tests/fuzz/fuzz.h"

typedef struct {
        unsigned last_line, lines;
} IniCheck;

static int check_assignment(const char *section, const char *key, const char *value, unsigned line,
                            void *userdata) {
        IniCheck *c = userdata;
        FUZZ_CHECK(section && key && value);
        FUZZ_CHECK(*key && !strchr(key, '='));
        FUZZ_CHECK(!strchr(" \t\r\n", key[0]) && !strchr(" \t\r\n", key[strlen(key) - 1]));
        FUZZ_CHECK(!*value || (!strchr(" \t\r\n", value[0]) && !strchr(" \t\r\n", value[strlen(value) - 1])));
        FUZZ_CHECK(!strchr(section, '[') && !strchr(section, ']'));
        FUZZ_CHECK(line > c->last_line && line <= c->lines);
        c->last_line = line;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 2)
                return 0;
        bool trusted = data[0] & 1;
        SettingsMode mode = (SettingsMode) ((data[0] >> 1) & 3);
        unsigned given = data[1] | (data[0] & 0xf8) << 5;
        const char *text = (const char *) data + 2;
        size_t n = size - 2;

        log_set_max_level(LOG_CRIT); /* every warning and rejection prints a line */

        IniCheck ic = { .lines = 1 };
        for (size_t i = 0; i < n; i++)
                ic.lines += text[i] == '\n';
        unsigned line = 0;
        int r = ini_parse(text, n, check_assignment, &ic, &line);
        FUZZ_CHECK(r == 0 || (r == -EBADMSG && line >= 1 && line <= ic.lines));

        Settings *s = NULL;
        r = settings_parse(text, n, "fuzz.nspawn", trusted, &s);
        FUZZ_CHECK(r == 0 || r == -EBADMSG);
        if (r < 0)
                return 0;

        Config c = { .kind = LAUNCH_RUN, .network = NETWORK_BRIDGE, .machine = strdup("fuzz") };
        FUZZ_CHECK(c.machine);
        r = settings_apply(s, &c, mode, given);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE || r == -EPROTONOSUPPORT);
        if (r == 0) {
                FUZZ_CHECK(c.kind == LAUNCH_RUN || c.kind == LAUNCH_BOOT);
                FUZZ_CHECK(!c.hostname || hostname_is_valid(c.hostname));
                FUZZ_CHECK(c.ttys <= 16);
                for (size_t i = 0; i < c.n_mounts; i++)
                        FUZZ_CHECK(path_is_safe_absolute(c.mounts[i].dest));
                for (char **e = c.setenv; e && *e; e++)
                        FUZZ_CHECK(strchr(*e, '=') && *e[0] != '=');
                for (size_t i = 0; i < c.n_ports; i++)
                        FUZZ_CHECK(c.ports[i].host_port > 0 && c.ports[i].guest_port > 0);
                FUZZ_CHECK(!c.chdir || path_is_absolute(c.chdir));
                /* An untrusted file never reaches out of the container. */
                if (!trusted && mode != SETTINGS_TRUSTED) {
                        FUZZ_CHECK(c.n_mounts == 0 && c.n_overlays == 0 && c.n_ports == 0);
                        FUZZ_CHECK(c.caps_add == 0 && c.network == NETWORK_BRIDGE &&
                                   c.userns.mode == USERNS_OFF);
                }
                /* The command line's groups stay as they were, unless the file overrides them. */
                if (mode != SETTINGS_OVERRIDE && (given & SETTING_GROUP_HOSTNAME))
                        FUZZ_CHECK(!c.hostname);
        }
        config_done(&c);
        settings_free(s);

        char **words = NULL;
        char *str = fuzz_string((const uint8_t *) text, n);
        r = settings_split_words(str, &words);
        FUZZ_CHECK(r == 0 || r == -EINVAL);
        for (char **w = words; w && *w; w++)
                FUZZ_CHECK(strlen(*w) <= strlen(str));
        strv_free(words);
        free(str);
        return 0;
}
