/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the limit errors say (which limit, which value, why), and the /proc/net parser behind the
 * warning about a --port the host serves already. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "machines/cgroup-limits.h"
#include "machines/systemd-scope.h"
#include "network/listeners.h"
#include "tests/unit/unit.h"

START_TEST(parse_errors) {
        char why[256];
        uint64_t v;
        ck_assert_int_eq(limit_parse_value(LIMIT_MEMORY_MAX, "1", &v), -ERANGE);
        limit_explain_parse_error(LIMIT_MEMORY_MAX, "1", why, sizeof why);
        ck_assert_str_eq(why, "below the minimum of 4096 bytes (one page, the least the kernel takes)");
        limit_explain_parse_error(LIMIT_MEMORY_MAX, "12X", why, sizeof why);
        ck_assert_str_eq(why, "use bytes with K, M, G or T, or infinity");
        /* The floor an init needs: 15 is refused, 16 taken. */
        ck_assert_int_eq(limit_parse_value(LIMIT_PIDS_MAX, "15", &v), -ERANGE);
        ck_assert_int_eq(limit_parse_value(LIMIT_PIDS_MAX, "16", &v), 0);
        limit_explain_parse_error(LIMIT_PIDS_MAX, "1", why, sizeof why);
        ck_assert_ptr_nonnull(strstr(why, "below the minimum of 16 (fewer tasks than a guest's init needs"));
        limit_explain_parse_error(LIMIT_CPU_WEIGHT, "10001", why, sizeof why);
        ck_assert_str_eq(why, "out of range: use 1 to 10000");
        limit_explain_parse_error(LIMIT_CPU_WEIGHT, "infinity", why, sizeof why);
        ck_assert_str_eq(why, "use a weight from 1 to 10000");
        limit_explain_parse_error(LIMIT_CPU_QUOTA, "0%", why, sizeof why);
        ck_assert_str_eq(why, "out of range: use 1% to 100000%, or infinity");

        ck_assert_int_eq(limit_check_assignment("pids-max=20", why, sizeof why), 0);
        ck_assert_int_eq(limit_check_assignment("pids-max=2", why, sizeof why), -EINVAL);
        ck_assert_ptr_nonnull(strstr(why, "below the minimum of 16"));
        ck_assert_int_eq(limit_check_assignment("nope=2", why, sizeof why), -EINVAL);
        ck_assert_ptr_nonnull(strstr(why, "use memory-max=BYTES"));
}
END_TEST

START_TEST(refusals) {
        char why[256], v[32];
        limit_explain_refusal(LIMIT_MEMORY_MAX, -EBUSY, false, 929792, why, sizeof why);
        ck_assert_str_eq(why, "below the memory the machine uses already (908.0K, 929792 bytes)");
        limit_explain_refusal(LIMIT_IO_WEIGHT, -EOPNOTSUPP, false, UINT64_MAX, why, sizeof why);
        ck_assert_str_eq(
                why, "this host's cgroup v1 blkio controller does not offer blkio.weight (only the BFQ I/O "
                     "scheduler provides it); leave io-weight out");
        limit_explain_refusal(LIMIT_IO_WEIGHT, -EOPNOTSUPP, true, UINT64_MAX, why, sizeof why);
        ck_assert_str_eq(why, "this host's cgroup2 does not offer io.weight (its io controller is off here)");
        limit_explain_refusal(LIMIT_PIDS_MAX, -EINVAL, true, UINT64_MAX, why, sizeof why);
        ck_assert_str_eq(why, "the kernel refused it (Invalid argument)");
        limit_format_value(LIMIT_CPU_QUOTA, 50, v, sizeof v);
        ck_assert_str_eq(v, "50%");
        limit_format_value(LIMIT_MEMORY_MAX, LIMIT_INFINITY, v, sizeof v);
        ck_assert_str_eq(v, "infinity");
        /* What undoes a limit: a fresh cgroup's value, which each key accepts. */
        for (int k = 0; k < _LIMIT_MAX; k++) {
                const LimitInfo *i = limit_info((LimitKey) k);
                ck_assert(i->fresh == LIMIT_INFINITY ? i->allow_infinity
                                                     : i->fresh >= i->min && i->fresh <= i->max);
        }
}
END_TEST

