/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The files the registry and the network keep under the runtime dir (state, leases, ports), and
 * the JSON strings of list/status: what is written reads back the same, and nothing else reads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "machines/registry.h"
#include "network/lease.h"
#include "network/nat.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/format-util.h"
#include "tests/unit/unit.h"

static MachineInfo sample(void) {
        MachineInfo m = {
                .leader = 4242,
                .leader_starttime = 777,
                .supervisor = 4241,
                .since_usec = 1700000000000000,
                .detached = true,
                .caps = 0xfcecbfff,
                .no_new_privileges = true,
                .uid_shift = 524288,
        };
        snprintf(m.name, sizeof m.name, "web");
        snprintf(m.state, sizeof m.state, "running");
        snprintf(m.init, sizeof m.init, "busybox");
        snprintf(m.rootfs, sizeof m.rootfs, "/srv/web");
        snprintf(m.uuid, sizeof m.uuid, "00000000-0000-4000-8000-000000000000");
        snprintf(m.cgroup, sizeof m.cgroup, "machine.slice/machine-web.scope");
        snprintf(m.address, sizeof m.address, "10.213.0.2");
        snprintf(m.interface, sizeof m.interface, "ve-web");
        m.limits.set[LIMIT_PIDS_MAX] = true;
        m.limits.value[LIMIT_PIDS_MAX] = 100;
        return m;
}

/* Every key of the table compared, the way the fuzzer does it. */
static void assert_same(const MachineInfo *a, const MachineInfo *b) {
        for (size_t i = 0; i < machine_state_keys_n; i++) {
                const MachineStateKey *k = &machine_state_keys[i];
                const void *fa = (const char *) a + k->offset, *fb = (const char *) b + k->offset;
                if (k->type == STATE_KEY_STRING)
                        ck_assert_msg(strcmp(fa, fb) == 0, "key %s differs", k->key);
                else
                        ck_assert_msg(memcmp(fa, fb, k->size) == 0, "key %s differs", k->key);
        }
        ck_assert(memcmp(&a->limits, &b->limits, sizeof a->limits) == 0);
}

START_TEST(state_round_trip_escapes) {
        MachineInfo a = sample(), b;
        /* The attack of the issue: a tree whose path holds lines of its own. */
        snprintf(a.rootfs, sizeof a.rootfs, "/tmp/x\nleader=1\nleader_starttime=5\\n\r\x01\x7f\xff\xfe=é");
        char buf[MACHINE_STATE_MAX];
        int r = machine_info_format(&a, buf, sizeof buf);
        ck_assert_int_gt(r, 0);
        ck_assert_ptr_nonnull(strstr(buf, "rootfs=/tmp/x\\nleader=1\\nleader_starttime=5\\\\n\\x0d\\x01\\x7f\xff\xfe=é\n"));
        ck_assert_int_eq(machine_info_parse(buf, &b), 0);
        ck_assert_int_eq(b.leader, 4242);
        assert_same(&a, &b);
        /* Plain values stay plain, for scripts that grep the file. */
        ck_assert_ptr_nonnull(strstr(buf, "\nleader=4242\n"));
        ck_assert_ptr_nonnull(strstr(buf, "\ncgroup=machine.slice/machine-web.scope\n"));
        ck_assert_ptr_nonnull(strstr(buf, "\nuid_shift=524288\n"));
}
END_TEST

START_TEST(state_every_field_at_its_longest) {
        MachineInfo a = sample(), b;
        /* Every byte escaped, every string full: still fits, still reads back. */
        for (size_t i = 0; i < machine_state_keys_n; i++) {
                const MachineStateKey *k = &machine_state_keys[i];
                if (k->type != STATE_KEY_STRING || strcmp(k->key, "name") == 0)
                        continue;
                char *f = (char *) &a + k->offset;
                memset(f, '\n', k->size - 1);
                f[k->size - 1] = 0;
        }
        char *buf = malloc(MACHINE_STATE_MAX);
        ck_assert_int_gt(machine_info_format(&a, buf, MACHINE_STATE_MAX), 0);
        ck_assert_int_eq(machine_info_parse(buf, &b), 0);
        assert_same(&a, &b);
        free(buf);
}
END_TEST

