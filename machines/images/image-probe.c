/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/images/image-probe.h"

#include <blkid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "nspawnlite/basic/dlopen-util.h"
#include "nspawnlite/basic/macro.h"

typedef enum {
        PART_OTHER,
        PART_DPS,     /* a kind we mount, by its Discoverable Partitions type */
        PART_VERITY,  /* dm-verity data or signature: refused until supported */
        PART_GENERIC, /* Linux filesystem data: the root when it is the only one */
} PartRole;

/* The Discoverable Partitions types we know (x86-64, and x86: the secondary architecture here),
 * and the generic Linux data type. /home, /srv, /var, /tmp, XBOOTLDR and the ESP have one type for
 * every architecture. */
static const struct {
        const char *uuid;
        PartRole role;
        ImagePartKind kind;
        bool secondary; /* x86: used when the image has no x86-64 root */
} gpt_types[] = {
        { "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", PART_DPS, IMAGE_PART_ROOT, false },     /* root x86-64 */
        { "44479540-f297-41b2-9af7-d131d5f0458a", PART_DPS, IMAGE_PART_ROOT, true },      /* root x86 */
        { "8484680c-9521-48c6-9c11-b0720656f69e", PART_DPS, IMAGE_PART_USR, false },      /* usr x86-64 */
        { "75250d76-8cc6-458e-bd66-bd47cc81a812", PART_DPS, IMAGE_PART_USR, true },       /* usr x86 */
        { "933ac7e1-2eb4-4f13-b844-0e14e2aef915", PART_DPS, IMAGE_PART_HOME, false },     /* home */
        { "3b8f8425-20e0-4f3b-907f-1a25a76f98e8", PART_DPS, IMAGE_PART_SRV, false },      /* srv */
        { "4d21b016-b534-45c2-a9fb-5c16e091fd2d", PART_DPS, IMAGE_PART_VAR, false },      /* var */
        { "7ec6f557-3bc5-4aca-b293-16ef5df639d1", PART_DPS, IMAGE_PART_TMP, false },      /* tmp (/var/tmp) */
        { "bc13c2ff-59e6-4262-a352-b275fd6f7172", PART_DPS, IMAGE_PART_XBOOTLDR, false }, /* XBOOTLDR */
        { "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", PART_DPS, IMAGE_PART_ESP, false },      /* ESP */
        { "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5", PART_VERITY },  /* root verity x86-64 */
        { "77ff5f63-e7b6-4633-acf4-1565b864c0e6", PART_VERITY },  /* usr verity x86-64 */
        { "41092b05-9fc8-4523-994f-2def0408b176", PART_VERITY },  /* root verity signature x86-64 */
        { "e7bb33fb-06cf-4e81-8273-e543b413e2e2", PART_VERITY },  /* usr verity signature x86-64 */
        { "d13c5d3b-b5d1-422a-b29f-9454fdc89d76", PART_VERITY },  /* root verity x86 */
        { "8f461b0d-14ee-4e81-9aa9-049b6fb97abd", PART_VERITY },  /* usr verity x86 */
        { "5996fc05-109c-48de-808b-23fa0830b676", PART_VERITY },  /* root verity signature x86 */
        { "974a71c0-de41-43c3-be5d-5c5ccd1ad2c0", PART_VERITY },  /* usr verity signature x86 */
        { "0fc63daf-8483-4772-8e79-3d69d8477de4", PART_GENERIC }, /* Linux filesystem data */
};

static const struct {
        const char *name;
        const char *path;
} part_kinds[_IMAGE_PART_MAX] = {
        [IMAGE_PART_ROOT] = { "root", NULL },
        [IMAGE_PART_USR] = { "/usr", "/usr" },
        [IMAGE_PART_HOME] = { "/home", "/home" },
        [IMAGE_PART_SRV] = { "/srv", "/srv" },
        [IMAGE_PART_VAR] = { "/var", "/var" },
        [IMAGE_PART_TMP] = { "/var/tmp", "/var/tmp" },
        [IMAGE_PART_XBOOTLDR] = { "XBOOTLDR", "/boot" },
        [IMAGE_PART_ESP] = { "ESP", NULL },
};

const char *image_part_kind_name(ImagePartKind k) {
        return k < _IMAGE_PART_MAX ? part_kinds[k].name : "unknown";
}

const char *image_part_kind_path(ImagePartKind k) {
        return k < _IMAGE_PART_MAX ? part_kinds[k].path : NULL;
}

