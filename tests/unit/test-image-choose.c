/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* image_choose(): which partition of an image becomes the root, /usr, /home, /srv, /var, /var/tmp,
 * XBOOTLDR and the ESP. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "machines/images/image-probe.h"
#include "nspawnlite/basic/macro.h"
#include "tests/unit/unit.h"

#define ROOT_X86_64 "4f68bce3-e8cd-4db1-96e7-fbcaf984b709"
#define USR_X86_64  "8484680c-9521-48c6-9c11-b0720656f69e"
#define ROOT_VERITY "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5"
#define GENERIC     "0fc63daf-8483-4772-8e79-3d69d8477de4"
#define ESP         "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
#define ROOT_X86    "44479540-f297-41b2-9af7-d131d5f0458a"
#define USR_X86     "75250d76-8cc6-458e-bd66-bd47cc81a812"
#define HOME        "933ac7e1-2eb4-4f13-b844-0e14e2aef915"
#define SRV         "3b8f8425-20e0-4f3b-907f-1a25a76f98e8"
#define VAR         "4d21b016-b534-45c2-a9fb-5c16e091fd2d"
#define TMP         "7ec6f557-3bc5-4aca-b293-16ef5df639d1"
#define XBOOTLDR    "bc13c2ff-59e6-4262-a352-b275fd6f7172"
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
        ck_assert_uint_eq(c.part[IMAGE_PART_ROOT].start, 20 * MiB);
        ck_assert_str_eq(c.part[IMAGE_PART_ROOT].fstype, "ext4");
        ck_assert(c.has[IMAGE_PART_USR]);
        ck_assert_uint_eq(c.part[IMAGE_PART_USR].start, 10 * MiB);
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
        ck_assert_uint_eq(c.part[IMAGE_PART_ROOT].start, 10 * MiB);
        ck_assert(!c.has[IMAGE_PART_USR]);
}
END_TEST

START_TEST(test_mbr_linux) {
        ImagePartition parts[] = { { .mbr_type = 0x82, .start = MiB, .size = MiB },
                                   { .mbr_type = 0x83, .start = 2 * MiB, .size = MiB, .fstype = "ext4" } };
        ImageChoice c;
        size_t bad;
        ck_assert_int_eq(choose(parts, 2, &c, &bad), 0);
        ck_assert_uint_eq(c.part[IMAGE_PART_ROOT].start, 2 * MiB);
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
        ck_assert(image_fstype_supported("btrfs", IMAGE_PART_ROOT));
        ck_assert(!image_fstype_supported("vfat", IMAGE_PART_ROOT));
        ck_assert(!image_fstype_supported("vfat", IMAGE_PART_HOME));
        ck_assert(image_fstype_supported("vfat", IMAGE_PART_ESP));
        ck_assert(image_fstype_supported("vfat", IMAGE_PART_XBOOTLDR));
        ck_assert(image_fstype_supported("ext4", IMAGE_PART_XBOOTLDR));
        ck_assert(!image_fstype_supported("", IMAGE_PART_ESP));
}
END_TEST

/* Every Discoverable Partitions kind we mount, each found by its type, with its place. */
START_TEST(test_all_kinds) {
        ImagePartition parts[] = { gpt(ESP, 1, "vfat"),          gpt(XBOOTLDR, 10, "vfat"),
                                   gpt(ROOT_X86_64, 20, "ext4"), gpt(USR_X86_64, 30, "erofs"),
                                   gpt(HOME, 40, "xfs"),         gpt(SRV, 50, "ext4"),
                                   gpt(VAR, 60, "btrfs"),        gpt(TMP, 70, "ext4"),
                                   gpt(GENERIC, 80, "ext4") };
        static const struct {
                ImagePartKind kind;
                uint64_t start;
                const char *path;
        } want[] = {
                { IMAGE_PART_ROOT, 20, NULL },        { IMAGE_PART_USR, 30, "/usr" },
                { IMAGE_PART_HOME, 40, "/home" },     { IMAGE_PART_SRV, 50, "/srv" },
                { IMAGE_PART_VAR, 60, "/var" },       { IMAGE_PART_TMP, 70, "/var/tmp" },
                { IMAGE_PART_XBOOTLDR, 10, "/boot" }, { IMAGE_PART_ESP, 1, NULL },
        };
        ImageChoice c;
        size_t bad;
        ck_assert_int_eq(choose(parts, ELEMENTSOF(parts), &c, &bad), 0);
        ck_assert_uint_eq(ELEMENTSOF(want), _IMAGE_PART_MAX);
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                ck_assert_msg(c.has[want[i].kind], "kind %s", image_part_kind_name(want[i].kind));
                ck_assert_uint_eq(c.part[want[i].kind].start, want[i].start * MiB);
                ck_assert_int_eq(image_part_kind_of(&c.part[want[i].kind]), want[i].kind);
                if (want[i].path)
                        ck_assert_str_eq(image_part_kind_path(want[i].kind), want[i].path);
                else
                        ck_assert_ptr_null(image_part_kind_path(want[i].kind));
        }
        ck_assert_int_eq(image_part_kind_of(&parts[8]), IMAGE_PART_ROOT); /* generic */
        /* A root alone has nothing else. */
        ck_assert_int_eq(choose(&parts[2], 1, &c, &bad), 0);
        for (size_t k = IMAGE_PART_ROOT + 1; k < _IMAGE_PART_MAX; k++)
                ck_assert(!c.has[k]);
}
END_TEST

