/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* image_choose(): which partition of an image becomes the root (and /usr). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "machines/images/image-probe.h"
#include "tests/unit/unit.h"

#define ROOT_X86_64 "4f68bce3-e8cd-4db1-96e7-fbcaf984b709"
#define USR_X86_64  "8484680c-9521-48c6-9c11-b0720656f69e"
#define ROOT_VERITY "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5"
#define GENERIC     "0fc63daf-8483-4772-8e79-3d69d8477de4"
#define ESP         "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
#define MiB         (1024ULL * 1024ULL)

static ImagePartition gpt(const char *type, uint64_t start, const char *fs) {
        ImagePartition p = { .start = start * MiB, .size = 8 * MiB };
        snprintf(p.type_uuid, sizeof p.type_uuid, "%s", type);
        snprintf(p.fstype, sizeof p.fstype, "%s", fs);
        return p;
}

static int choose(const ImagePartition *parts, size_t n, ImageChoice *c, size_t *bad) {
        return image_choose(parts, n, 100 * MiB, c, bad);
}

START_TEST(test_dps_root_and_usr) {
        ImagePartition parts[] = { gpt(ESP, 1, "vfat"), gpt(USR_X86_64, 10, "erofs"),
                                   gpt(ROOT_X86_64, 20, "ext4"), gpt(GENERIC, 30, "ext4") };
        ImageChoice c;
        size_t bad;
        ck_assert_int_eq(choose(parts, 4, &c, &bad), 0);
        ck_assert_uint_eq(c.root.start, 20 * MiB);
        ck_assert_str_eq(c.root.fstype, "ext4");
        ck_assert(c.has_usr);
        ck_assert_uint_eq(c.usr.start, 10 * MiB);
}
END_TEST

/* Root and /usr over the same bytes would be two mounts of one filesystem. */
START_TEST(test_overlapping_root_and_usr) {
        ImagePartition parts[] = { gpt(USR_X86_64, 10, "ext4"), gpt(ROOT_X86_64, 14, "ext4") };
        ImageChoice c;
        size_t bad = 99;
        ck_assert_int_eq(choose(parts, 2, &c, &bad), -EADDRINUSE);
        ck_assert_uint_eq(bad, 0);
        parts[1] = gpt(ROOT_X86_64, 18, "ext4"); /* adjacent: fine */
        ck_assert_int_eq(choose(parts, 2, &c, &bad), 0);
}
END_TEST

START_TEST(test_generic_alone) {
        ImagePartition parts[] = { gpt(ESP, 1, "vfat"), gpt(GENERIC, 10, "xfs") };
        ImageChoice c;
        size_t bad;
        ck_assert_int_eq(choose(parts, 2, &c, &bad), 0);
        ck_assert_uint_eq(c.root.start, 10 * MiB);
        ck_assert(!c.has_usr);
}
END_TEST

START_TEST(test_mbr_linux) {
        ImagePartition parts[] = { { .mbr_type = 0x82, .start = MiB, .size = MiB },
                                   { .mbr_type = 0x83, .start = 2 * MiB, .size = MiB, .fstype = "ext4" } };
        ImageChoice c;
        size_t bad;
        ck_assert_int_eq(choose(parts, 2, &c, &bad), 0);
        ck_assert_uint_eq(c.root.start, 2 * MiB);
}
END_TEST

START_TEST(test_refusals) {
        ImageChoice c;
        size_t bad;
        ImagePartition two_roots[] = { gpt(ROOT_X86_64, 1, "ext4"), gpt(ROOT_X86_64, 20, "ext4") };
        ck_assert_int_eq(choose(two_roots, 2, &c, &bad), -ENOTUNIQ);
        ImagePartition two_generic[] = { gpt(GENERIC, 1, "ext4"), gpt(GENERIC, 20, "ext4") };
        ck_assert_int_eq(choose(two_generic, 2, &c, &bad), -ENOTUNIQ);
        ImagePartition none[] = { gpt(ESP, 1, "vfat"), gpt(USR_X86_64, 20, "ext4") };
        ck_assert_int_eq(choose(none, 2, &c, &bad), -ENXIO);
        ck_assert_int_eq(choose(none, 0, &c, &bad), -ENXIO);
        ImagePartition verity[] = { gpt(ROOT_X86_64, 1, "ext4"), gpt(ROOT_VERITY, 20, "") };
        ck_assert_int_eq(choose(verity, 2, &c, &bad), -EOPNOTSUPP);
        ck_assert_uint_eq(bad, 1);
        ImagePartition unknown[] = { gpt(ROOT_X86_64, 1, "") };
        ck_assert_int_eq(choose(unknown, 1, &c, &bad), -EMEDIUMTYPE);
        ck_assert_uint_eq(bad, 0);
        ImagePartition vfat_root[] = { gpt(ROOT_X86_64, 1, "vfat") };
        ck_assert_int_eq(choose(vfat_root, 1, &c, &bad), -EMEDIUMTYPE);
        ImagePartition outside[] = { gpt(ROOT_X86_64, 95, "ext4") }; /* 95 MiB + 8 MiB > 100 MiB */
        ck_assert_int_eq(choose(outside, 1, &c, &bad), -EINVAL);
        ImagePartition bad_usr[] = { gpt(ROOT_X86_64, 1, "ext4"), gpt(USR_X86_64, 20, "ntfs") };
        ck_assert_int_eq(choose(bad_usr, 2, &c, &bad), -EMEDIUMTYPE);
        ck_assert_uint_eq(bad, 1);
}
END_TEST

START_TEST(test_fstypes) {
        ck_assert(image_fstype_read_only("squashfs"));
        ck_assert(image_fstype_read_only("erofs"));
        ck_assert(!image_fstype_read_only("ext4"));
        ck_assert(image_fstype_supported("btrfs"));
        ck_assert(!image_fstype_supported("vfat"));
        ck_assert(!image_fstype_supported(""));
}
END_TEST

Suite *suite_image_choose(void) {
        Suite *s = suite_create("image-choose");
        TCase *tc = tcase_create("choose");
        tcase_add_test(tc, test_dps_root_and_usr);
        tcase_add_test(tc, test_overlapping_root_and_usr);
        tcase_add_test(tc, test_generic_alone);
        tcase_add_test(tc, test_mbr_linux);
        tcase_add_test(tc, test_refusals);
        tcase_add_test(tc, test_fstypes);
        suite_add_tcase(s, tc);
        return s;
}
