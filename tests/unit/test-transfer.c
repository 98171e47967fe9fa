/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pure parts of the transfer verbs: compression and image names from file names, the tar entry
 * name check, URLs, SHA256SUMS lookup, --verify= and the download bounds from the environment. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "machines/images/archive.h"
#include "machines/images/pull.h"
#include "tests/unit/unit.h"

START_TEST(test_compression_from_path) {
        ck_assert_int_eq(archive_compression_from_path("a.tar"), COMPRESSION_NONE);
        ck_assert_int_eq(archive_compression_from_path("a.tar.gz"), COMPRESSION_GZIP);
        ck_assert_int_eq(archive_compression_from_path("/x/a.tgz"), COMPRESSION_GZIP);
        ck_assert_int_eq(archive_compression_from_path("a.tar.xz"), COMPRESSION_XZ);
        ck_assert_int_eq(archive_compression_from_path("a.raw.zst"), COMPRESSION_ZSTD);
        ck_assert_int_eq(archive_compression_from_path(".gz"), COMPRESSION_NONE);
        ck_assert_int_eq(archive_compression_from_path("a.gz.tar"), COMPRESSION_NONE);
}
END_TEST

START_TEST(test_entry_name_check) {
        static const char *const good[] = { ".",   "./",  "./etc/passwd", "etc", "a/b/c",
                                            "..a", "a..", "a/...",        "a//b" };
        static const char *const bad[] = { "",       "/",    "/etc/passwd", "..",     "../x",
                                           "a/../b", "a/..", "./..",        "a//../b" };
        for (size_t i = 0; i < sizeof good / sizeof *good; i++)
                ck_assert_msg(archive_entry_name_check(good[i]) == 0, "refused %s", good[i]);
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
                ck_assert_msg(archive_entry_name_check(bad[i]) == -EPERM, "accepted %s", bad[i]);
        ck_assert_int_eq(archive_entry_name_check(NULL), -EPERM);
}
END_TEST

static void name_is(const char *path, const char *want) {
        char *s = NULL;
        int r = archive_image_name_from_path(path, &s);
        if (!want) {
                ck_assert_msg(r == -EINVAL, "%s gave a name", path);
                return;
        }
        ck_assert_msg(r == 0, "%s gave no name", path);
        ck_assert_str_eq(s, want);
        free(s);
}

START_TEST(test_image_name_from_path) {
        name_is("debian.tar.xz", "debian");
        name_is("/srv/images/fedora-40.raw.zst", "fedora-40");
        name_is("http://h/dir/guest.img.gz?x=1#y", "guest");
        name_is("a.tar.tar", "a");
        name_is("disk.raw", "disk");
        name_is("plain", "plain");
        name_is("v1.2.tgz", "v1.2");
        name_is(".tar", NULL);
        name_is("-", NULL);
        name_is("bad name.tar", NULL);
        name_is("dir/", "dir");
}
END_TEST

START_TEST(test_urls) {
        ck_assert_int_eq(pull_url_check("http://h/f.tar"), 0);
        ck_assert_int_eq(pull_url_check("https://h:8080/a/b/f.tar?x"), 0);
        ck_assert_int_eq(pull_url_check("file:///etc/passwd"), -EINVAL);
        ck_assert_int_eq(pull_url_check("ftp://h/f"), -EINVAL);
        ck_assert_int_eq(pull_url_check("http://h/"), -EINVAL);
        ck_assert_int_eq(pull_url_check("http://h"), -EINVAL);
        ck_assert_int_eq(pull_url_check("http:///f"), -EINVAL);
        ck_assert_int_eq(pull_url_check("http://h/a b"), -EINVAL);

        char *s;
        ck_assert_int_eq(pull_url_sibling("http://h/a/b/f.tar.gz?token=1", "SHA256SUMS", &s), 0);
        ck_assert_str_eq(s, "http://h/a/b/SHA256SUMS");
        free(s);
        ck_assert_int_eq(pull_url_sibling("https://h/f.raw", "SHA256SUMS.gpg", &s), 0);
        ck_assert_str_eq(s, "https://h/SHA256SUMS.gpg");
        free(s);
        ck_assert_int_eq(pull_url_file_name("http://h/a/f.tar.gz?x#y", &s), 0);
        ck_assert_str_eq(s, "f.tar.gz");
        free(s);
        ck_assert_int_eq(pull_url_file_name("http://h/a/", &s), -EINVAL);

        /* Credentials in a URL never reach a message. */
        ck_assert_int_eq(pull_url_redact("http://user:s3cret@h:8080/a/f.tar?x@y", &s), 0);
        ck_assert_str_eq(s, "http://***@h:8080/a/f.tar?x@y");
        free(s);
        ck_assert_int_eq(pull_url_redact("https://a@b:pw@h/f.raw", &s), 0);
        ck_assert_str_eq(s, "https://***@h/f.raw");
        free(s);
        ck_assert_int_eq(pull_url_redact("ftp://u:p@h", &s), 0);
        ck_assert_str_eq(s, "ftp://***@h");
        free(s);
        ck_assert_int_eq(pull_url_redact("http://h/a@b/f.tar", &s), 0);
        ck_assert_str_eq(s, "http://h/a@b/f.tar");
        free(s);
}
END_TEST

