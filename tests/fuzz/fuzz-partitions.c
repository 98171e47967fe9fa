/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* image_choose(): any list of partitions (as a probe could report them) gives a root, and maybe
 * /usr, /home, /srv, /var, /var/tmp, XBOOTLDR and an ESP, each inside the image, none over another,
 * each with a filesystem we mount there; or one of the documented errors. Input: an 8-byte image size,
 * then 20-byte records {type index, MBR type, fs index, start, size; the integers little-endian}. */
#include <errno.h>

#include "machines/images/image-probe.h"
#include "tests/fuzz/fuzz.h"

static const char *const fs_names[] = { "ext4", "xfs", "btrfs", "squashfs", "erofs", "vfat", "", "ntfs" };
static const char *const types[] = {
        "4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
        "8484680c-9521-48c6-9c11-b0720656f69e",
        "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5",
        "0fc63daf-8483-4772-8e79-3d69d8477de4",
        "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
        "",
        /* 6…: x86 root and /usr, /home, /srv, /var, /tmp, XBOOTLDR, x86 root verity */
        "44479540-f297-41b2-9af7-d131d5f0458a",
        "75250d76-8cc6-458e-bd66-bd47cc81a812",
        "933ac7e1-2eb4-4f13-b844-0e14e2aef915",
        "3b8f8425-20e0-4f3b-907f-1a25a76f98e8",
        "4d21b016-b534-45c2-a9fb-5c16e091fd2d",
        "7ec6f557-3bc5-4aca-b293-16ef5df639d1",
        "bc13c2ff-59e6-4262-a352-b275fd6f7172",
        "d13c5d3b-b5d1-422a-b29f-9454fdc89d76",
};

static uint64_t take64(const uint8_t *d) {
        uint64_t v;
        memcpy(&v, d, sizeof v);
        return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 8)
                return 0;
        uint64_t image_size = take64(data);
        data += 8, size -= 8;
        ImagePartition parts[IMAGE_PARTITIONS_MAX];
        size_t n = 0;
        for (; size >= 20 && n < IMAGE_PARTITIONS_MAX; data += 20, size -= 20, n++) {
                ImagePartition *p = &parts[n];
                *p = (ImagePartition){ .mbr_type = data[1],
                                       .start = take64(data + 3),
                                       .size = take64(data + 11) };
                snprintf(p->type_uuid, sizeof p->type_uuid, "%s",
                         types[data[0] % (sizeof types / sizeof types[0])]);
                snprintf(p->fstype, sizeof p->fstype, "%s",
                         fs_names[data[2] % (sizeof fs_names / sizeof fs_names[0])]);
        }
        ImageChoice c;
        size_t bad = 0;
        int r = image_choose(parts, n, image_size, &c, &bad);
        if (r == 0) {
                FUZZ_CHECK(c.has[IMAGE_PART_ROOT]);
                for (size_t k = 0; k < _IMAGE_PART_MAX; k++) {
                        if (!c.has[k])
                                continue;
                        const ImagePartition *p = &c.part[k];
                        FUZZ_CHECK(image_fstype_supported(p->fstype, (ImagePartKind) k));
                        FUZZ_CHECK(p->size > 0 && p->start <= image_size && p->size <= image_size - p->start);
                        for (size_t j = 0; j < k; j++)
                                FUZZ_CHECK(!c.has[j] || c.part[j].start >= p->start + p->size ||
                                           p->start >= c.part[j].start + c.part[j].size);
                }
        } else
                FUZZ_CHECK(r == -ENXIO || r == -ENOTUNIQ || r == -EOPNOTSUPP || r == -EMEDIUMTYPE ||
                           r == -EINVAL || r == -EADDRINUSE);
        FUZZ_CHECK(r == 0 || r == -ENXIO || bad < n);
        return 0;
}