static const struct {
        const char *name;
        bool read_only;
} fstypes[] = {
        { "ext4", false },  { "ext3", false },    { "ext2", false }, { "xfs", false },
        { "btrfs", false }, { "squashfs", true }, { "erofs", true },
};

bool image_fstype_supported(const char *fstype, ImagePartKind kind) {
        /* The boot partitions are VFAT by their specifications; nothing else mounts it. */
        if (strcmp(fstype, "vfat") == 0)
                return kind == IMAGE_PART_ESP || kind == IMAGE_PART_XBOOTLDR;
        for (size_t i = 0; i < ELEMENTSOF(fstypes); i++)
                if (strcmp(fstype, fstypes[i].name) == 0)
                        return true;
        return false;
}

bool image_fstype_read_only(const char *fstype) {
        for (size_t i = 0; i < ELEMENTSOF(fstypes); i++)
                if (strcmp(fstype, fstypes[i].name) == 0)
                        return fstypes[i].read_only;
        return false;
}

static size_t gpt_type_index(const ImagePartition *p) {
        for (size_t i = 0; i < ELEMENTSOF(gpt_types); i++)
                if (strcasecmp(p->type_uuid, gpt_types[i].uuid) == 0)
                        return i;
        return ELEMENTSOF(gpt_types);
}

static PartRole part_role(const ImagePartition *p) {
        if (p->mbr_type == 0x83)
                return PART_GENERIC;
        size_t i = gpt_type_index(p);
        return i < ELEMENTSOF(gpt_types) ? gpt_types[i].role : PART_OTHER;
}

ImagePartKind image_part_kind_of(const ImagePartition *p) {
        switch (part_role(p)) {
        case PART_GENERIC:
                return IMAGE_PART_ROOT;
        case PART_DPS:
                return gpt_types[gpt_type_index(p)].kind;
        default:
                return _IMAGE_PART_MAX;
        }
}

static int check_one(const ImagePartition *p, ImagePartKind kind, uint64_t image_size) {
        if (p->size == 0 || p->start > image_size || p->size > image_size - p->start)
                return -EINVAL;
        if (!image_fstype_supported(p->fstype, kind))
                return -EMEDIUMTYPE;
        return 0;
}

static bool overlap(const ImagePartition *a, const ImagePartition *b) {
        return a->start < b->start + b->size && b->start < a->start + a->size;
}

/* Where each kind is, per architecture ([1]: x86), as indexes into parts; n: none. A second one of
 * a kind is -ENOTUNIQ; a verity partition -EOPNOTSUPP. generic[]: the first two generic ones (any
 * number of them is fine beside a root of the root type). */
static int classify(const ImagePartition *parts, size_t n, size_t found[_IMAGE_PART_MAX][2],
                    size_t generic[2], size_t *ret_bad) {
        for (size_t k = 0; k < _IMAGE_PART_MAX; k++)
                found[k][0] = found[k][1] = n;
        generic[0] = generic[1] = n;
        for (size_t i = 0; i < n; i++) {
                size_t *slot;
                switch (part_role(&parts[i])) {
                case PART_VERITY:
                        *ret_bad = i;
                        return -EOPNOTSUPP;
                case PART_DPS: {
                        size_t t = gpt_type_index(&parts[i]);
                        slot = &found[gpt_types[t].kind][gpt_types[t].secondary];
                        break;
                }
                case PART_GENERIC:
                        if (generic[0] == n)
                                generic[0] = i;
                        else if (generic[1] == n)
                                generic[1] = i;
                        continue;
                default:
                        continue;
                }
                if (*slot < n) {
                        *ret_bad = i;
                        return -ENOTUNIQ;
                }
                *slot = i;
        }
        return 0;
}

