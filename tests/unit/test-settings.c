/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* .nspawn files: the ini parser, the search places and trust model, and how a file fills a Config
 * (the command line wins, list keys accumulate, --settings= modes). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machines/images/store.h"
#include "nspawnlite/basic/ini.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/strv.h"
#include "nspawnlite/cli/options.h"
#include "nspawnlite/cli/settings.h"
#include "tests/unit/unit.h"

/* What ini_parse saw, one "line:[section]key=value" per assignment, joined by '|'. */
static int collect(const char *section, const char *key, const char *value, unsigned line, void *userdata) {
        char *acc = userdata;
        size_t n = strlen(acc);
        snprintf(acc + n, 1024 - n, "%s%u:[%s]%s=%s", n ? "|" : "", line, section, key, value);
        return 0;
}

static int ini(const char *text, char acc[static 1024], unsigned *line) {
        acc[0] = 0;
        return ini_parse(text, strlen(text), collect, acc, line);
}

START_TEST(ini_format) {
        char acc[1024];
        unsigned line = 0;
        ck_assert_int_eq(ini("# c\n; c\n\n[Exec]\n  Boot = yes  \nParameters=a \\\n  b\\\n# skipped\n c\n"
                             "[Files]\nBind=\nX=a=b",
                             acc, &line),
                         0);
        ck_assert_str_eq(acc, "5:[Exec]Boot=yes|6:[Exec]Parameters=a  b c|11:[Files]Bind=|12:[Files]X=a=b");
        /* Before any section: the caller decides (settings warn). */
        ck_assert_int_eq(ini("K=v\r\n", acc, &line), 0);
        ck_assert_str_eq(acc, "1:[]K=v");
        /* A continuation at the end of the file ends there. */
        ck_assert_int_eq(ini("[A]\nK=v\\", acc, &line), 0);
        ck_assert_str_eq(acc, "2:[A]K=v");
}
END_TEST

START_TEST(ini_errors) {
        char acc[1024];
        unsigned line = 0;
        ck_assert_int_eq(ini("[Exec]\nBoot=yes\nno equals sign\n", acc, &line), -EBADMSG);
        ck_assert_uint_eq(line, 3);
        ck_assert_int_eq(ini("[Exec\n", acc, &line), -EBADMSG);
        ck_assert_uint_eq(line, 1);
        ck_assert_int_eq(ini("[]\n", acc, &line), -EBADMSG);
        ck_assert_int_eq(ini("[A]]\n", acc, &line), -EBADMSG);
        ck_assert_int_eq(ini("[A]\n =v\n", acc, &line), -EBADMSG);
        ck_assert_uint_eq(line, 2);
        ck_assert_int_eq(ini_parse("[A]\nK=v\0w\n", 10, collect, acc, &line), -EBADMSG);
        ck_assert_uint_eq(line, 2);
}
END_TEST

START_TEST(split_words) {
        char **w = NULL;
        ck_assert_int_eq(settings_split_words("  a \"b c\" 'd \"e' f\\ g h\\\"", &w), 0);
        ck_assert_int_eq(strv_length(w), 5);
        ck_assert_str_eq(w[0], "a");
        ck_assert_str_eq(w[1], "b c");
        ck_assert_str_eq(w[2], "d \"e");
        ck_assert_str_eq(w[3], "f g");
        ck_assert_str_eq(w[4], "h\"");
        strv_free(w);
        w = NULL;
        ck_assert_int_eq(settings_split_words("", &w), 0);
        ck_assert_ptr_null(w);
        ck_assert_int_eq(settings_split_words("a \"b", &w), -EINVAL);
        ck_assert_int_eq(settings_split_words("a\\", &w), -EINVAL);
}
END_TEST