START_TEST(state_escape_helpers) {
        char e[64], u[64];
        ck_assert_int_eq(state_value_escape("a\\b\nc\td", e, sizeof e), 12);
        ck_assert_str_eq(e, "a\\\\b\\nc\\x09d");
        ck_assert_int_eq(state_value_unescape(e, strlen(e), u, sizeof u), 0);
        ck_assert_str_eq(u, "a\\b\nc\td");
        ck_assert_int_eq(state_value_escape("abcd", e, 4), -ENOBUFS);
        static const char *const bad[] = {
                "\\",    /* cut */
                "\\t",   /* not written by escape */
                "\\x4",  /* cut */
                "\\x41", /* 'A' escaped: not canonical */
                "\\x00", /* a NUL */
                "\\x0a", /* a newline is \n */
                "\\x5c", /* a backslash is \\ */
                "\\xZZ", "a\rb", "\x01",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                ck_assert_msg(state_value_unescape(bad[i], strlen(bad[i]), u, sizeof u) == -EINVAL, "'%s' accepted",
                              bad[i]);
        /* Too long for the field. */
        ck_assert_int_eq(state_value_unescape("abcd", 4, u, 4), -EINVAL);
        ck_assert_int_eq(state_value_unescape("abc", 3, u, 4), 0);
}
END_TEST

static const char good[] = "name=web\nstate=running\nleader=42\nleader_starttime=7\n";

static void refused(const char *extra, const char *why) {
        char text[512];
        MachineInfo m;
        snprintf(text, sizeof text, "%s%s", good, extra);
        ck_assert_msg(machine_info_parse(text, &m) == -EINVAL, "accepted %s", why);
}

START_TEST(state_parser_is_strict) {
        MachineInfo m;
        ck_assert_int_eq(machine_info_parse(good, &m), 0);
        ck_assert_int_eq(m.leader, 42);
        refused("leader=1\n", "a duplicate key (the later would win)");
        refused("rootfs=/a\nrootfs=/b\n", "a duplicate string key");
        refused("limit.pids-max=1\nlimit.pids-max=2\n", "a duplicate limit");
        refused("colour=blue\n", "an unknown key");
        refused("limit.colour=1\n", "an unknown limit");
        refused("no equals sign\n", "a malformed line");
        refused("\n", "an empty line");
        refused("=x\n", "an empty key");
        refused("detached=2\n", "a boolean other than 0 or 1");
        refused("since=+5\n", "a signed number");
        refused("since= 5\n", "a number with a space");
        refused("since=\n", "an empty number");
        refused("uid_shift=4294967296\n", "a uid_shift past 32 bits");
        refused("supervisor=2147483648\n", "a pid past 31 bits");
        refused("since=99999999999999999999999\n", "a number past 64 bits");
        refused("rootfs=/a\\qb\n", "an unknown escape");
        refused("rootfs=/a\rb\n", "a raw control byte");
        ck_assert_int_eq(machine_info_parse("name=web\nstate=running\n", &m), -EINVAL); /* no leader */
        ck_assert_int_eq(machine_info_parse("name=../x\nleader=1\n", &m), -EINVAL);     /* bad name */
}
END_TEST

START_TEST(state_unit_keys_only_on_systemd_hosts) {
        /* Without a unit the file is as before; with one, gc reads where the machine was. */
        MachineInfo a = sample(), b;
        char buf[MACHINE_STATE_MAX];
        ck_assert_int_gt(machine_info_format(&a, buf, sizeof buf), 0);
        ck_assert_ptr_null(strstr(buf, "unit"));
        snprintf(a.cgroup, sizeof a.cgroup, "system.slice/kept.service");
        snprintf(a.unit, sizeof a.unit, "kept.service");
        a.unit_kept = true;
        ck_assert_int_gt(machine_info_format(&a, buf, sizeof buf), 0);
        ck_assert_ptr_nonnull(strstr(buf, "\nunit=kept.service\nunit_kept=1\n"));
        ck_assert_int_eq(machine_info_parse(buf, &b), 0);
        assert_same(&a, &b);
        ck_assert(b.unit_kept);
}
END_TEST

START_TEST(state_table_covers_the_struct) {
        /* Every field of MachineInfo but the limits has a row, and rows do not overlap. */
        size_t covered = 0;
        for (size_t i = 0; i < machine_state_keys_n; i++) {
                covered += machine_state_keys[i].size;
                for (size_t j = 0; j < i; j++)
                        ck_assert(strcmp(machine_state_keys[i].key, machine_state_keys[j].key) != 0);
        }
        MachineInfo a = sample(), b;
        char buf[MACHINE_STATE_MAX];
        ck_assert_int_gt(machine_info_format(&a, buf, sizeof buf), 0);
        ck_assert_int_eq(machine_info_parse(buf, &b), 0);
        ck_assert_uint_eq(b.uid_shift, 524288);
        ck_assert(b.no_new_privileges && b.detached);
        ck_assert_uint_le(covered + sizeof(Limits), sizeof(MachineInfo));
        /* The rest is padding (of the bools): a string or a number added without a row shows here. */
        ck_assert_uint_ge(covered + sizeof(Limits) + 24, sizeof(MachineInfo));
}
END_TEST

START_TEST(lease_lines) {
        Lease l = { .address = 0x0ad50002 }, b;
        snprintf(l.machine, sizeof l.machine, "web");
        snprintf(l.ifname, sizeof l.ifname, "ve-web");
        snprintf(l.bridge, sizeof l.bridge, "nspawnlite0");
        char line[256];
        ck_assert_int_gt(lease_format_line(&l, line, sizeof line), 0);
        ck_assert_str_eq(line, "web 10.213.0.2 ve-web nspawnlite0\n");
        line[strlen(line) - 1] = 0;
        ck_assert_int_eq(lease_parse_line(line, &b), 0);
        ck_assert(strcmp(b.machine, "web") == 0 && b.address == l.address && strcmp(b.bridge, "nspawnlite0") == 0);
        static const char *const bad[] = {
                "web 10.213.0.2 ve-web nspawnlite0 extra", "web 10.213.0.2 ve-web", "web  10.213.0.2 ve-web -",
                "web 10.213.0.2 ve-web - ",                "web 10.213.0.2 ve-web\t-", "we/b 10.213.0.2 ve-web -",
                "web 10.213.0.256 ve-web -",               " web 10.213.0.2 ve-web -",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                ck_assert_msg(lease_parse_line(bad[i], &b) == -EINVAL, "'%s' accepted", bad[i]);
        /* What could not be read back is never written. */
        snprintf(l.bridge, sizeof l.bridge, "br x\nevil");
        ck_assert_int_eq(lease_format_line(&l, line, sizeof line), -EINVAL);
}
END_TEST

START_TEST(lease_file_refused_whole) {
        char *dir = make_tmp_dir(), p[512];
        setenv("NSPAWNLITE_RUNTIME_DIR", dir, 1);
        snprintf(p, sizeof p, "%s/network", dir);
        ck_assert_int_eq(mkdir(p, 0755), 0);
        snprintf(p, sizeof p, "%s/network/leases", dir);
        static const char *const bad[] = {
                "web 10.213.0.2 ve-web -\nweb 10.213.0.3 ve-web2 -\n", /* a machine twice */
                "web 10.213.0.2 ve-web -\ngarbage\n",                  /* a malformed line */
                "web 10.213.0.2 ve-web -",                             /* no newline at the end */
        };
        Lease l;
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                FILE *f = fopen(p, "we");
                ck_assert_ptr_nonnull(f);
                fputs(bad[i], f);
                fclose(f);
                ck_assert_int_eq(lease_find("web", &l), -EBADMSG);
        }
        FILE *f = fopen(p, "we");
        fputs("web 10.213.0.2 ve-web -\n", f);
        fclose(f);
        ck_assert_int_eq(lease_find("web", &l), 0);
        ck_assert_str_eq(l.ifname, "ve-web");
        unsetenv("NSPAWNLITE_RUNTIME_DIR");
        rm_rf_tmp(dir);
}
END_TEST

/* Leases in a runtime dir of the test's own: a free address per live machine, the same one for a
 * name from boot to boot, distinct interface names, none past the subnet's end, and the lease of
 * a machine whose supervisor is gone (its lock free) taken back. */
START_TEST(lease_allocation) {
        char *dir = make_tmp_dir();
        setenv("NSPAWNLITE_RUNTIME_DIR", dir, 1);
        network_set_liveness(machine_lock_held); /* as the command line does */
        Ipv4Subnet net;
        ck_assert_int_eq(ipv4_subnet_parse("10.213.0.1/29", &net), 0);
        ck_assert_uint_eq(ipv4_subnet_guest_count(&net), 5); /* .2 to .6: .1 is the bridge */

        static const char *const names[] = { "a", "b", "c", "d", "e" };
        MachineLock locks[5];
        Lease l[5], again;
        for (size_t i = 0; i < 5; i++) {
                ck_assert_int_eq(machine_lock_acquire(names[i], &locks[i]), 0);
                ck_assert_int_eq(lease_acquire(names[i], "nspawnlite0", &net, &l[i]), 0);
                ck_assert(ipv4_subnet_contains(&net, l[i].address));
                ck_assert_uint_ne(l[i].address, net.address);
                ck_assert_str_eq(l[i].bridge, "nspawnlite0");
                for (size_t j = 0; j < i; j++) {
                        ck_assert_msg(l[i].address != l[j].address, "%s and %s share an address", names[i],
                                      names[j]);
                        ck_assert_str_ne(l[i].ifname, l[j].ifname);
                }
        }
        ck_assert_int_eq(lease_count_others("nspawnlite0", "a"), 4);
        ck_assert_int_eq(lease_count_others("-", "a"), 0);

        /* Exhausted: refused, and nothing written for it. */
        MachineLock fl;
        ck_assert_int_eq(machine_lock_acquire("f", &fl), 0);
        ck_assert_int_eq(lease_acquire("f", "nspawnlite0", &net, &again), -EADDRNOTAVAIL);
        ck_assert_int_eq(lease_find("f", &again), -ENOENT);

        /* Renewing keeps the address; so does a release and a new boot. */
        ck_assert_int_eq(lease_acquire("c", "nspawnlite0", &net, &again), 0);
        ck_assert_uint_eq(again.address, l[2].address);
        ck_assert_int_eq(lease_release("c"), 0);
        ck_assert_int_eq(lease_find("c", &again), -ENOENT);
        ck_assert_int_eq(lease_acquire("c", "nspawnlite0", &net, &again), 0);
        ck_assert_uint_eq(again.address, l[2].address);
        ck_assert_str_eq(again.ifname, l[2].ifname);

        /* b's supervisor is gone: its lease is f's to take. */
        machine_lock_release(&locks[1]);
        ck_assert_int_eq(lease_acquire("f", "nspawnlite0", &net, &again), 0);
        ck_assert_uint_eq(again.address, l[1].address);
        ck_assert_int_eq(lease_find("b", &again), -ENOENT);

        /* The address of a name comes from the name, not from who came first. */
        for (size_t i = 0; i < 5; i++)
                if (i != 1)
                        machine_lock_release(&locks[i]);
        machine_lock_release(&fl);
        ck_assert_int_eq(ipv4_subnet_parse(DEFAULT_BRIDGE_SUBNET, &net), 0);
        Lease alone, other;
        ck_assert_int_eq(lease_acquire("web", "-", &net, &alone), 0);
        ck_assert_int_eq(lease_release("web"), 0);
        ck_assert_int_eq(lease_acquire("db", "-", &net, &other), 0); /* reclaims every dead one */
        ck_assert_int_eq(lease_acquire("web", "-", &net, &again), 0);
        ck_assert_uint_eq(again.address, alone.address);
        ck_assert_uint_ne(other.address, alone.address);
        network_set_liveness(NULL);
        unsetenv("NSPAWNLITE_RUNTIME_DIR");
        rm_rf_tmp(dir);
}
END_TEST

/* The name lock and liveness: one holder at a time; a machine is alive only while its lock is held
 * and its leader is the very process it names (same pid and start time). */
START_TEST(lock_and_liveness) {
        char *dir = make_tmp_dir();
        setenv("NSPAWNLITE_RUNTIME_DIR", dir, 1);
        MachineLock l, l2;
        MachineInfo m = sample(), got;
        ck_assert_int_eq(machine_info_load("web", &got), -ENOENT);

        ck_assert_int_eq(machine_lock_acquire("web", &l), 0);
        ck_assert_int_eq(machine_lock_acquire("web", &l2), -EBUSY);
        ck_assert(machine_lock_held("web"));
        /* Locked, no state yet: starting. */
        ck_assert_int_eq(machine_info_load("web", &got), -EAGAIN);

        m.leader = getpid();
        ck_assert_int_eq(pid_starttime(m.leader, &m.leader_starttime), 0);
        ck_assert_int_eq(machine_state_write(&l, &m), 0);
        ck_assert_int_eq(machine_info_load("web", &got), 0);
        ck_assert_int_eq(got.leader, getpid());

        /* The leader's pid now names another process (reused): not alive. */
        m.leader_starttime++;
        ck_assert_int_eq(machine_state_write(&l, &m), 0);
        ck_assert_int_eq(machine_info_load("web", &got), -ESRCH);
        m.leader_starttime--;

        /* The supervisor dies without cleaning up (its lock goes with it): the files stay, the
         * machine is dead, and the name is free to take over. */
        ck_assert_int_eq(machine_state_write(&l, &m), 0);
        l.lock_fd = safe_close(l.lock_fd);
        ck_assert(!machine_lock_held("web"));
        ck_assert_int_eq(machine_info_load("web", &got), -ESRCH);
        ck_assert_int_eq(machine_lock_acquire("web", &l2), 0);
        machine_lock_release(&l2);
        free(l.dir);
        ck_assert_int_eq(machine_info_load("web", &got), -ENOENT);
        unsetenv("NSPAWNLITE_RUNTIME_DIR");
        rm_rf_tmp(dir);
}
END_TEST

START_TEST(ports_lines) {
        PortForward p = { .protocol = PORT_UDP, .host_port = 8080, .guest_port = 80 }, q;
        char line[32];
        ck_assert_int_gt(port_forward_format_line(&p, line, sizeof line), 0);
        ck_assert_str_eq(line, "udp:8080:80");
        ck_assert_int_eq(port_forward_parse_line(line, &q), 0);
        ck_assert(q.protocol == PORT_UDP && q.host_port == 8080 && q.guest_port == 80);
        static const char *const bad[] = { "8080", "tcp:8080", "tcp:08080:80", "tcp:8080:80\n", "tcp:8080:80 ",
                                           "sctp:1:1", "tcp:0:1", "" };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                ck_assert_msg(port_forward_parse_line(bad[i], &q) == -EINVAL, "'%s' accepted", bad[i]);
}
END_TEST

static char *json(const char *s) {
        char *out = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&out, &n);
        ck_assert_ptr_nonnull(f);
        json_print_string(f, s);
        fclose(f);
        return out;
}

