/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* create: the host's mirror from apt sources, package names, the bootstrap command line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "machines/images/create.h"
#include "nspawnlite/basic/strv.h"
#include "tests/unit/unit.h"

static void check_mirror(const char *text, bool deb822, int want, const char *uri) {
        char *m = NULL;
        ck_assert_int_eq(apt_sources_mirror(text, deb822, &m), want);
        if (uri)
                ck_assert_str_eq(m, uri);
        free(m);
}

START_TEST(test_mirror_one_line) {
        check_mirror("# deb http://nope/ x main\n"
                     "deb http://security.debian.org/debian-security bookworm-security main\n"
                     "deb [arch=amd64 signed-by=/k.gpg] http://ftp.de.debian.org/debian bookworm main\n",
                     false, 0, "http://ftp.de.debian.org/debian");
        check_mirror("deb-src http://deb.debian.org/debian bookworm main\n", false, -ENOENT, NULL);
        check_mirror("", false, -ENOENT, NULL);
}
END_TEST

START_TEST(test_mirror_deb822) {
        /* the host's own layout: security stanza second, a comment line inside */
        check_mirror("Types: deb\n# http://snapshot.debian.org/\nURIs: http://deb.debian.org/debian\n"
                     "Suites: bookworm bookworm-updates\nComponents: main\n\n"
                     "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n",
                     true, 0, "http://deb.debian.org/debian");
        check_mirror("Types: deb-src\nURIs: http://a/debian\n\nTypes: deb-src deb\nURIs: http://b/debian\n",
                     true, 0, "http://b/debian");
        check_mirror("Types: deb\nURIs: http://security.debian.org/debian-security\n", true, -ENOENT, NULL);
        /* the last stanza without a newline at the end */
        check_mirror("Types: deb\nURIs: http://c/debian", true, 0, "http://c/debian");
        check_mirror("Types: deb\nURIs: http://c/debian\nSuites: sid", true, 0, "http://c/debian");
}
END_TEST

START_TEST(test_apt_options) {
        char **o = NULL;
        ck_assert_int_eq(apt_config_options("APT::Architecture \"amd64\";\n"
                                            "Acquire::Check-Valid-Until \"false\";\n"
                                            "Acquire::http::Proxy \"http://p:3128/\";\n"
                                            "Acquire::Check-Date \"x\"; evil \"y\";\n"
                                            "Acquire::Check-Valid-Until::x \"1\";\n",
                                            &o),
                         0);
        ck_assert_int_eq(strv_length(o), 2);
        ck_assert_str_eq(o[0], "Acquire::Check-Valid-Until \"false\"");
        ck_assert_str_eq(o[1], "Acquire::http::Proxy \"http://p:3128/\"");
        strv_free(o);
        o = NULL;
        ck_assert_int_eq(apt_config_options("", &o), 0);
        ck_assert_ptr_null(o);

        char *opts[] = { "Acquire::Check-Date \"false\"", NULL };
        CreateSpec s = { .recipe = create_recipe_find("debian", NULL),
                         .release = "sid",
                         .mirror = "http://m/d",
                         .apt_options = opts };
        char **argv = create_bootstrap_argv(&s, "/t");
        int n = strv_length(argv);
        ck_assert_str_eq(argv[n - 4], "--aptopt=Acquire::Check-Date \"false\"");
        ck_assert_str_eq(argv[n - 3], "sid");
        strv_free(argv);
}
END_TEST

START_TEST(test_package_names) {
        ck_assert(create_package_name_is_valid("libpam-systemd"));
        ck_assert(create_package_name_is_valid("g++"));
        ck_assert(create_package_name_is_valid("0ad"));
        ck_assert(!create_package_name_is_valid("a"));
        ck_assert(!create_package_name_is_valid("-x"));
        ck_assert(!create_package_name_is_valid("Vim"));
        ck_assert(!create_package_name_is_valid("a b"));
        ck_assert(!create_package_name_is_valid("--include=x"));
}
END_TEST

START_TEST(test_recipes_and_argv) {
        ck_assert_ptr_null(create_recipe_find("fedora", NULL));
        ck_assert_ptr_null(create_recipe_find("debian", "runit"));
        const CreateRecipe *rc = create_recipe_find("debian", NULL);
        ck_assert_str_eq(rc->init, "systemd");
        ck_assert(create_release_is_known("trixie"));
        ck_assert(!create_release_is_known("buster"));

        char *extra[] = { "less", NULL };
        CreateSpec s = { .recipe = rc, .release = "trixie", .mirror = "http://m/debian", .packages = extra };
        char **argv = create_bootstrap_argv(&s, "/store/.#x.123");
        ck_assert_str_eq(argv[0], "mmdebstrap");
        ck_assert_str_eq(argv[1], "--variant=minbase");
        ck_assert_ptr_nonnull(strstr(argv[2], ",login,"));
        ck_assert_ptr_nonnull(strstr(argv[2], ",less"));
        int n = strv_length(argv);
        ck_assert_str_eq(argv[n - 3], "trixie");
        ck_assert_str_eq(argv[n - 2], "/store/.#x.123");
        ck_assert_str_eq(argv[n - 1], "http://m/debian");
        strv_free(argv);

        s.debootstrap = true;
        argv = create_bootstrap_argv(&s, "/t");
        ck_assert_str_eq(argv[0], "debootstrap");
        strv_free(argv);
        /* busybox is mmdebstrap's "extract": debootstrap has none */
        s.recipe = create_recipe_find("busybox", NULL);
        ck_assert_ptr_null(create_bootstrap_argv(&s, "/t"));
}
END_TEST

Suite *suite_create_guest(void) {
        Suite *s = suite_create("create");
        TCase *tc = tcase_create("create");
        tcase_add_test(tc, test_mirror_one_line);
        tcase_add_test(tc, test_mirror_deb822);
        tcase_add_test(tc, test_package_names);
        tcase_add_test(tc, test_apt_options);
        tcase_add_test(tc, test_recipes_and_argv);
        suite_add_tcase(s, tc);
        return s;
}