START_TEST(privileged_keys) {
        /* What reaches out of the container: systemd-nspawn ignores it from an untrusted file. */
        const char *privileged[][2] = { { "Exec", "Capability" },
                                        { "Exec", "PrivateUsers" },
                                        { "Files", "Bind" },
                                        { "Files", "BindReadOnly" },
                                        { "Files", "TemporaryFileSystem" },
                                        { "Files", "Overlay" },
                                        { "Files", "OverlayReadOnly" },
                                        { "Files", "PrivateUsersOwnership" },
                                        { "Network", "Private" },
                                        { "Network", "VirtualEthernet" },
                                        { "Network", "Bridge" },
                                        { "Network", "Port" } };
        const char *plain[][2] = { { "Exec", "Boot" },
                                   { "Exec", "Parameters" },
                                   { "Exec", "Environment" },
                                   { "Exec", "User" },
                                   { "Exec", "WorkingDirectory" },
                                   { "Exec", "DropCapability" },
                                   { "Exec", "NoNewPrivileges" },
                                   { "Exec", "KillSignal" },
                                   { "Exec", "Hostname" },
                                   { "Files", "ReadOnly" },
                                   { "Files", "Volatile" } };
        for (size_t i = 0; i < ELEMENTSOF(privileged); i++)
                ck_assert_msg(settings_key_is_privileged(privileged[i][0], privileged[i][1]) == 1, "%s",
                              privileged[i][1]);
        for (size_t i = 0; i < ELEMENTSOF(plain); i++)
                ck_assert_msg(settings_key_is_privileged(plain[i][0], plain[i][1]) == 0, "%s", plain[i][1]);
        ck_assert_int_eq(settings_key_is_privileged("Files", "Hostname"), -ENOENT);
        ck_assert_int_eq(settings_key_is_privileged("Exec", "ProcessTwo"), -ENOENT);
}
END_TEST

static char *top, *tree, etc1[300], etc2[300], store[300];

static void setup(void) {
        top = make_tmp_dir();
        snprintf(etc1, sizeof etc1, "%s/etc", top);
        snprintf(etc2, sizeof etc2, "%s/run", top);
        snprintf(store, sizeof store, "%s/store", top);
        make_file(top, "etc/.keep", 0644);
        make_file(top, "run/.keep", 0644);
        make_file(top, "store/.keep", 0644);
        make_file(top, "tree/etc/os-release", 0644);
        make_file(top, "src/file", 0644);
        tree = malloc(300);
        snprintf(tree, 300, "%s/tree", top);
        char path[700];
        snprintf(path, sizeof path, "%s:%s", etc1, etc2);
        setenv("NSPAWNLITE_SETTINGS_PATH", path, 1);
        setenv("NSPAWNLITE_MACHINES_DIR", store, 1);
        log_set_max_level(LOG_CRIT); /* the warnings are the integration test's */
}

static void teardown(void) {
        unsetenv("NSPAWNLITE_SETTINGS_PATH");
        unsetenv("NSPAWNLITE_MACHINES_DIR");
        free(tree);
        rm_rf_tmp(top);
        log_set_max_level(LOG_INFO);
}

static void write_settings(const char *dir, const char *text) {
        char p[700];
        snprintf(p, sizeof p, "%s/m.nspawn", dir);
        FILE *f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        fclose(f);
}

/* config_parse of verb and the NULL-terminated args, "@TREE@" replaced. */
static int parse(Config *c, LaunchKind kind, const char *const *args) {
        char *argv[64];
        int argc = 0;
        argv[argc++] = (char *) (kind == LAUNCH_BOOT ? "boot" : "run");
        for (; *args; args++)
                argv[argc++] = strcmp(*args, "@TREE@") == 0 ? tree : (char *) *args;
        argv[argc] = NULL;
        return config_parse(c, kind, argc, argv);
}

START_TEST(trust_places) {
        char *p = NULL;
        bool trusted = true;
        ck_assert_int_eq(settings_find("m", &p, &trusted), 0);
        ck_assert_ptr_null(p);

        write_settings(store, "");
        ck_assert_int_eq(settings_find("m", &p, &trusted), 0);
        ck_assert_ptr_nonnull(p);
        ck_assert(!trusted);
        ck_assert(strncmp(p, store, strlen(store)) == 0);
        free(p);

        /* The second trusted place, then the first: each wins over the store, the first over both. */
        write_settings(etc2, "");
        ck_assert_int_eq(settings_find("m", &p, &trusted), 0);
        ck_assert(trusted);
        ck_assert(strncmp(p, etc2, strlen(etc2)) == 0);
        free(p);
        write_settings(etc1, "");
        ck_assert_int_eq(settings_find("m", &p, &trusted), 0);
        ck_assert(trusted);
        ck_assert(strncmp(p, etc1, strlen(etc1)) == 0);
        free(p);
        ck_assert_str_eq(store_dir(), store);
}
END_TEST

