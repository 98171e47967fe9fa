/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nspawnlite/caps.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/strv.h"
#include "nspawnlite/cli/options.h"
#include "nspawnlite/cli/version.h"
#include "tests/unit/unit.h"

static char *tree;

static void setup(void) {
        tree = make_tmp_dir();
        make_file(tree, "etc/os-release", 0644);
}

static void teardown(void) {
        rm_rf_tmp(tree);
        tree = NULL;
}

/* Parse a NULL-terminated list after the verb. */
static int parse(Config *c, LaunchKind kind, const char *const *args) {
        char *argv[64];
        int argc = 0;
        argv[argc++] = (char *) (kind == LAUNCH_BOOT ? "boot" : "run");
        for (; *args; args++)
                argv[argc++] = (char *) (strcmp(*args, "@TREE@") == 0 ? tree : *args);
        argv[argc] = NULL;
        return config_parse(c, kind, argc, argv);
}

START_TEST(defaults) {
        Config c;
        ck_assert_int_eq(parse(&c, LAUNCH_BOOT, (const char *[]) { "@TREE@", NULL }), 0);
        const char *base = strrchr(tree, '/') + 1;
        ck_assert_str_eq(c.machine, base);
        ck_assert_str_eq(c.hostname, base);
        ck_assert_str_eq(c.rootfs, tree);
        ck_assert_int_eq(c.network, NETWORK_BRIDGE);
        ck_assert_int_eq(c.console, CONSOLE_AUTO);
        ck_assert_uint_eq(c.timeout, 30 * USEC_PER_SEC);
        ck_assert_ptr_null(c.args);
        config_done(&c);
}
END_TEST

START_TEST(launch_options) {
        Config c;
        ck_assert_int_eq(parse(&c, LAUNCH_BOOT,
                               (const char *[]) { "-M", "web1", "--hostname=h.example", "--console=read-only",
                                                  "--network=host", "--bind=/tmp:/mnt/x:ro", "--bind-ro=/tmp",
                                                  "--tmpfs=/scratch", "--read-only", "-E", "A=1", "--setenv=B=2",
                                                  "--capability=CAP_SYS_TIME", "--drop-capability=net_raw,mknod",
                                                  "--no-new-privileges", "--kill-signal=SIGRTMIN+3",
                                                  "--timeout=5s", "@TREE@", "systemd.unit=rescue.target", NULL }),
                         0);
        ck_assert_str_eq(c.machine, "web1");
        ck_assert_str_eq(c.hostname, "h.example");
        ck_assert_int_eq(c.console, CONSOLE_READ_ONLY);
        ck_assert_int_eq(c.network, NETWORK_HOST);
        ck_assert_uint_eq(c.n_mounts, 3);
        ck_assert_str_eq(c.mounts[0].source, "/tmp");
        ck_assert_str_eq(c.mounts[0].dest, "/mnt/x");
        ck_assert(c.mounts[0].read_only);
        ck_assert_str_eq(c.mounts[1].dest, "/tmp");
        ck_assert(c.mounts[1].read_only);
        ck_assert(c.mounts[2].tmpfs);
        ck_assert_str_eq(c.mounts[2].dest, "/scratch");
        ck_assert(c.read_only);
        ck_assert_str_eq(c.setenv[0], "A=1");
        ck_assert_str_eq(c.setenv[1], "B=2");
        ck_assert_uint_eq(c.caps_add, CAP_MASK(CAP_SYS_TIME));
        ck_assert_uint_eq(c.caps_drop, CAP_MASK(CAP_NET_RAW) | CAP_MASK(CAP_MKNOD));
        ck_assert(c.no_new_privileges);
        ck_assert_uint_eq(c.timeout, 5 * USEC_PER_SEC);
        ck_assert_str_eq(c.args[0], "systemd.unit=rescue.target");
        config_done(&c);
}
END_TEST

START_TEST(nspawn_aliases) {
        Config c;
        ck_assert_int_eq(parse(&c, LAUNCH_BOOT,
                               (const char *[]) { "-b", "-D", "@TREE@", "--private-network", "--register=no",
                                                  "--keep-unit", "-q", NULL }),
                         0);
        ck_assert_str_eq(c.rootfs, tree);
        ck_assert_int_eq(c.network, NETWORK_NONE);
        ck_assert_int_eq(c.register_mode, REGISTER_NO);
        ck_assert(c.keep_unit);
        config_done(&c);
}
END_TEST