/* x86 (32-bit) root and /usr: used when there is no x86-64 root; /usr goes with the root's arch. */
START_TEST(test_x86) {
        ImageChoice c;
        size_t bad;
        ImagePartition x86[] = { gpt(USR_X86, 1, "ext4"), gpt(ROOT_X86, 20, "ext4") };
        ck_assert_int_eq(choose(x86, 2, &c, &bad), 0);
        ck_assert_uint_eq(c.part[IMAGE_PART_ROOT].start, 20 * MiB);
        ck_assert(c.has[IMAGE_PART_USR]);
        ck_assert_uint_eq(c.part[IMAGE_PART_USR].start, 1 * MiB);
        ImagePartition both[] = { gpt(ROOT_X86, 1, "ext4"), gpt(USR_X86, 10, "ext4"),
                                  gpt(ROOT_X86_64, 20, "ext4"), gpt(USR_X86_64, 30, "ext4") };
        ck_assert_int_eq(choose(both, 4, &c, &bad), 0);
        ck_assert_uint_eq(c.part[IMAGE_PART_ROOT].start, 20 * MiB);
        ck_assert_uint_eq(c.part[IMAGE_PART_USR].start, 30 * MiB);
        ImagePartition mixed[] = { gpt(ROOT_X86_64, 1, "ext4"), gpt(USR_X86, 10, "ext4") };
        ck_assert_int_eq(choose(mixed, 2, &c, &bad), 0);
        ck_assert(!c.has[IMAGE_PART_USR]);
        ImagePartition two_x86[] = { gpt(ROOT_X86, 1, "ext4"), gpt(ROOT_X86, 20, "ext4") };
        ck_assert_int_eq(choose(two_x86, 2, &c, &bad), -ENOTUNIQ);
}
END_TEST

/* Two of one kind, one over another, or a filesystem a kind may not have: refused, the one at fault named. */
START_TEST(test_kinds_refused) {
        ImageChoice c;
        size_t bad = 99;
        ImagePartition two_homes[] = { gpt(ROOT_X86_64, 1, "ext4"), gpt(HOME, 10, "ext4"),
                                       gpt(HOME, 20, "ext4") };
        ck_assert_int_eq(choose(two_homes, 3, &c, &bad), -ENOTUNIQ);
        ck_assert_uint_eq(bad, 2);
        ImagePartition two_esps[] = { gpt(ESP, 1, "vfat"), gpt(ESP, 10, "vfat"),
                                      gpt(ROOT_X86_64, 20, "ext4") };
        ck_assert_int_eq(choose(two_esps, 3, &c, &bad), -ENOTUNIQ);
        ck_assert_uint_eq(bad, 1);
        ImagePartition over[] = { gpt(ROOT_X86_64, 1, "ext4"), gpt(VAR, 20, "ext4"), gpt(TMP, 24, "ext4") };
        ck_assert_int_eq(choose(over, 3, &c, &bad), -EADDRINUSE);
        ck_assert_uint_eq(bad, 2);
        ImagePartition esp_over_root[] = { gpt(ROOT_X86_64, 1, "ext4"), gpt(ESP, 5, "vfat") };
        ck_assert_int_eq(choose(esp_over_root, 2, &c, &bad), -EADDRINUSE);
        ck_assert_uint_eq(bad, 1);
        ImagePartition vfat_srv[] = { gpt(ROOT_X86_64, 1, "ext4"), gpt(SRV, 20, "vfat") };
        ck_assert_int_eq(choose(vfat_srv, 2, &c, &bad), -EMEDIUMTYPE);
        ck_assert_uint_eq(bad, 1);
        ImagePartition home_outside[] = { gpt(ROOT_X86_64, 1, "ext4"), gpt(HOME, 95, "ext4") };
        ck_assert_int_eq(choose(home_outside, 2, &c, &bad), -EINVAL);
        ck_assert_uint_eq(bad, 1);
        /* Generic partitions beside a root of the root type are not mounted, however many. */
        ImagePartition generics[] = { gpt(GENERIC, 1, "ext4"), gpt(ROOT_X86_64, 20, "ext4"),
                                      gpt(GENERIC, 40, "") };
        ck_assert_int_eq(choose(generics, 3, &c, &bad), 0);
        ck_assert_uint_eq(c.part[IMAGE_PART_ROOT].start, 20 * MiB);
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
        tcase_add_test(tc, test_all_kinds);
        tcase_add_test(tc, test_x86);
        tcase_add_test(tc, test_kinds_refused);
        suite_add_tcase(s, tc);
        return s;
}