START_TEST(untrusted_store_file) {
        write_settings(store, "[Exec]\nHostname=fromfile\nCapability=CAP_SYS_TIME\nDropCapability=CAP_MKNOD\n"
                              "[Files]\nBind=/nonexistent-source:/mnt\n[Network]\nPrivate=yes\n");
        /* A source that does not exist: an untrusted Bind= is checked, but never used. */
        Config c;
        ck_assert_int_eq(parse(&c, LAUNCH_RUN, (const char *[]){ "-M", "m", "@TREE@", "true", NULL }), 0);
        ck_assert_str_eq(c.hostname, "fromfile");
        ck_assert_uint_eq(c.n_mounts, 0);
        ck_assert_int_eq(c.network, NETWORK_BRIDGE);
        ck_assert_uint_eq(c.caps_add, 0);
        ck_assert_uint_ne(c.caps_drop, 0);
        config_done(&c);
}
END_TEST

START_TEST(trusted_modes) {
        char text[600];
        snprintf(text, sizeof text,
                 "[Exec]\nHostname=fromfile\n[Files]\nBind=%s/src:/mnt\n[Network]\nPrivate=yes\n", top);
        write_settings(store, text);
        Config c;
        ck_assert_int_eq(parse(&c, LAUNCH_RUN,
                               (const char *[]){ "-M", "m", "--settings=trusted", "@TREE@", "true", NULL }),
                         0);
        ck_assert_uint_eq(c.n_mounts, 1);
        ck_assert_str_eq(c.mounts[0].dest, "/mnt");
        ck_assert_int_eq(c.network, NETWORK_NONE);
        config_done(&c);

        ck_assert_int_eq(
                parse(&c, LAUNCH_RUN, (const char *[]){ "-M", "m", "--settings=no", "@TREE@", "true", NULL }),
                0);
        ck_assert_str_eq(c.hostname, "m");
        config_done(&c);

        /* The same file in a trusted place: all of it. */
        write_settings(etc1, text);
        ck_assert_int_eq(parse(&c, LAUNCH_RUN, (const char *[]){ "-M", "m", "@TREE@", "true", NULL }), 0);
        ck_assert_uint_eq(c.n_mounts, 1);
        config_done(&c);
}
END_TEST

START_TEST(command_line_wins) {
        write_settings(etc1, "[Exec]\nHostname=fromfile\nEnvironment=A=1\n[Files]\nBindReadOnly=/tmp:/f\n");
        Config c;
        ck_assert_int_eq(
                parse(&c, LAUNCH_RUN,
                      (const char *[]){ "-M", "m", "--hostname=cli", "--tmpfs=/t", "@TREE@", "true", NULL }),
                0);
        ck_assert_str_eq(c.hostname, "cli");
        /* Mounts are one group, as in systemd-nspawn: --tmpfs shadows the file's BindReadOnly=. */
        ck_assert_uint_eq(c.n_mounts, 1);
        ck_assert(c.mounts[0].tmpfs);
        ck_assert_str_eq(c.setenv[0], "A=1");
        config_done(&c);

        ck_assert_int_eq(parse(&c, LAUNCH_RUN,
                               (const char *[]){ "-M", "m", "--settings=override", "--hostname=cli",
                                                 "--tmpfs=/t", "-E", "B=2", "@TREE@", "true", NULL }),
                         0);
        ck_assert_str_eq(c.hostname, "fromfile");
        ck_assert_uint_eq(c.n_mounts, 1);
        ck_assert(!c.mounts[0].tmpfs);
        ck_assert_int_eq(strv_length(c.setenv), 1);
        ck_assert_str_eq(c.setenv[0], "A=1");
        config_done(&c);
}
END_TEST

