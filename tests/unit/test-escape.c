/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/console.h"
#include "tests/unit/unit.h"

#define ESC "\x1d"

/* The one escape scanner of the console relay and the console verb. */
START_TEST(test_three_within_a_second) {
        EscapeScanner e = {};
        ck_assert(escape_scan(&e, ESC ESC ESC, 3, 1000));
        e = (EscapeScanner){};
        /* Split over reads, still within the second. */
        ck_assert(!escape_scan(&e, "ab" ESC, 3, 1000));
        ck_assert(!escape_scan(&e, ESC, 1, 1000 + USEC_PER_SEC / 2));
        ck_assert(escape_scan(&e, ESC "x", 2, 1000 + USEC_PER_SEC));
}
END_TEST

START_TEST(test_other_input_resets) {
        EscapeScanner e = {};
        ck_assert(!escape_scan(&e, ESC ESC "x" ESC, 4, 1000));
        ck_assert(!escape_scan(&e, ESC "y", 2, 1000));
        /* Counting starts again after the y; empty reads change nothing. */
        ck_assert(!escape_scan(&e, ESC, 1, 1000));
        ck_assert(!escape_scan(&e, "", 0, 1000));
        ck_assert(!escape_scan(&e, ESC, 1, 1000));
        ck_assert(escape_scan(&e, ESC, 1, 1000));
}
END_TEST

START_TEST(test_slower_than_a_second) {
        EscapeScanner e = {};
        ck_assert(!escape_scan(&e, ESC ESC, 2, 1000));
        /* The third comes too late: it starts a new count. */
        ck_assert(!escape_scan(&e, ESC, 1, 1000 + USEC_PER_SEC + 1));
        ck_assert(!escape_scan(&e, ESC, 1, 1000 + USEC_PER_SEC + 2));
        ck_assert(escape_scan(&e, ESC, 1, 1000 + USEC_PER_SEC + 3));
}
END_TEST

Suite *suite_escape(void) {
        Suite *s = suite_create("escape");
        TCase *tc = tcase_create("scan");
        tcase_add_test(tc, test_three_within_a_second);
        tcase_add_test(tc, test_other_input_resets);
        tcase_add_test(tc, test_slower_than_a_second);
        suite_add_tcase(s, tc);
        return s;
}