/* --register=, --slice=: what systemd hosts take, the rest refused at parse time. */
START_TEST(systemd_options) {
        Config c;
        ck_assert_int_eq(parse(&c, LAUNCH_BOOT, (const char *[]) { "@TREE@", NULL }), 0);
        ck_assert_int_eq(c.register_mode, REGISTER_AUTO);
        ck_assert(!c.keep_unit);
        ck_assert_ptr_null(c.slice);
        config_done(&c);
        ck_assert_int_eq(parse(&c, LAUNCH_BOOT,
                               (const char *[]) { "--register=yes", "--slice=machine-test.slice", "@TREE@", NULL }),
                         0);
        ck_assert_int_eq(c.register_mode, REGISTER_YES);
        ck_assert_str_eq(c.slice, "machine-test.slice");
        config_done(&c);
        static const char *const bad[] = { "--register=maybe",  "--slice=machine",  "--slice=.slice",
                                           "--slice=a/b.slice", "--slice=-x.slice", "--slice=a b.slice" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ck_assert_int_eq(parse(&c, LAUNCH_BOOT, (const char *[]) { bad[i], "@TREE@", NULL }), -EINVAL);
                config_done(&c);
        }
}
END_TEST

START_TEST(run_command) {
        Config c;
        ck_assert_int_eq(parse(&c, LAUNCH_RUN, (const char *[]) { "@TREE@", "--", "sh", "-c", "exit 3", NULL }), 0);
        ck_assert_str_eq(c.args[0], "sh");
        ck_assert_str_eq(c.args[2], "exit 3");
        config_done(&c);
        /* Options of the command are the command's. */
        ck_assert_int_eq(parse(&c, LAUNCH_RUN, (const char *[]) { "@TREE@", "ls", "-l", NULL }), 0);
        ck_assert_str_eq(c.args[1], "-l");
        config_done(&c);
        ck_assert_int_eq(parse(&c, LAUNCH_RUN, (const char *[]) { "@TREE@", NULL }), -EINVAL);
        config_done(&c);
}
END_TEST

START_TEST(bad_input) {
        static const char *const cases[][4] = {
                { "-M", "../x", "@TREE@", NULL },
                { "-M", "a/b", "@TREE@", NULL },
                { "-M", "", "@TREE@", NULL },
                { "-M", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "@TREE@", NULL },
                { "--frobnicate", "@TREE@", NULL },
                { "--bind=relative:/x", "@TREE@", NULL },
                { "--bind=/tmp:/a/../b", "@TREE@", NULL },
                { "--bind=/tmp:/x:bogus", "@TREE@", NULL },
                { "--bind=/nonexistent-nspawnlite:/x", "@TREE@", NULL },
                { "--tmpfs=relative", "@TREE@", NULL },
                { "--tmpfs-size=0", "@TREE@", NULL },
                { "--tmpfs-size=150%", "@TREE@", NULL },
                { "--tmpfs-size=lots", "@TREE@", NULL },
                { "--bind=/tmp\\", "@TREE@", NULL },
                { "--bind=/tmp:/x:ro:more", "@TREE@", NULL },
                { "--private-users=200000:100", "@TREE@", NULL },
                { "--private-users=200000:65537", "@TREE@", NULL },
                { "--console=bogus", "@TREE@", NULL },
                { "--network=bogus", "@TREE@", NULL },
                { "--kill-signal=NOPE", "@TREE@", NULL },
                { "--timeout=abc", "@TREE@", NULL },
                { "--timeout=0", "@TREE@", NULL },
                { "-E", "NOEQUALS", "@TREE@", NULL },
                { "-E", "1A=x", "@TREE@", NULL },
                { "--capability=CAP_NOPE", "@TREE@", NULL },
                { "--hostname=-bad", "@TREE@", NULL },
                { "--no-new-privileges=maybe", "@TREE@", NULL },
                { "/nonexistent-nspawnlite-tree", NULL },
                { "/", NULL },
                { "", NULL },
                { NULL },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                Config c;
                int r = parse(&c, LAUNCH_BOOT, cases[i]);
                ck_assert_msg(r == -EINVAL, "case %zu (%s) gave %d", i, strempty(cases[i][0]), r);
                config_done(&c);
        }
}
END_TEST

