/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "machines/control.h"
#include "nspawnlite/supervisor.h"
#include "tests/unit/unit.h"

/* Every request of the table reaches a handler in the supervisor: a row without one would be a
 * request the verbs can send and the supervisor refuses. */
START_TEST(test_every_request_has_a_handler) {
        for (ControlRequestId id = 0; id < _CONTROL_REQUEST_MAX; id++) {
                const ControlRequestInfo *info = control_request_info(id);
                ck_assert_ptr_nonnull(info);
                ck_assert_ptr_nonnull(info->name);
                ck_assert_msg(supervisor_handles_request(id), "no handler for '%s'", info->name);
                ck_assert_uint_le(info->min_args, info->max_args);
                for (ControlRequestId j = 0; j < id; j++)
                        ck_assert_str_ne(control_request_info(j)->name, info->name);
        }
        ck_assert_ptr_null(control_request_info(_CONTROL_REQUEST_MAX));
        ck_assert(!supervisor_handles_request(_CONTROL_REQUEST_MAX));
}
END_TEST

/* What the verbs format, the supervisor parses back to the same request and arguments. */
START_TEST(test_format_parse_round_trip) {
        char *const timeout[] = { "1500ms", NULL };
        char *const sig[] = { "9", NULL };
        char *const limits[] = { "memory-max=64M", "pids-max=100", NULL };
        const struct {
                ControlRequestId id;
                char *const *args;
                const char *text, *args_text;
        } cases[] = {
                { CONTROL_POWEROFF, NULL, "poweroff", NULL },
                { CONTROL_POWEROFF, timeout, "poweroff 1500ms", "1500ms" },
                { CONTROL_TERMINATE, NULL, "terminate", NULL },
                { CONTROL_KILL, sig, "kill 9", "9" },
                { CONTROL_SET_LIMIT, limits, "set-limit memory-max=64M pids-max=100",
                  "memory-max=64M pids-max=100" },
                { CONTROL_LEADER, NULL, "leader", NULL },
                { CONTROL_CONSOLE, NULL, "console", NULL },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char buf[CONTROL_MESSAGE_MAX + 1];
                ck_assert_int_eq(control_request_format(cases[i].id, cases[i].args, buf, sizeof buf), 0);
                ck_assert_str_eq(buf, cases[i].text);
                ControlRequestId id;
                char *args = (char *) "unset";
                ck_assert_int_eq(control_request_parse(buf, &id, &args), 0);
                ck_assert_int_eq(id, cases[i].id);
                if (cases[i].args_text)
                        ck_assert_str_eq(args, cases[i].args_text);
                else
                        ck_assert_ptr_null(args);
        }
        /* Every name of the table parses to its own row. */
        for (ControlRequestId id = 0; id < _CONTROL_REQUEST_MAX; id++) {
                char buf[CONTROL_MESSAGE_MAX + 1];
                snprintf(buf, sizeof buf, "%s%s", control_request_info(id)->name,
                         control_request_info(id)->min_args > 0 ? " x" : "");
                ControlRequestId got;
                char *args;
                ck_assert_int_eq(control_request_parse(buf, &got, &args), 0);
                ck_assert_int_eq(got, id);
        }
}
END_TEST

START_TEST(test_bad_requests) {
        char buf[CONTROL_MESSAGE_MAX + 1];
        char *const none[] = { NULL };
        char *const one[] = { "x", NULL };
        char *const two[] = { "x", "y", NULL };
        char *const spaced[] = { "a b", NULL };
        char *const empty[] = { "", NULL };
        /* Argument counts outside the table's, on both sides. */
        ck_assert_int_eq(control_request_format(CONTROL_KILL, none, buf, sizeof buf), -EINVAL);
        ck_assert_int_eq(control_request_format(CONTROL_KILL, two, buf, sizeof buf), -EINVAL);
        ck_assert_int_eq(control_request_format(CONTROL_FREEZE, one, buf, sizeof buf), -EINVAL);
        ck_assert_int_eq(control_request_format(CONTROL_SET_LIMIT, NULL, buf, sizeof buf), -EINVAL);
        ck_assert_int_eq(control_request_format(CONTROL_KILL, spaced, buf, sizeof buf), -EINVAL);
        ck_assert_int_eq(control_request_format(CONTROL_KILL, empty, buf, sizeof buf), -EINVAL);
        ck_assert_int_eq(control_request_format(_CONTROL_REQUEST_MAX, NULL, buf, sizeof buf), -EINVAL);
        char small[8];
        ck_assert_int_eq(control_request_format(CONTROL_KILL, one, small, 6), -EMSGSIZE);

        ControlRequestId id;
        char *args;
        char req[64];
        strcpy(req, "kill");
        ck_assert_int_eq(control_request_parse(req, &id, &args), -EINVAL);
        strcpy(req, "kill 9 9");
        ck_assert_int_eq(control_request_parse(req, &id, &args), -EINVAL);
        strcpy(req, "freeze now");
        ck_assert_int_eq(control_request_parse(req, &id, &args), -EINVAL);
        strcpy(req, "set-limit");
        ck_assert_int_eq(control_request_parse(req, &id, &args), -EINVAL);
        strcpy(req, "explode");
        ck_assert_int_eq(control_request_parse(req, &id, &args), -EOPNOTSUPP);
        ck_assert_str_eq(req, "explode");
        strcpy(req, "");
        ck_assert_int_eq(control_request_parse(req, &id, &args), -EOPNOTSUPP);
}
END_TEST

Suite *suite_control(void) {
        Suite *s = suite_create("control");
        TCase *tc = tcase_create("requests");
        tcase_add_test(tc, test_every_request_has_a_handler);
        tcase_add_test(tc, test_format_parse_round_trip);
        tcase_add_test(tc, test_bad_requests);
        suite_add_tcase(s, tc);
        return s;
}
