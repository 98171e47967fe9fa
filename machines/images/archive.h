/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The transfer engine of the store's import/export verbs: tar archives in and out of a directory,
 * raw images in and out of a file, through libarchive. Nothing here prints; what went wrong in an
 * archive is handed back in an ArchiveError for the verb to say. */

typedef enum {
        COMPRESSION_NONE,
        COMPRESSION_GZIP,
        COMPRESSION_XZ,
        COMPRESSION_ZSTD,
} ArchiveCompression;

/* Called now and then with the bytes read (or written) so far; total is 0 when unknown. A negative
 * return stops the work with that error (an interrupted verb). */
typedef struct {
        int (*func)(void *userdata, uint64_t done, uint64_t total);
        void *userdata;
        uint64_t total;
} ArchiveProgress;

/* Why an archive was refused: the entry at fault (if any) and what libarchive or we said. */
typedef struct {
        char entry[256];
        char message[256];
} ArchiveError;

/* Load libarchive (once); -EOPNOTSUPP when it is not installed. The functions below that need it
 * call it themselves. */
int archive_dlopen(void);

/* The compression a file name asks for: .gz/.tgz, .xz/.txz, .zst/.tzst; none otherwise. Pure. */
ArchiveCompression archive_compression_from_path(const char *path);

/* Whether a tar entry's name (or a hard link's target) stays inside the directory it is extracted
 * to: relative, no ".." component, not empty. 0, or -EPERM. Pure. */
int archive_entry_name_check(const char *name);

/* The image name a file name or URL suggests: its last component without a query, with the
 * suffixes .gz .xz .zst .bz2 .tar .tgz .txz .tzst .raw .img .qcow2 taken off. -EINVAL when what is
 * left is no valid machine name. Pure. */
int archive_image_name_from_path(const char *path, char **ret);

/* Extract the tar archive read from in_fd (any of the compressions above) into the directory
 * dir_fd, keeping owners (numeric), modes, times, xattrs, ACLs, device nodes and hard links.
 * Refuses (-EPERM) an entry that would land outside dir_fd: an absolute name, "..", or a path
 * through a symlink; -EBADMSG for a broken or truncated archive, -ENODATA for an empty one. What was
 * extracted before a failure stays in dir_fd (the caller's temporary). */
int archive_tar_extract(int in_fd, int dir_fd, const ArchiveProgress *progress, ArchiveError *err);

/* Write the tree below dir_fd as a pax tar archive to out_fd, compressed as asked; hard links,
 * xattrs, ACLs, device nodes and numeric owners kept; other mounts below it are not entered. */
int archive_tar_write(int dir_fd, int out_fd, ArchiveCompression c, const ArchiveProgress *progress,
                      ArchiveError *err);

/* Copy the raw image in_fd to the regular file out_fd, decompressing gzip, xz or zstd (found by
 * their magic), leaving holes where the image has zeros. -EBADMSG for a broken stream. */
int archive_raw_unpack(int in_fd, int out_fd, const ArchiveProgress *progress, ArchiveError *err);

/* Copy the raw image in_fd to out_fd, compressed as asked (holes kept when not compressed). */
int archive_raw_pack(int in_fd, int out_fd, ArchiveCompression c, const ArchiveProgress *progress,
                     ArchiveError *err);