START_TEST(json_strings_are_utf8) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "plain", "\"plain\"" },
                { "q\"b\\n\n\t\x01\x7f", "\"q\\\"b\\\\n\\n\\t\\u0001\\u007f\"" },
                { "/tmp/\xff\xfe", "\"/tmp/\\ufffd\\ufffd\"" },
                { "é€😀", "\"é€😀\"" },                           /* valid UTF-8 passes as it is */
                { "\xc3", "\"\\ufffd\"" },                        /* cut at the end */
                { "\xc3(", "\"\\ufffd(\"" },                      /* bad continuation */
                { "\xc0\xaf", "\"\\ufffd\\ufffd\"" },             /* overlong '/' */
                { "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },  /* a surrogate */
                { "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" }, /* past U+10FFFF */
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char *o = json(cases[i].in);
                ck_assert_str_eq(o, cases[i].out);
                free(o);
        }
}
END_TEST

Suite *suite_registry(void) {
        Suite *s = suite_create("registry");
        TCase *t = tcase_create("files");
        tcase_add_test(t, state_round_trip_escapes);
        tcase_add_test(t, state_every_field_at_its_longest);
        tcase_add_test(t, state_escape_helpers);
        tcase_add_test(t, state_parser_is_strict);
        tcase_add_test(t, state_table_covers_the_struct);
        tcase_add_test(t, state_unit_keys_only_on_systemd_hosts);
        tcase_add_test(t, lease_lines);
        tcase_add_test(t, lease_file_refused_whole);
        tcase_add_test(t, lease_allocation);
        tcase_add_test(t, lock_and_liveness);
        tcase_add_test(t, ports_lines);
        tcase_add_test(t, json_strings_are_utf8);
        suite_add_tcase(s, t);
        return s;
}