START_TEST(rootfs_kinds) {
        Config c;
        char p[4096];
        /* A regular file. */
        snprintf(p, sizeof p, "%s/etc/os-release", tree);
        ck_assert_int_eq(config_parse(&c, LAUNCH_BOOT, 2, (char *[]) { "boot", p, NULL }), -EINVAL);
        config_done(&c);
        /* A symlink loop. */
        make_symlink(tree, "loop1", "loop2");
        make_symlink(tree, "loop2", "loop1");
        snprintf(p, sizeof p, "%s/loop1", tree);
        ck_assert_int_eq(config_parse(&c, LAUNCH_BOOT, 2, (char *[]) { "boot", p, NULL }), -EINVAL);
        config_done(&c);
        /* A name that cannot be a machine name needs -M. */
        make_file(tree, "bad name/etc/os-release", 0644);
        snprintf(p, sizeof p, "%s/bad name", tree);
        ck_assert_int_eq(config_parse(&c, LAUNCH_BOOT, 2, (char *[]) { "boot", p, NULL }), -EINVAL);
        config_done(&c);
        ck_assert_int_eq(config_parse(&c, LAUNCH_BOOT, 4, (char *[]) { "boot", "-M", "ok", p, NULL }), 0);
        ck_assert_str_eq(c.machine, "ok");
        config_done(&c);
}
END_TEST

/* A backslash takes the next character as it is: "\\:" is a colon in a path. */
START_TEST(bind_escapes) {
        Config c;
        char src[4096], arg[4200];
        make_file(tree, "a:b/f", 0644);
        snprintf(src, sizeof src, "%s/a:b", tree);
        snprintf(arg, sizeof arg, "--bind=%s/a\\:b:/x\\:y:ro", tree);
        ck_assert_int_eq(parse(&c, LAUNCH_BOOT,
                               (const char *[]) { arg, "--bind-ro=/tmp:/back\\\\slash", "@TREE@", NULL }),
                         0);
        ck_assert_uint_eq(c.n_mounts, 2);
        ck_assert_str_eq(c.mounts[0].source, src);
        ck_assert_str_eq(c.mounts[0].dest, "/x:y");
        ck_assert(c.mounts[0].read_only);
        ck_assert_str_eq(c.mounts[1].source, "/tmp");
        ck_assert_str_eq(c.mounts[1].dest, "/back\\slash");
        config_done(&c);
        /* Without DST, the unescaped source is the destination too. */
        snprintf(arg, sizeof arg, "--bind=%s/a\\:b", tree);
        ck_assert_int_eq(parse(&c, LAUNCH_BOOT, (const char *[]) { arg, "@TREE@", NULL }), 0);
        ck_assert_str_eq(c.mounts[0].source, src);
        ck_assert_str_eq(c.mounts[0].dest, src);
        ck_assert(!c.mounts[0].read_only);
        config_done(&c);
        /* An unescaped colon still splits: "…/a" does not exist. */
        snprintf(arg, sizeof arg, "--bind=%s/a:b:/x", tree);
        ck_assert_int_eq(parse(&c, LAUNCH_BOOT, (const char *[]) { arg, "@TREE@", NULL }), -EINVAL);
        config_done(&c);
}
END_TEST