START_TEST(lists_and_boot) {
        write_settings(etc1,
                       "[Exec]\nEnvironment=A=1 \"B=x y\"\nEnvironment=\nEnvironment=C=3\nEnvironment=D=4\n"
                       "Hostname=one\nHostname=two\nBoot=yes\nParameters=--debug \"a b\"\n");
        Config c;
        ck_assert_int_eq(parse(&c, LAUNCH_RUN, (const char *[]){ "-M", "m", "@TREE@", NULL }), 0);
        ck_assert_int_eq(strv_length(c.setenv), 2);
        ck_assert_str_eq(c.setenv[0], "C=3");
        ck_assert_str_eq(c.setenv[1], "D=4");
        ck_assert_str_eq(c.hostname, "two");
        /* run without a command and Boot=yes: a boot, Parameters= are init's arguments. */
        ck_assert_int_eq(c.kind, LAUNCH_BOOT);
        ck_assert_uint_eq(c.ttys, 4);
        ck_assert_int_eq(strv_length(c.args), 2);
        ck_assert_str_eq(c.args[1], "a b");
        config_done(&c);

        /* A command given: the verb decides, and the file's Parameters= stay out. */
        ck_assert_int_eq(parse(&c, LAUNCH_RUN, (const char *[]){ "-M", "m", "@TREE@", "true", NULL }), 0);
        ck_assert_int_eq(c.kind, LAUNCH_RUN);
        ck_assert_int_eq(strv_length(c.args), 1);
        config_done(&c);

        write_settings(etc1, "[Exec]\nParameters=/bin/echo hi\nUser=nobody\nWorkingDirectory=/tmp\n");
        ck_assert_int_eq(parse(&c, LAUNCH_RUN, (const char *[]){ "-M", "m", "@TREE@", NULL }), 0);
        ck_assert_int_eq(c.kind, LAUNCH_RUN);
        ck_assert_str_eq(c.args[0], "/bin/echo");
        ck_assert_str_eq(c.user, "nobody");
        ck_assert_str_eq(c.chdir, "/tmp");
        config_done(&c);
}
END_TEST

START_TEST(bad_files) {
        static const char *const bad[] = {
                "[Exec]\nKillSignal=SIGNOPE\n",    "[Exec]\nBoot=maybe\n",
                "[Files]\nReadOnly=2\n",           "[Exec]\nHostname=a b\n",
                "[Exec]\nEnvironment=\"A=1\n",     "[Files]\nVolatile=sometimes\n",
                "[Exec]\nno assignment\n",         "[Network]\nPort=99999\n",
                "[Exec]\nPrivateUsers=identity\n", "[Exec]\nWorkingDirectory=rel\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                write_settings(etc1, bad[i]);
                Config c;
                ck_assert_msg(parse(&c, LAUNCH_RUN, (const char *[]){ "-M", "m", "@TREE@", "true", NULL }) <
                                      0,
                              "accepted: %s", bad[i]);
                config_done(&c);
        }
        /* Unknown keys and sections only warn. */
        write_settings(etc1, "[Exec]\nProcessTwo=yes\n[Nope]\nX=1\n");
        Config c;
        ck_assert_int_eq(parse(&c, LAUNCH_RUN, (const char *[]){ "-M", "m", "@TREE@", "true", NULL }), 0);
        config_done(&c);
}
END_TEST

Suite *suite_settings(void) {
        Suite *s = suite_create("settings");
        TCase *t = tcase_create("ini");
        tcase_add_test(t, ini_format);
        tcase_add_test(t, ini_errors);
        tcase_add_test(t, split_words);
        tcase_add_test(t, privileged_keys);
        suite_add_tcase(s, t);
        t = tcase_create("files");
        tcase_add_checked_fixture(t, setup, teardown);
        tcase_add_test(t, trust_places);
        tcase_add_test(t, untrusted_store_file);
        tcase_add_test(t, trusted_modes);
        tcase_add_test(t, command_line_wins);
        tcase_add_test(t, lists_and_boot);
        tcase_add_test(t, bad_files);
        suite_add_tcase(s, t);
        return s;
}
