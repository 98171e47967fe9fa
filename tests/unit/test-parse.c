/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "nspawnlite/basic/name.h"
#include "nspawnlite/basic/parse-util.h"
#include "tests/unit/unit.h"

START_TEST(signals) {
        int s;
        ck_assert_int_eq(parse_signal("SIGTERM", &s), 0);
        ck_assert_int_eq(s, SIGTERM);
        ck_assert_int_eq(parse_signal("term", &s), 0);
        ck_assert_int_eq(s, SIGTERM);
        ck_assert_int_eq(parse_signal("9", &s), 0);
        ck_assert_int_eq(s, SIGKILL);
        ck_assert_int_eq(parse_signal("SIGRTMIN+4", &s), 0);
        ck_assert_int_eq(s, SIGRTMIN + 4);
        ck_assert_int_eq(parse_signal("RTMIN", &s), 0);
        ck_assert_int_eq(s, SIGRTMIN);
        ck_assert_int_eq(parse_signal("RTMAX-1", &s), 0);
        ck_assert_int_eq(s, SIGRTMAX - 1);
        ck_assert_int_lt(parse_signal("", &s), 0);
        ck_assert_int_lt(parse_signal("NOPE", &s), 0);
        ck_assert_int_lt(parse_signal("0", &s), 0);
        ck_assert_int_lt(parse_signal("65", &s), 0);
        ck_assert_int_lt(parse_signal("SIGRTMIN+99", &s), 0);
        ck_assert_int_lt(parse_signal("SIGRTMIN+", &s), 0);
        ck_assert_int_lt(parse_signal("+5", &s), 0);
        ck_assert_str_eq(signal_to_string(SIGUSR2), "SIGUSR2");
        ck_assert_str_eq(signal_to_string(SIGRTMIN + 4), "SIGRTMIN+4");
}
END_TEST

START_TEST(seconds) {
        usec_t u;
        ck_assert_int_eq(parse_sec("30", &u), 0);
        ck_assert_uint_eq(u, 30 * USEC_PER_SEC);
        ck_assert_int_eq(parse_sec("500ms", &u), 0);
        ck_assert_uint_eq(u, 500 * USEC_PER_MSEC);
        ck_assert_int_eq(parse_sec("2min", &u), 0);
        ck_assert_uint_eq(u, 120 * USEC_PER_SEC);
        ck_assert_int_eq(parse_sec("1.5s", &u), 0);
        ck_assert_uint_eq(u, 1500 * USEC_PER_MSEC);
        ck_assert_int_eq(parse_sec("infinity", &u), 0);
        ck_assert_uint_eq(u, USEC_INFINITY);
        ck_assert_int_lt(parse_sec("abc", &u), 0);
        ck_assert_int_lt(parse_sec("-1", &u), 0);
        ck_assert_int_lt(parse_sec("5 s", &u), 0);
        ck_assert_int_lt(parse_sec("", &u), 0);
        ck_assert_int_lt(parse_sec("1.", &u), 0);
        ck_assert_int_lt(parse_sec("99999999999999999999", &u), 0);
}
END_TEST

START_TEST(sizes) {
        uint64_t v;
        ck_assert_int_eq(parse_size("512M", &v), 0);
        ck_assert_uint_eq(v, 512ULL << 20);
        ck_assert_int_eq(parse_size("1G", &v), 0);
        ck_assert_uint_eq(v, 1ULL << 30);
        ck_assert_int_eq(parse_size("65536", &v), 0);
        ck_assert_uint_eq(v, 65536);
        ck_assert_int_eq(parse_size("infinity", &v), 0);
        ck_assert_uint_eq(v, UINT64_MAX);
        ck_assert_int_lt(parse_size("abc", &v), 0);
        ck_assert_int_lt(parse_size("-5M", &v), 0);
        ck_assert_int_lt(parse_size("5X", &v), 0);
        ck_assert_int_lt(parse_size("99999999999T", &v), 0);
}
END_TEST

START_TEST(booleans) {
        ck_assert_int_eq(parse_boolean("yes"), 1);
        ck_assert_int_eq(parse_boolean("On"), 1);
        ck_assert_int_eq(parse_boolean("0"), 0);
        ck_assert_int_eq(parse_boolean("false"), 0);
        ck_assert_int_lt(parse_boolean("maybe"), 0);
}
END_TEST

START_TEST(ranges) {
        uint64_t v;
        ck_assert_int_eq(parse_uint64_range("10", 1, 100, &v), 0);
        ck_assert_uint_eq(v, 10);
        ck_assert_int_eq(parse_uint64_range("0", 1, 100, &v), -ERANGE);
        ck_assert_int_eq(parse_uint64_range("101", 1, 100, &v), -ERANGE);
        ck_assert_int_eq(parse_uint64_range("1x", 1, 100, &v), -EINVAL);
}
END_TEST

Suite *suite_parse(void) {
        Suite *s = suite_create("parse");
        TCase *t = tcase_create("values");
        tcase_add_test(t, signals);
        tcase_add_test(t, seconds);
        tcase_add_test(t, sizes);
        tcase_add_test(t, booleans);
        tcase_add_test(t, ranges);
        suite_add_tcase(s, t);
        return s;
}

START_TEST(machine_names) {
        static const char *const good[] = { "a", "debian", "Deb-12_x.y", "0abc",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 64 */ };
        static const char *const bad[] = { "", ".", "..", "../x", "a/b", "-x", ".hidden", "_x", "a b",
                "a\nb", "a:b", "é", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 65 */ };
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
                ck_assert_msg(machine_name_is_valid(good[i]), "%s should be valid", good[i]);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                ck_assert_msg(!machine_name_is_valid(bad[i]), "%s should be invalid", bad[i]);
        ck_assert(!machine_name_is_valid(NULL));
}
END_TEST

START_TEST(hostnames) {
        ck_assert(hostname_is_valid("foo"));
        ck_assert(hostname_is_valid("foo.example-1.org"));
        ck_assert(!hostname_is_valid(""));
        ck_assert(!hostname_is_valid(".foo"));
        ck_assert(!hostname_is_valid("foo."));
        ck_assert(!hostname_is_valid("foo..bar"));
        ck_assert(!hostname_is_valid("-foo"));
        ck_assert(!hostname_is_valid("foo bar"));
        ck_assert(!hostname_is_valid("a/b"));
}
END_TEST

Suite *suite_name(void) {
        Suite *s = suite_create("name");
        TCase *t = tcase_create("validation");
        tcase_add_test(t, machine_names);
        tcase_add_test(t, hostnames);
        suite_add_tcase(s, t);
        return s;
}