START_TEST(tmpfs_sizes) {
        static const struct {
                const char *in, *out;
                int r;
        } cases[] = {
                { "10%", "10%", 0 },        { "100%", "100%", 0 },       { "1%", "1%", 0 },
                { "512M", "536870912", 0 }, { "1M", "1048576", 0 },      { "2G", "2147483648", 0 },
                { "0", NULL, -ERANGE },     { "1023K", NULL, -ERANGE },  { "0%", NULL, -ERANGE },
                { "101%", NULL, -ERANGE },  { "infinity", NULL, -ERANGE }, { "%", NULL, -EINVAL },
                { "x%", NULL, -EINVAL },    { "lots", NULL, -EINVAL },   { "", NULL, -EINVAL },
                { "-5%", NULL, -EINVAL },   { "123456789%", NULL, -ERANGE },
                /* tmpfs rounds up to pages: these wrapped to size=0, no limit */
                { "18446744073709551614", NULL, -ERANGE },
                { "18446744073709547521", NULL, -ERANGE },
                { "18446744073709486081", NULL, -ERANGE },
                { "18446744073709486080", "18446744073709486080", 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char buf[24] = "";
                int r = tmpfs_size_parse(cases[i].in, buf, sizeof buf);
                ck_assert_msg(r == cases[i].r, "'%s' gave %d", cases[i].in, r);
                if (cases[i].out)
                        ck_assert_str_eq(buf, cases[i].out);
        }
        Config c;
        ck_assert_int_eq(parse(&c, LAUNCH_BOOT, (const char *[]) { "@TREE@", NULL }), 0);
        ck_assert_str_eq(c.tmpfs_size, "");
        config_done(&c);
        ck_assert_int_eq(parse(&c, LAUNCH_BOOT, (const char *[]) { "--tmpfs-size=64M", "@TREE@", NULL }), 0);
        ck_assert_str_eq(c.tmpfs_size, "67108864");
        config_done(&c);
}
END_TEST

START_TEST(ephemeral_sizes) {
        static const struct {
                const char *in, *out;
                int r;
        } cases[] = {
                { "disk", "disk", 0 },  { "64M", "67108864", 0 },  { "5%", "5%", 0 },
                { "0", NULL, -ERANGE }, { "Disk", NULL, -EINVAL }, { "disk2", NULL, -EINVAL },
                { "", NULL, -EINVAL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char buf[24] = "";
                int r = ephemeral_size_parse(cases[i].in, buf, sizeof buf);
                ck_assert_msg(r == cases[i].r, "'%s' gave %d", cases[i].in, r);
                if (cases[i].out)
                        ck_assert_str_eq(buf, cases[i].out);
        }
        Config c;
        ck_assert_int_eq(
                parse(&c, LAUNCH_BOOT, (const char *[]){ "-x", "--ephemeral-size=disk", "@TREE@", NULL }), 0);
        LaunchSpec spec = config_launch_spec(&c);
        ck_assert_str_eq(spec.ephemeral_size, OVERLAY_UPPER_DISK);
        config_done(&c);
        /* Only for an overlay root. */
        ck_assert_int_eq(parse(&c, LAUNCH_BOOT, (const char *[]){ "--ephemeral-size=1M", "@TREE@", NULL }),
                         -EINVAL);
        config_done(&c);
}
END_TEST

/* The guest uses ids up to 65534: a range must hold 65536. */
START_TEST(userns_ranges) {
        UsernsConfig u = {};
        ck_assert_int_eq(userns_parse("200000", &u), 0);
        ck_assert_uint_eq(u.base, 200000);
        ck_assert_uint_eq(u.size, 65536);
        ck_assert_int_eq(userns_parse("200000:65536", &u), 0);
        ck_assert_uint_eq(u.size, 65536);
        ck_assert_int_eq(userns_parse("200000:100", &u), -ERANGE);
        ck_assert_int_eq(userns_parse("200000:6", &u), -ERANGE);
        ck_assert_int_eq(userns_parse("200000:65537", &u), -ERANGE);
        ck_assert_int_eq(userns_parse("4294967000", &u), -EOVERFLOW);
        ck_assert_int_eq(userns_parse("0:65536", &u), -EINVAL);
        ck_assert_int_eq(userns_parse("200000:x", &u), -EINVAL);
}
END_TEST

START_TEST(capability_lists) {
        uint64_t m;
        ck_assert_int_eq(capability_parse_list("CAP_NET_ADMIN,sys_time", &m), 0);
        ck_assert_uint_eq(m, CAP_MASK(CAP_NET_ADMIN) | CAP_MASK(CAP_SYS_TIME));
        ck_assert_int_eq(capability_parse_list("all", &m), 0);
        ck_assert(m & CAP_MASK(CAP_SYS_MODULE));
        ck_assert_int_lt(capability_parse_list("", &m), 0);
        ck_assert_int_lt(capability_parse_list("CAP_FOO", &m), 0);
}
END_TEST

/* Each short letter and its long name are one row of the option table: the same Config. */
START_TEST(short_and_long_spellings) {
        static const char *const pairs[][4] = {
                { "-M", "web2", "--machine=web2", NULL },     { "-d", NULL, "--detach", NULL },
                { "-E", "A=1", "--setenv=A=1", NULL },        { "-p", "8080:80", "--port=8080:80", NULL },
                { "-U", NULL, "--private-users", NULL },      { "-q", NULL, "--quiet", NULL },
                { "-b", NULL, "--boot", NULL },               { "-U", NULL, "--private-users=pick", NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(pairs); i++) {
                Config a, b;
                const char *sa[] = { pairs[i][0], pairs[i][1] ? pairs[i][1] : "@TREE@", "@TREE@", NULL };
                if (!pairs[i][1])
                        sa[2] = NULL;
                const char *la[] = { pairs[i][2], "@TREE@", NULL };
                ck_assert_msg(parse(&a, LAUNCH_BOOT, sa) == 0, "%s refused", pairs[i][0]);
                ck_assert_msg(parse(&b, LAUNCH_BOOT, la) == 0, "%s refused", pairs[i][2]);
                ck_assert_str_eq(a.machine, b.machine);
                ck_assert_int_eq(a.detach, b.detach);
                ck_assert_int_eq(strv_length(a.setenv), strv_length(b.setenv));
                ck_assert_uint_eq(a.n_ports, b.n_ports);
                ck_assert_int_eq(a.userns.mode, b.userns.mode);
                config_done(&a);
                config_done(&b);
        }
        Config c;
        ck_assert_int_eq(parse(&c, LAUNCH_BOOT,
                               (const char *[]) { "-M", "a", "-M", "b", "--hostname=x", "--hostname=y",
                                                  "--network-bridge=br1", "--network-veth", "--pids-max=20",
                                                  "--cpu-quota=50%", "--ttys=0", "@TREE@", NULL }),
                         0);
        /* The last of an option given twice wins; a limit is set with its value. */
        ck_assert_str_eq(c.machine, "b");
        ck_assert_str_eq(c.hostname, "y");
        ck_assert_int_eq(c.network, NETWORK_VETH);
        ck_assert(c.limits.set[LIMIT_PIDS_MAX] && c.limits.value[LIMIT_PIDS_MAX] == 20);
        ck_assert(c.limits.set[LIMIT_CPU_QUOTA] && c.limits.value[LIMIT_CPU_QUOTA] == 50);
        ck_assert(!c.limits.set[LIMIT_MEMORY_MAX]);
        ck_assert_uint_eq(c.ttys, 0);
        config_done(&c);
}
END_TEST

/* boot --help comes from the option table: the options are listed with their arguments, the
 * descriptions start at one column and no line is wider than 79 columns. */
START_TEST(help_from_table) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);
        ck_assert_ptr_nonnull(f);
        launch_help(f, LAUNCH_BOOT);
        ck_assert_int_eq(fclose(f), 0);
        static const char *const want[] = {
                "\n  -D --directory=PATH       Root directory",
                "\n     --private-users[=pick|UID[:COUNT]]\n                            Run in a user "
                "namespace",
                "\n  -U                        Same as --private-users=pick\n",
                "\n     --keep-unit            Use the systemd unit",
                "\n     --memory-max=BYTES     Memory limit",
                "a boundary against accidents, not against a hostile\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                ck_assert_msg(strstr(buf, want[i]), "boot --help lacks '%s':\n%s", want[i], buf);
        unsigned options = 0;
        for (char *line = buf, *end; *line; line = end + 1) {
                end = strchrnul(line, '\n');
                size_t columns = 0; /* UTF-8: count the bytes that start a character */
                for (char *p = line; p < end; p++)
                        columns += ((unsigned char) *p & 0xc0) != 0x80;
                ck_assert_msg(columns <= 79, "line wider than 79 columns: %.*s", (int) (end - line), line);
                if (strncmp(line, "  -", 3) == 0 || strncmp(line, "     --", 7) == 0) {
                        options++;
                        /* a description on the option's line (after two spaces) starts at column
                         * 28; a longer option has it on the next line */
                        char *gap = strstr(line + strspn(line, " "), "  ");
                        if (gap && gap < end)
                                ck_assert_msg(gap + strspn(gap, " ") == line + 28, "misaligned: %.*s",
                                              (int) (end - line), line);
                }
                if (!*end)
                        break;
        }
        ck_assert_uint_ge(options, 40);
        free(buf);
}
END_TEST

static bool probe_no_curl(const char *soname) {
        return strstr(soname, "curl") == NULL;
}

/* --version: the version meson gives, then +FEATURE for what is built in and what loads, -FEATURE
 * for a library this host lacks (both curl flavours missing here). */
START_TEST(version_features) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);
        ck_assert_ptr_nonnull(f);
        version_print(f, probe_no_curl);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_str_eq(buf,
                         "nspawnlite " NSPAWNLITE_VERSION "\n"
                         "+SECCOMP +IDMAP +LIBNL +LIBCAP +BLKID +SYSTEMD +NFTABLES +ARCHIVE -CURL +CRYPTO "
                         "+CRYPT\n");
        free(buf);
}
END_TEST

Suite *suite_options(void) {
        Suite *s = suite_create("options");
        TCase *t = tcase_create("parse");
        tcase_add_checked_fixture(t, setup, teardown);
        tcase_add_test(t, defaults);
        tcase_add_test(t, launch_options);
        tcase_add_test(t, nspawn_aliases);
        tcase_add_test(t, systemd_options);
        tcase_add_test(t, run_command);
        tcase_add_test(t, bad_input);
        tcase_add_test(t, rootfs_kinds);
        tcase_add_test(t, capability_lists);
        tcase_add_test(t, bind_escapes);
        tcase_add_test(t, tmpfs_sizes);
        tcase_add_test(t, ephemeral_sizes);
        tcase_add_test(t, userns_ranges);
        tcase_add_test(t, short_and_long_spellings);
        tcase_add_test(t, help_from_table);
        tcase_add_test(t, version_features);
        suite_add_tcase(s, t);
        return s;
}