static const char proc_net_tcp[] =
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0 "
        "100 0 0 10 0\n"
        "   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2222 1 0 "
        "100 0 0 10 0\n"
        "   2: 0100007F:4E20 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3333 1 0 "
        "20 4 30 10 -1\n";
static const char proc_net_udp[] = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
                                   "retrnsmt   uid  timeout inode ref pointer drops\n"
                                   "  5: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 "
                                   "00000000     0        0 4444 2 0 0\n"
                                   "  6: 0100007F:1F91 0100007F:0035 01 00000000:00000000 00:00000000 "
                                   "00000000     0        0 5555 2 0 0\n";

START_TEST(proc_net) {
        uint64_t inode = 0;
        char addr[64];
        ck_assert_int_eq(proc_net_find_port(proc_net_tcp, 8080, true, &inode, addr, sizeof addr), 1);
        ck_assert_uint_eq(inode, 2222);
        ck_assert_str_eq(addr, "00000000");
        ck_assert_int_eq(proc_net_find_port(proc_net_tcp, 631, true, &inode, NULL, 0), 1);
        ck_assert_uint_eq(inode, 1111);
        /* An established connection's local port is no listener. */
        ck_assert_int_eq(proc_net_find_port(proc_net_tcp, 20000, true, &inode, NULL, 0), 0);
        ck_assert_int_eq(proc_net_find_port(proc_net_tcp, 53, true, &inode, NULL, 0), 0);
        ck_assert_int_eq(proc_net_find_port(proc_net_udp, 53, false, &inode, NULL, 0), 1);
        ck_assert_uint_eq(inode, 4444);
        /* A connected UDP socket serves nobody else's datagrams. */
        ck_assert_int_eq(proc_net_find_port(proc_net_udp, 8081, false, &inode, NULL, 0), 0);
        ck_assert_int_eq(proc_net_find_port("", 53, false, &inode, NULL, 0), 0);
        ck_assert_int_eq(proc_net_find_port("header only", 53, false, &inode, NULL, 0), 0);
}
END_TEST

/* On systemd hosts each limit is a unit property: one for every key, in systemd's units. */
START_TEST(unit_properties) {
        for (int k = 0; k < _LIMIT_MAX; k++)
                ck_assert_ptr_nonnull(limit_unit_property((LimitKey) k));
        ck_assert_str_eq(limit_unit_property(LIMIT_MEMORY_MAX), "MemoryMax");
        ck_assert_uint_eq(limit_unit_value(LIMIT_MEMORY_MAX, 64 << 20), 67108864);
        ck_assert_str_eq(limit_unit_property(LIMIT_CPU_QUOTA), "CPUQuotaPerSecUSec");
        ck_assert_uint_eq(limit_unit_value(LIMIT_CPU_QUOTA, 50), 500000); /* 50% of a CPU: 0.5 s a second */
        ck_assert_uint_eq(limit_unit_value(LIMIT_CPU_QUOTA, LIMIT_INFINITY), UINT64_MAX);
        ck_assert_str_eq(limit_unit_property(LIMIT_PIDS_MAX), "TasksMax");
        ck_assert_uint_eq(limit_unit_value(LIMIT_PIDS_MAX, LIMIT_INFINITY), UINT64_MAX);
        ck_assert_str_eq(limit_unit_property(LIMIT_CPU_WEIGHT), "CPUWeight");
        ck_assert_str_eq(limit_unit_property(LIMIT_IO_WEIGHT), "IOWeight");
        ck_assert_ptr_null(limit_unit_property(_LIMIT_MAX));
}
END_TEST

Suite *suite_limits(void) {
        Suite *s = suite_create("limits");
        TCase *t = tcase_create("core");
        tcase_add_test(t, parse_errors);
        tcase_add_test(t, refusals);
        tcase_add_test(t, proc_net);
        tcase_add_test(t, unit_properties);
        suite_add_tcase(s, t);
        return s;
}