int image_choose(const ImagePartition *parts, size_t n, uint64_t image_size, ImageChoice *ret,
                 size_t *ret_bad) {
        size_t found[_IMAGE_PART_MAX][2], generic[2], pick[_IMAGE_PART_MAX];
        *ret_bad = n;
        int r = classify(parts, n, found, generic, ret_bad);
        if (r < 0)
                return r;
        /* The root: x86-64's, else x86's, else the only generic partition (a table-less image is
         * one generic "partition": the whole file); /usr of the root's architecture. */
        bool secondary = found[IMAGE_PART_ROOT][0] == n && found[IMAGE_PART_ROOT][1] < n;
        pick[IMAGE_PART_ROOT] = found[IMAGE_PART_ROOT][secondary];
        if (pick[IMAGE_PART_ROOT] == n) {
                if (generic[1] < n) {
                        *ret_bad = generic[1];
                        return -ENOTUNIQ;
                }
                pick[IMAGE_PART_ROOT] = generic[0];
        }
        if (pick[IMAGE_PART_ROOT] == n)
                return -ENXIO;
        pick[IMAGE_PART_USR] = found[IMAGE_PART_USR][secondary];
        for (size_t k = IMAGE_PART_USR + 1; k < _IMAGE_PART_MAX; k++)
                pick[k] = found[k][0];

        ImageChoice c = {};
        for (size_t k = 0; k < _IMAGE_PART_MAX; k++) {
                size_t i = pick[k];
                if (i == n)
                        continue;
                if ((r = check_one(&parts[i], (ImagePartKind) k, image_size)) < 0) {
                        *ret_bad = i;
                        return r;
                }
                /* Two mounts of one filesystem, through two loop devices, would corrupt it. */
                for (size_t j = 0; j < k; j++)
                        if (pick[j] < n && overlap(&parts[pick[j]], &parts[i])) {
                                *ret_bad = i;
                                return -EADDRINUSE;
                        }
                c.part[k] = parts[i];
                c.has[k] = true;
        }
        *ret = c;
        return 0;
}

/* libblkid is loaded when an image is probed: a run or boot of a tree, the most common start, maps
 * none of it. */
static __typeof__(blkid_do_safeprobe) *sym_blkid_do_safeprobe;
static __typeof__(blkid_free_probe) *sym_blkid_free_probe;
static __typeof__(blkid_new_probe) *sym_blkid_new_probe;
static __typeof__(blkid_partition_get_size) *sym_blkid_partition_get_size;
static __typeof__(blkid_partition_get_start) *sym_blkid_partition_get_start;
static __typeof__(blkid_partition_get_type) *sym_blkid_partition_get_type;
static __typeof__(blkid_partition_get_type_string) *sym_blkid_partition_get_type_string;
static __typeof__(blkid_partlist_get_partition) *sym_blkid_partlist_get_partition;
static __typeof__(blkid_partlist_get_table) *sym_blkid_partlist_get_table;
static __typeof__(blkid_partlist_numof_partitions) *sym_blkid_partlist_numof_partitions;
static __typeof__(blkid_parttable_get_type) *sym_blkid_parttable_get_type;
static __typeof__(blkid_probe_enable_partitions) *sym_blkid_probe_enable_partitions;
static __typeof__(blkid_probe_enable_superblocks) *sym_blkid_probe_enable_superblocks;
static __typeof__(blkid_probe_get_partitions) *sym_blkid_probe_get_partitions;
static __typeof__(blkid_probe_get_size) *sym_blkid_probe_get_size;
static __typeof__(blkid_probe_lookup_value) *sym_blkid_probe_lookup_value;
static __typeof__(blkid_probe_set_device) *sym_blkid_probe_set_device;
static __typeof__(blkid_probe_set_partitions_flags) *sym_blkid_probe_set_partitions_flags;
static __typeof__(blkid_probe_set_superblocks_flags) *sym_blkid_probe_set_superblocks_flags;

static void *blkid_handle;
static const DlSymbol blkid_symbols[] = {
        DL_SYMBOL(blkid_do_safeprobe),
        DL_SYMBOL(blkid_free_probe),
        DL_SYMBOL(blkid_new_probe),
        DL_SYMBOL(blkid_partition_get_size),
        DL_SYMBOL(blkid_partition_get_start),
        DL_SYMBOL(blkid_partition_get_type),
        DL_SYMBOL(blkid_partition_get_type_string),
        DL_SYMBOL(blkid_partlist_get_partition),
        DL_SYMBOL(blkid_partlist_get_table),
        DL_SYMBOL(blkid_partlist_numof_partitions),
        DL_SYMBOL(blkid_parttable_get_type),
        DL_SYMBOL(blkid_probe_enable_partitions),
        DL_SYMBOL(blkid_probe_enable_superblocks),
        DL_SYMBOL(blkid_probe_get_partitions),
        DL_SYMBOL(blkid_probe_get_size),
        DL_SYMBOL(blkid_probe_lookup_value),
        DL_SYMBOL(blkid_probe_set_device),
        DL_SYMBOL(blkid_probe_set_partitions_flags),
        DL_SYMBOL(blkid_probe_set_superblocks_flags),
};

