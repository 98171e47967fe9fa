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

/* What is mounted: the root, and /usr when the image has a partition of its own for it. */
typedef struct {
        ImagePartition root;
        ImagePartition usr;
        bool has_usr;
} ImageChoice;

/* Pick the root (and /usr) among parts, as the Discoverable Partitions Specification has it: the
 * x86-64 root type, else the only generic Linux partition (GPT 0fc63daf-… or MBR 0x83). Pure.
 * -ENXIO: no root; -ENOTUNIQ: two candidates; -EOPNOTSUPP: a verity partition (not supported);
 * -EMEDIUMTYPE: the chosen one holds no filesystem we mount; -EINVAL: a range out of the image.
 * ret_bad: the index of the partition at fault, where there is one (else n). */
int image_choose(const ImagePartition *parts, size_t n, uint64_t image_size, ImageChoice *ret,
                 size_t *ret_bad);

/* Whether fstype is one we mount, and whether it can only be mounted read-only. */
bool image_fstype_supported(const char *fstype);
bool image_fstype_read_only(const char *fstype);

/* Probe the image open at fd with libblkid: its partitions, each with its filesystem, or the
 * whole file as one when it has no partition table. -EBADMSG when it holds neither. */
int image_probe(int fd, ImagePartition **ret_parts, size_t *ret_n, uint64_t *ret_size);
