/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/images/image-probe.h"

#include <blkid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "nspawnlite/basic/macro.h"

typedef enum {
        PART_OTHER,
        PART_ROOT,
        PART_USR,
        PART_VERITY,
        PART_GENERIC,
} PartRole;

/* The Discoverable Partitions types we know (x86-64), and the generic Linux data type. */
static const struct {
        const char *uuid;
        PartRole role;
} gpt_types[] = {
        { "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", PART_ROOT },    /* root x86-64 */
        { "8484680c-9521-48c6-9c11-b0720656f69e", PART_USR },     /* usr x86-64 */
        { "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5", PART_VERITY },  /* root verity x86-64 */
        { "77ff5f63-e7b6-4633-acf4-1565b864c0e6", PART_VERITY },  /* usr verity x86-64 */
        { "41092b05-9fc8-4523-994f-2def0408b176", PART_VERITY },  /* root verity signature x86-64 */
        { "e7bb33fb-06cf-4e81-8273-e543b413e2e2", PART_VERITY },  /* usr verity signature x86-64 */
        { "0fc63daf-8483-4772-8e79-3d69d8477de4", PART_GENERIC }, /* Linux filesystem data */
};

static const struct {
        const char *name;
        bool read_only;
} fstypes[] = {
        { "ext4", false },  { "ext3", false },    { "ext2", false }, { "xfs", false },
        { "btrfs", false }, { "squashfs", true }, { "erofs", true },
};

bool image_fstype_supported(const char *fstype) {
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

static PartRole part_role(const ImagePartition *p) {
        if (p->mbr_type == 0x83)
                return PART_GENERIC;
        for (size_t i = 0; i < ELEMENTSOF(gpt_types); i++)
                if (strcasecmp(p->type_uuid, gpt_types[i].uuid) == 0)
                        return gpt_types[i].role;
        return PART_OTHER;
}

static int check_one(const ImagePartition *p, uint64_t image_size) {
        if (p->size == 0 || p->start > image_size || p->size > image_size - p->start)
                return -EINVAL;
        if (!image_fstype_supported(p->fstype))
                return -EMEDIUMTYPE;
        return 0;
}

int image_choose(const ImagePartition *parts, size_t n, uint64_t image_size, ImageChoice *ret,
                 size_t *ret_bad) {
        size_t root = n, usr = n, generic = n;
        unsigned n_root = 0, n_usr = 0, n_generic = 0;
        *ret_bad = n;
        for (size_t i = 0; i < n; i++) {
                switch (part_role(&parts[i])) {
                case PART_VERITY:
                        *ret_bad = i;
                        return -EOPNOTSUPP;
                case PART_ROOT:
                        root = i, n_root++;
                        break;
                case PART_USR:
                        usr = i, n_usr++;
                        break;
                case PART_GENERIC:
                        generic = i, n_generic++;
                        break;
                default:
                        break;
                }
        }
        /* A table-less image is one generic "partition": the whole file. */
        if (n_root > 1 || n_usr > 1 || (n_root == 0 && n_generic > 1)) {
                *ret_bad = n_root > 1 ? root : n_usr > 1 ? usr : generic;
                return -ENOTUNIQ;
        }
        if (n_root == 0)
                root = generic;
        if (root == n)
                return -ENXIO;
        int r = check_one(&parts[root], image_size);
        if (r >= 0 && usr < n && (r = check_one(&parts[usr], image_size)) < 0)
                root = usr;
        /* Two mounts of one filesystem, through two loop devices, would corrupt it. */
        if (r >= 0 && usr < n && parts[root].start < parts[usr].start + parts[usr].size &&
            parts[usr].start < parts[root].start + parts[root].size) {
                root = usr;
                r = -EADDRINUSE;
        }
        if (r < 0) {
                *ret_bad = root;
                return r;
        }
        *ret = (ImageChoice){ .root = parts[root], .has_usr = usr < n };
        if (usr < n)
                ret->usr = parts[usr];
        return 0;
}

/* The filesystem in [start, start+size) of fd, into ret (left "" when there is none). */
static void probe_fstype(int fd, uint64_t start, uint64_t size, char ret[static IMAGE_FSTYPE_MAX]) {
        ret[0] = 0;
        blkid_probe pr = blkid_new_probe();
        if (!pr)
                return;
        const char *type = NULL;
        if (blkid_probe_set_device(pr, fd, (blkid_loff_t) start, (blkid_loff_t) size) == 0 &&
            blkid_probe_enable_superblocks(pr, 1) == 0 &&
            blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE) == 0 && blkid_do_safeprobe(pr) == 0 &&
            blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0 && type)
                snprintf(ret, IMAGE_FSTYPE_MAX, "%s", type);
        blkid_free_probe(pr);
}

static void probe_freep(blkid_probe *pr) {
        if (*pr)
                blkid_free_probe(*pr);
}

int image_probe(int fd, ImagePartition **ret_parts, size_t *ret_n, uint64_t *ret_size) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
                return -EBADF;
        uint64_t size = (uint64_t) st.st_size;

        _cleanup_(probe_freep) blkid_probe pr = blkid_new_probe();
        if (!pr)
                return -ENOMEM;
        if (blkid_probe_set_device(pr, fd, 0, 0) < 0)
                return -EIO;
        if (S_ISBLK(st.st_mode))
                size = (uint64_t) blkid_probe_get_size(pr);
        (void) blkid_probe_enable_partitions(pr, 1);
        (void) blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
        (void) blkid_probe_enable_superblocks(pr, 0);
        int k = blkid_do_safeprobe(pr);
        if (k < 0)
                return -EBADMSG; /* ambivalent: more than one table */
        blkid_partlist pl = k == 0 ? blkid_probe_get_partitions(pr) : NULL;
        blkid_parttable table = pl ? blkid_partlist_get_table(pl) : NULL;
        int n = pl && table ? blkid_partlist_numof_partitions(pl) : 0;
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
        bool gpt = strcmp(blkid_parttable_get_type(table) ?: "", "gpt") == 0;
        for (int i = 0; i < n; i++) {
                blkid_partition p = blkid_partlist_get_partition(pl, i);
                ImagePartition *q = &parts[i];
                if (!p)
                        return -EBADMSG;
                blkid_loff_t start = blkid_partition_get_start(p), len = blkid_partition_get_size(p);
                if (start < 0 || len < 0 || (uint64_t) start > UINT64_MAX / 512 ||
                    (uint64_t) len > UINT64_MAX / 512)
                        return -EBADMSG;
                q->start = (uint64_t) start * 512;
                q->size = (uint64_t) len * 512;
                if (gpt)
                        snprintf(q->type_uuid, sizeof q->type_uuid, "%s",
                                 blkid_partition_get_type_string(p) ?: "");
                else
                        q->mbr_type = (unsigned) blkid_partition_get_type(p);
                if (q->start < size && q->size <= size - q->start)
                        probe_fstype(fd, q->start, q->size, q->fstype);
        }
        *ret_parts = TAKE_PTR(parts);
        *ret_n = (size_t) n;
        *ret_size = size;
        return 0;
}
