/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "nspawnlite/environ.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/strv.h"
#include "tests/unit/unit.h"

static const char *get(char **envp, const char *key) {
        size_t n = strlen(key);
        for (; envp && *envp; envp++)
                if (strncmp(*envp, key, n) == 0 && (*envp)[n] == '=')
                        return *envp + n + 1;
        return NULL;
}

START_TEST(defaults) {
        setenv("NSPAWNLITE_UNIT_SECRET", "1", 1);
        char **envp = NULL;
        GuestEnvironment e = { .uuid = "0b0c-uuid", .init_kind = INIT_SYSTEMD };
        ck_assert_int_eq(guest_environment_build(&e, &envp), 0);
        ck_assert_str_eq(get(envp, "container"), "nspawnlite");
        ck_assert_str_eq(get(envp, "container_uuid"), "0b0c-uuid");
        ck_assert_str_eq(get(envp, "NOTIFY_SOCKET"), "/run/host/notify");
        ck_assert_str_eq(get(envp, "TERM"), "vt220");
        ck_assert_str_eq(get(envp, "HOME"), "/root");
        ck_assert_str_eq(get(envp, "USER"), "root");
        ck_assert_str_eq(get(envp, "LOGNAME"), "root");
        ck_assert_ptr_nonnull(get(envp, "PATH"));
        ck_assert_ptr_null(get(envp, "NSPAWNLITE_UNIT_SECRET"));
        ck_assert_ptr_null(get(envp, "container_ttys"));
        strv_free(envp);
}
END_TEST

START_TEST(overrides) {
        char *setenv_list[] = { "container=lxc", "FOO=bar", "TERM=xterm", NULL };
        char **envp = NULL;
        GuestEnvironment e = { .init_kind = INIT_SYSVINIT, .term = "screen", .ttys = "pts/1 pts/2",
                               .setenv = setenv_list };
        ck_assert_int_eq(guest_environment_build(&e, &envp), 0);
        ck_assert_str_eq(get(envp, "container"), "lxc");
        ck_assert_str_eq(get(envp, "FOO"), "bar");
        ck_assert_str_eq(get(envp, "TERM"), "xterm");
        ck_assert_str_eq(get(envp, "container_ttys"), "pts/1 pts/2");
        int n = 0;
        for (char **p = envp; *p; p++)
                n += strncmp(*p, "container=", 10) == 0;
        ck_assert_int_eq(n, 1);
        strv_free(envp);
}
END_TEST

START_TEST(openrc_value) {
        ck_assert_str_eq(guest_container_value(INIT_OPENRC), "systemd-nspawn");
        ck_assert_str_eq(guest_container_value(INIT_SYSTEMD), "nspawnlite");
}
END_TEST

Suite *suite_environ(void) {
        Suite *s = suite_create("environ");
        TCase *t = tcase_create("pid1");
        tcase_add_test(t, defaults);
        tcase_add_test(t, overrides);
        tcase_add_test(t, openrc_value);
        suite_add_tcase(s, t);
        return s;
}
