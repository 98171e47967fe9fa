/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAGE_PARTITIONS_MAX 128
#define IMAGE_FSTYPE_MAX     16

/* One partition as the probe found it (or the whole file, for a bare filesystem). */
typedef struct {
        char type_uuid[37];            /* GPT: the type GUID, lower case; "" otherwise */
        unsigned mbr_type;             /* MBR: the type byte; 0 otherwise */
        uint64_t start;                /* bytes from the start of the image */
        uint64_t size;                 /* bytes */
        char fstype[IMAGE_FSTYPE_MAX]; /* blkid's TYPE; "" when none was recognised */
} ImagePartition;

/* The partitions of a Discoverable Partitions image we mount, in the order they are mounted:
 * each one's mount point lies on a filesystem mounted before it (/var/tmp on /var; the ESP goes
 * to /efi or /boot, which depends on XBOOTLDR). */
typedef enum {
        IMAGE_PART_ROOT,
        IMAGE_PART_USR,
        IMAGE_PART_HOME,
        IMAGE_PART_SRV,
        IMAGE_PART_VAR,
        IMAGE_PART_TMP, /* mounted on /var/tmp, as the specification has it */
        IMAGE_PART_XBOOTLDR,
        IMAGE_PART_ESP,
        _IMAGE_PART_MAX,
} ImagePartKind;

/* What is mounted: the root always, each other kind where the image has a partition of it. */
typedef struct {
        ImagePartition part[_IMAGE_PART_MAX];
        bool has[_IMAGE_PART_MAX];
} ImageChoice;

/* For messages: "root", "/usr", …, "XBOOTLDR", "ESP". */
const char *image_part_kind_name(ImagePartKind k);
/* Where a kind is mounted, inside the root; NULL for the root itself and for the ESP, whose place
 * (/efi or /boot) depends on the root's tree. */
const char *image_part_kind_path(ImagePartKind k);
/* What p is by its type (a generic Linux partition counts as a root); _IMAGE_PART_MAX: none we mount. */
ImagePartKind image_part_kind_of(const ImagePartition *p);

/* Pick the partitions among parts, as the Discoverable Partitions Specification has it: the root is
 * the x86-64 root type, else the x86 one, else the only generic Linux partition (GPT 0fc63daf-… or
 * MBR 0x83); /usr of the root's architecture; /home, /srv, /var, /tmp, XBOOTLDR and the ESP. Pure.
 * -ENXIO: no root; -ENOTUNIQ: two of one kind; -EOPNOTSUPP: a verity partition (not supported);
 * -EMEDIUMTYPE: a chosen one holds no filesystem we mount there; -EINVAL: a range out of the image;
 * -EADDRINUSE: two chosen ones overlap. ret_bad: the index of the partition at fault, where there
 * is one (else n). */
int image_choose(const ImagePartition *parts, size_t n, uint64_t image_size, ImageChoice *ret,
                 size_t *ret_bad);

/* Whether fstype is one we mount as kind (vfat only for the ESP and XBOOTLDR), and whether it can
 * only be mounted read-only. */
bool image_fstype_supported(const char *fstype, ImagePartKind kind);
bool image_fstype_read_only(const char *fstype);

/* Probe the image open at fd with libblkid: its partitions, each with its filesystem, or the
 * whole file as one when it has no partition table. -EBADMSG when it holds neither, -ENOPKG when
 * libblkid cannot be loaded. */
int image_probe(int fd, ImagePartition **ret_parts, size_t *ret_n, uint64_t *ret_size);