#define H1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H2 "FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210"

START_TEST(test_sums_find) {
        const char *sums = H1 "  other.tar\r\n" H2 " *image.raw.xz\n" H1 "  ./dot.tar\n"
                              "zz" H1 "  broken.tar\n" H1 " \tbadsep.tar\nshort\n";
        uint8_t sum[SHA256_SIZE];
        ck_assert_int_eq(pull_sums_find(sums, strlen(sums), "other.tar", sum), 0);
        ck_assert_uint_eq(sum[0], 0x01);
        ck_assert_uint_eq(sum[31], 0xef);
        ck_assert_int_eq(pull_sums_find(sums, strlen(sums), "image.raw.xz", sum), 0);
        ck_assert_uint_eq(sum[0], 0xfe);
        ck_assert_int_eq(pull_sums_find(sums, strlen(sums), "dot.tar", sum), 0);
        ck_assert_int_eq(pull_sums_find(sums, strlen(sums), "image.raw", sum), -ENOENT);
        ck_assert_int_eq(pull_sums_find(sums, strlen(sums), "missing", sum), -ENOENT);
        ck_assert_int_eq(pull_sums_find(sums, strlen(sums), "badsep.tar", sum), -EBADMSG);
        /* The name is found, but what stands before it is no hash. */
        char line[] = H1 "  broken.tar\n";
        line[0] = 'z';
        ck_assert_int_eq(pull_sums_find(line, strlen(line), "broken.tar", sum), -EBADMSG);
        ck_assert_int_eq(pull_sums_find("", 0, "x", sum), -ENOENT);
}
END_TEST

START_TEST(test_verify_and_limits) {
        PullVerify v;
        ck_assert_int_eq(pull_verify_from_string("no", &v), 0);
        ck_assert_int_eq(v, PULL_VERIFY_NO);
        ck_assert_int_eq(pull_verify_from_string("signature", &v), 0);
        ck_assert_int_eq(v, PULL_VERIFY_SIGNATURE);
        ck_assert_int_eq(pull_verify_from_string("yes", &v), -EINVAL);

        PullLimits l;
        unsetenv("NSPAWNLITE_PULL_CONNECT_TIMEOUT_SEC");
        setenv("NSPAWNLITE_PULL_LOW_SPEED_TIME_SEC", "3", 1);
        setenv("NSPAWNLITE_PULL_LOW_SPEED_LIMIT", "-5", 1);
        pull_limits_from_env(&l);
        ck_assert_int_eq(l.connect_timeout_sec, 30);
        ck_assert_int_eq(l.low_speed_time_sec, 3);
        ck_assert_int_eq(l.low_speed_limit, 1024);
        unsetenv("NSPAWNLITE_PULL_LOW_SPEED_TIME_SEC");
        unsetenv("NSPAWNLITE_PULL_LOW_SPEED_LIMIT");

        unsetenv("NSPAWNLITE_IMPORT_KEYRING");
        ck_assert_str_eq(pull_keyring(), PULL_KEYRING_DEFAULT);
        setenv("NSPAWNLITE_IMPORT_KEYRING", "/tmp/k.gpg", 1);
        ck_assert_str_eq(pull_keyring(), "/tmp/k.gpg");
        unsetenv("NSPAWNLITE_IMPORT_KEYRING");
}
END_TEST

Suite *suite_transfer(void) {
        Suite *s = suite_create("transfer");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_compression_from_path);
        tcase_add_test(tc, test_entry_name_check);
        tcase_add_test(tc, test_image_name_from_path);
        tcase_add_test(tc, test_urls);
        tcase_add_test(tc, test_sums_find);
        tcase_add_test(tc, test_verify_and_limits);
        suite_add_tcase(s, tc);
        return s;
}