/* The filesystem in [start, start+size) of fd, into ret (left "" when there is none). */
static void probe_fstype(int fd, uint64_t start, uint64_t size, char ret[static IMAGE_FSTYPE_MAX]) {
        ret[0] = 0;
        blkid_probe pr = sym_blkid_new_probe();
        if (!pr)
                return;
        const char *type = NULL;
        if (sym_blkid_probe_set_device(pr, fd, (blkid_loff_t) start, (blkid_loff_t) size) == 0 &&
            sym_blkid_probe_enable_superblocks(pr, 1) == 0 &&
            sym_blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE) == 0 &&
            sym_blkid_do_safeprobe(pr) == 0 && sym_blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0 &&
            type)
                snprintf(ret, IMAGE_FSTYPE_MAX, "%s", type);
        sym_blkid_free_probe(pr);
}

static void probe_freep(blkid_probe *pr) {
        if (*pr)
                sym_blkid_free_probe(*pr);
}

int image_probe(int fd, ImagePartition **ret_parts, size_t *ret_n, uint64_t *ret_size) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
                return -EBADF;
        uint64_t size = (uint64_t) st.st_size;
        if (dlopen_symbols(&blkid_handle, SONAME_BLKID, blkid_symbols, ELEMENTSOF(blkid_symbols)) < 0)
                return -ENOPKG;

        _cleanup_(probe_freep) blkid_probe pr = sym_blkid_new_probe();
        if (!pr)
                return -ENOMEM;
        if (sym_blkid_probe_set_device(pr, fd, 0, 0) < 0)
                return -EIO;
        if (S_ISBLK(st.st_mode))
                size = (uint64_t) sym_blkid_probe_get_size(pr);
        (void) sym_blkid_probe_enable_partitions(pr, 1);
        (void) sym_blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
        (void) sym_blkid_probe_enable_superblocks(pr, 0);
        int k = sym_blkid_do_safeprobe(pr);
        if (k < 0)
                return -EBADMSG; /* ambivalent: more than one table */
        blkid_partlist pl = k == 0 ? sym_blkid_probe_get_partitions(pr) : NULL;
        blkid_parttable table = pl ? sym_blkid_partlist_get_table(pl) : NULL;
        int n = pl && table ? sym_blkid_partlist_numof_partitions(pl) : 0;
        if (n < 0 || n > IMAGE_PARTITIONS_MAX)
                return -EBADMSG;

        _cleanup_free_ ImagePartition *parts = calloc(n > 0 ? (size_t) n : 1, sizeof *parts);
        if (!parts)
                return -ENOMEM;
        if (!table) {
                /* No table: the whole file is a bare filesystem, or nothing we know. */
                probe_fstype(fd, 0, size, parts[0].fstype);
                if (!parts[0].fstype[0])
                        return -EBADMSG;
                parts[0].size = size;
                parts[0].mbr_type = 0x83;
                *ret_parts = TAKE_PTR(parts);
                *ret_n = 1;
                *ret_size = size;
                return 0;
        }
        bool gpt = strcmp(sym_blkid_parttable_get_type(table) ?: "", "gpt") == 0;
        for (int i = 0; i < n; i++) {
                blkid_partition p = sym_blkid_partlist_get_partition(pl, i);
                ImagePartition *q = &parts[i];
                if (!p)
                        return -EBADMSG;
                blkid_loff_t start = sym_blkid_partition_get_start(p), len = sym_blkid_partition_get_size(p);
                if (start < 0 || len < 0 || (uint64_t) start > UINT64_MAX / 512 ||
                    (uint64_t) len > UINT64_MAX / 512)
                        return -EBADMSG;
                q->start = (uint64_t) start * 512;
                q->size = (uint64_t) len * 512;
                if (gpt)
                        snprintf(q->type_uuid, sizeof q->type_uuid, "%s",
                                 sym_blkid_partition_get_type_string(p) ?: "");
                else
                        q->mbr_type = (unsigned) sym_blkid_partition_get_type(p);
                if (q->start < size && q->size <= size - q->start)
                        probe_fstype(fd, q->start, q->size, q->fstype);
        }
        *ret_parts = TAKE_PTR(parts);
        *ret_n = (size_t) n;
        *ret_size = size;
        return 0;
}
