/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/images/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nspawnlite/basic/dlopen-util.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/name.h"

static __typeof__(archive_entry_filetype) *sym_archive_entry_filetype;
static __typeof__(archive_entry_free) *sym_archive_entry_free;
static __typeof__(archive_entry_hardlink) *sym_archive_entry_hardlink;
static __typeof__(archive_entry_linkify) *sym_archive_entry_linkify;
static __typeof__(archive_entry_linkresolver_free) *sym_archive_entry_linkresolver_free;
static __typeof__(archive_entry_linkresolver_new) *sym_archive_entry_linkresolver_new;
static __typeof__(archive_entry_linkresolver_set_strategy) *sym_archive_entry_linkresolver_set_strategy;
static __typeof__(archive_entry_new) *sym_archive_entry_new;
static __typeof__(archive_entry_pathname) *sym_archive_entry_pathname;
static __typeof__(archive_entry_set_filetype) *sym_archive_entry_set_filetype;
static __typeof__(archive_entry_set_pathname) *sym_archive_entry_set_pathname;
static __typeof__(archive_entry_set_perm) *sym_archive_entry_set_perm;
static __typeof__(archive_entry_set_size) *sym_archive_entry_set_size;
static __typeof__(archive_entry_size) *sym_archive_entry_size;
static __typeof__(archive_errno) *sym_archive_errno;
static __typeof__(archive_error_string) *sym_archive_error_string;
static __typeof__(archive_filter_bytes) *sym_archive_filter_bytes;
static __typeof__(archive_format) *sym_archive_format;
static __typeof__(archive_read_data) *sym_archive_read_data;
static __typeof__(archive_read_data_block) *sym_archive_read_data_block;
static __typeof__(archive_read_disk_descend) *sym_archive_read_disk_descend;
static __typeof__(archive_read_disk_new) *sym_archive_read_disk_new;
static __typeof__(archive_read_disk_open) *sym_archive_read_disk_open;
static __typeof__(archive_read_disk_set_behavior) *sym_archive_read_disk_set_behavior;
static __typeof__(archive_read_disk_set_symlink_physical) *sym_archive_read_disk_set_symlink_physical;
static __typeof__(archive_read_free) *sym_archive_read_free;
static __typeof__(archive_read_new) *sym_archive_read_new;
static __typeof__(archive_read_next_header) *sym_archive_read_next_header;
static __typeof__(archive_read_next_header2) *sym_archive_read_next_header2;
static __typeof__(archive_read_open) *sym_archive_read_open;
static __typeof__(archive_set_error) *sym_archive_set_error;
static __typeof__(archive_read_support_filter_gzip) *sym_archive_read_support_filter_gzip;
static __typeof__(archive_read_support_filter_xz) *sym_archive_read_support_filter_xz;
static __typeof__(archive_read_support_filter_zstd) *sym_archive_read_support_filter_zstd;
static __typeof__(archive_read_support_format_raw) *sym_archive_read_support_format_raw;
static __typeof__(archive_read_support_format_tar) *sym_archive_read_support_format_tar;
static __typeof__(archive_write_add_filter_gzip) *sym_archive_write_add_filter_gzip;
static __typeof__(archive_write_add_filter_none) *sym_archive_write_add_filter_none;
static __typeof__(archive_write_add_filter_xz) *sym_archive_write_add_filter_xz;
static __typeof__(archive_write_add_filter_zstd) *sym_archive_write_add_filter_zstd;
static __typeof__(archive_write_close) *sym_archive_write_close;
static __typeof__(archive_write_data) *sym_archive_write_data;
static __typeof__(archive_write_data_block) *sym_archive_write_data_block;
static __typeof__(archive_write_disk_new) *sym_archive_write_disk_new;
static __typeof__(archive_write_disk_set_options) *sym_archive_write_disk_set_options;
static __typeof__(archive_write_finish_entry) *sym_archive_write_finish_entry;
static __typeof__(archive_write_free) *sym_archive_write_free;
static __typeof__(archive_write_header) *sym_archive_write_header;
static __typeof__(archive_write_new) *sym_archive_write_new;
static __typeof__(archive_write_open_fd) *sym_archive_write_open_fd;
static __typeof__(archive_write_set_bytes_in_last_block) *sym_archive_write_set_bytes_in_last_block;
static __typeof__(archive_write_set_format_pax_restricted) *sym_archive_write_set_format_pax_restricted;
static __typeof__(archive_write_set_format_raw) *sym_archive_write_set_format_raw;

static void *archive_handle;
static const DlSymbol archive_symbols[] = {
        DL_SYMBOL(archive_entry_filetype),
        DL_SYMBOL(archive_entry_free),
        DL_SYMBOL(archive_entry_hardlink),
        DL_SYMBOL(archive_entry_linkify),
        DL_SYMBOL(archive_entry_linkresolver_free),
        DL_SYMBOL(archive_entry_linkresolver_new),
        DL_SYMBOL(archive_entry_linkresolver_set_strategy),
        DL_SYMBOL(archive_entry_new),
        DL_SYMBOL(archive_entry_pathname),
        DL_SYMBOL(archive_entry_set_filetype),
        DL_SYMBOL(archive_entry_set_pathname),
        DL_SYMBOL(archive_entry_set_perm),
        DL_SYMBOL(archive_entry_set_size),
        DL_SYMBOL(archive_entry_size),
        DL_SYMBOL(archive_errno),
        DL_SYMBOL(archive_error_string),
        DL_SYMBOL(archive_filter_bytes),
        DL_SYMBOL(archive_format),
        DL_SYMBOL(archive_read_data),
        DL_SYMBOL(archive_read_data_block),
        DL_SYMBOL(archive_read_disk_descend),
        DL_SYMBOL(archive_read_disk_new),
        DL_SYMBOL(archive_read_disk_open),
        DL_SYMBOL(archive_read_disk_set_behavior),
        DL_SYMBOL(archive_read_disk_set_symlink_physical),
        DL_SYMBOL(archive_read_free),
        DL_SYMBOL(archive_read_new),
        DL_SYMBOL(archive_read_next_header),
        DL_SYMBOL(archive_read_next_header2),
        DL_SYMBOL(archive_read_open),
        DL_SYMBOL(archive_set_error),
        DL_SYMBOL(archive_read_support_filter_gzip),
        DL_SYMBOL(archive_read_support_filter_xz),
        DL_SYMBOL(archive_read_support_filter_zstd),
        DL_SYMBOL(archive_read_support_format_raw),
        DL_SYMBOL(archive_read_support_format_tar),
        DL_SYMBOL(archive_write_add_filter_gzip),
        DL_SYMBOL(archive_write_add_filter_none),
        DL_SYMBOL(archive_write_add_filter_xz),
        DL_SYMBOL(archive_write_add_filter_zstd),
        DL_SYMBOL(archive_write_close),
        DL_SYMBOL(archive_write_data),
        DL_SYMBOL(archive_write_data_block),
        DL_SYMBOL(archive_write_disk_new),
        DL_SYMBOL(archive_write_disk_set_options),
        DL_SYMBOL(archive_write_finish_entry),
        DL_SYMBOL(archive_write_free),
        DL_SYMBOL(archive_write_header),
        DL_SYMBOL(archive_write_new),
        DL_SYMBOL(archive_write_open_fd),
        DL_SYMBOL(archive_write_set_bytes_in_last_block),
        DL_SYMBOL(archive_write_set_format_pax_restricted),
        DL_SYMBOL(archive_write_set_format_raw),
};

int archive_dlopen(void) {
        return dlopen_symbols(&archive_handle, SONAME_ARCHIVE, archive_symbols, ELEMENTSOF(archive_symbols));
}

#define BLOCK_SIZE (128 * 1024)

static const struct {
        const char *suffix;
        ArchiveCompression compression;
} compression_suffixes[] = {
        { ".gz", COMPRESSION_GZIP }, { ".tgz", COMPRESSION_GZIP }, { ".xz", COMPRESSION_XZ },
        { ".txz", COMPRESSION_XZ },  { ".zst", COMPRESSION_ZSTD }, { ".tzst", COMPRESSION_ZSTD },
};

/* Taken off a file name, repeatedly, for the image name it suggests. */
static const char *const name_suffixes[] = {
        ".gz", ".xz", ".zst", ".bz2", ".tar", ".tgz", ".txz", ".tzst", ".raw", ".img", ".qcow2",
};

static bool has_suffix(const char *s, size_t n, const char *suffix) {
        size_t k = strlen(suffix);
        return n > k && strncmp(s + n - k, suffix, k) == 0;
}

ArchiveCompression archive_compression_from_path(const char *path) {
        size_t n = strlen(path);
        for (size_t i = 0; i < ELEMENTSOF(compression_suffixes); i++)
                if (has_suffix(path, n, compression_suffixes[i].suffix))
                        return compression_suffixes[i].compression;
        return COMPRESSION_NONE;
}

int archive_entry_name_check(const char *name) {
        if (!name || !*name || name[0] == '/')
                return -EPERM;
        for (const char *p = name; *p;) {
                size_t k = strcspn(p, "/");
                if (k == 2 && p[0] == '.' && p[1] == '.')
                        return -EPERM;
                p += k;
                p += strspn(p, "/");
        }
        return 0;
}

int archive_image_name_from_path(const char *path, char **ret) {
        size_t n = strcspn(path, "?#"); /* a URL's query and fragment are not part of the file */
        while (n > 0 && path[n - 1] == '/')
                n--;
        const char *base = path;
        for (size_t i = 0; i < n; i++)
                if (path[i] == '/')
                        base = path + i + 1;
        n -= (size_t) (base - path);
        for (bool again = true; again;) {
                again = false;
                for (size_t i = 0; i < ELEMENTSOF(name_suffixes); i++)
                        if (has_suffix(base, n, name_suffixes[i])) {
                                n -= strlen(name_suffixes[i]);
                                again = true;
                        }
        }
        char *s = strndup(base, n);
        if (!s)
                return -ENOMEM;
        if (!machine_name_is_valid(s)) {
                free(s);
                return -EINVAL;
        }
        *ret = s;
        return 0;
}

static void archive_read_freep(struct archive **a) {
        if (*a)
                sym_archive_read_free(*a);
}

static void archive_write_freep(struct archive **a) {
        if (*a)
                sym_archive_write_free(*a);
}

static void archive_entry_freep(struct archive_entry **e) {
        if (*e)
                sym_archive_entry_free(*e);
}

static void linkresolver_freep(struct archive_entry_linkresolver **l) {
        if (*l)
                sym_archive_entry_linkresolver_free(*l);
}

/* Back to the directory we were in: libarchive's disk reader and writer work on the cwd. */
static void fchdir_backp(int *fd) {
        if (*fd >= 0)
                (void) fchdir(*fd);
        *fd = safe_close(*fd);
}

static int chdir_into(int dir_fd, int *ret_saved) {
        int saved = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (saved < 0)
                return negative_errno();
        if (fchdir(dir_fd) < 0) {
                int r = negative_errno();
                safe_close(saved);
                return r;
        }
        *ret_saved = saved;
        return 0;
}

static int fail(ArchiveError *err, int r, const char *entry, const char *message) {
        if (err) {
                snprintf(err->entry, sizeof err->entry, "%s", strempty(entry));
                snprintf(err->message, sizeof err->message, "%s", message ?: strerror(-r));
        }
        return r;
}

static int progress_tick(const ArchiveProgress *p, uint64_t done) {
        if (p && p->func)
                return p->func(p->userdata, done, p->total);
        return 0;
}

/* libarchive's own fd reader retries a read() that a signal interrupted, so a verb blocked on a pipe
 * could never stop: ours asks the progress callback then. */
typedef struct {
        int fd;
        const ArchiveProgress *progress;
        uint64_t bytes;
        char buf[BLOCK_SIZE];
} Reader;

static la_ssize_t reader_read(struct archive *a, void *userdata, const void **ret_buf) {
        Reader *rd = userdata;
        for (;;) {
                ssize_t n = read(rd->fd, rd->buf, sizeof rd->buf);
                if (n >= 0) {
                        rd->bytes += (uint64_t) n;
                        *ret_buf = rd->buf;
                        return n;
                }
                if (errno != EINTR) {
                        sym_archive_set_error(a, errno, "%s", strerror(errno));
                        return -1;
                }
                int r = progress_tick(rd->progress, rd->bytes);
                if (r < 0) {
                        sym_archive_set_error(a, -r, "interrupted");
                        return -1;
                }
        }
}

/* rd is the caller's, freed after the archive that reads through it. */
static int reader_open(struct archive *a, Reader *rd, int fd, const ArchiveProgress *progress) {
        if (!rd)
                return -ENOMEM;
        *rd = (Reader){ .fd = fd, .progress = progress };
        if (sym_archive_read_open(a, rd, NULL, reader_read, NULL) != ARCHIVE_OK)
                return -EBADMSG;
        return 0;
}

static int add_compression(struct archive *w, ArchiveCompression c) {
        switch (c) {
        case COMPRESSION_GZIP:
                return sym_archive_write_add_filter_gzip(w);
        case COMPRESSION_XZ:
                return sym_archive_write_add_filter_xz(w);
        case COMPRESSION_ZSTD:
                return sym_archive_write_add_filter_zstd(w);
        default:
                return sym_archive_write_add_filter_none(w);
        }
}

/* The decompressions we accept on input; found by their magic, never by the file's name. */
static int add_decompressions(struct archive *a) {
        if (sym_archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
            sym_archive_read_support_filter_xz(a) != ARCHIVE_OK ||
            sym_archive_read_support_filter_zstd(a) != ARCHIVE_OK)
                return -EOPNOTSUPP;
        return 0;
}

/* Both an entry's name and, for a hard link, its target must stay inside. (libarchive checks them
 * too with the SECURE flags; this says which entry, and holds if a flag is ever dropped.) */
static int entry_check(struct archive_entry *e, ArchiveError *err) {
        const char *name = sym_archive_entry_pathname(e);
        const char *hardlink = sym_archive_entry_hardlink(e);
        if (archive_entry_name_check(name) < 0)
                return fail(err, -EPERM, name, "names a path outside the image");
        if (hardlink && archive_entry_name_check(hardlink) < 0)
                return fail(err, -EPERM, name, "is a hard link to a path outside the image");
        return 0;
}

static int copy_entry_data(struct archive *a, struct archive *w, struct archive_entry *e, ArchiveError *err) {
        for (;;) {
                const void *buf;
                size_t size;
                la_int64_t offset;
                int r = sym_archive_read_data_block(a, &buf, &size, &offset);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r < ARCHIVE_WARN)
                        return fail(err, -EBADMSG, sym_archive_entry_pathname(e),
                                    sym_archive_error_string(a));
                if (sym_archive_write_data_block(w, buf, size, offset) < ARCHIVE_WARN)
                        return fail(err, -EIO, sym_archive_entry_pathname(e), sym_archive_error_string(w));
        }
}

#define EXTRACT_FLAGS                                                                                  \
        (ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR | \
         ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |     \
         ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)

int archive_tar_extract(int in_fd, int dir_fd, const ArchiveProgress *progress, ArchiveError *err) {
        if (archive_dlopen() < 0)
                return fail(err, -EOPNOTSUPP, NULL, "libarchive is not installed");
        _cleanup_free_ Reader *rd = malloc(sizeof(Reader)); /* freed after a, which reads through it */
        _cleanup_(archive_read_freep) struct archive *a = sym_archive_read_new();
        _cleanup_(archive_write_freep) struct archive *w = sym_archive_write_disk_new();
        if (!a || !w)
                return -ENOMEM;
        if (add_decompressions(a) < 0 || sym_archive_read_support_format_tar(a) != ARCHIVE_OK)
                return fail(err, -EOPNOTSUPP, NULL, sym_archive_error_string(a));
        /* No user lookup: owners stay the guest's numbers, never the host's names for them. FFLAGS
         * (chattr +i) not restored: it would make the temporary impossible to remove. */
        if (sym_archive_write_disk_set_options(w, EXTRACT_FLAGS) != ARCHIVE_OK)
                return fail(err, -EOPNOTSUPP, NULL, sym_archive_error_string(w));
        if (reader_open(a, rd, in_fd, progress) < 0)
                return fail(err, -EBADMSG, NULL, sym_archive_error_string(a));

        _cleanup_(fchdir_backp) int saved = -EBADF;
        int r = chdir_into(dir_fd, &saved);
        if (r < 0)
                return fail(err, r, NULL, NULL);

        size_t entries = 0;
        for (;;) {
                struct archive_entry *e;
                r = sym_archive_read_next_header(a, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return fail(err, -EBADMSG, NULL, sym_archive_error_string(a));
                r = entry_check(e, err);
                if (r < 0)
                        return r;
                if (sym_archive_write_header(w, e) < ARCHIVE_WARN)
                        return fail(err, sym_archive_errno(w) == ENOSPC ? -ENOSPC : -EPERM,
                                    sym_archive_entry_pathname(e), sym_archive_error_string(w));
                r = copy_entry_data(a, w, e, err);
                if (r < 0)
                        return r;
                if (sym_archive_write_finish_entry(w) < ARCHIVE_WARN)
                        return fail(err, -EIO, sym_archive_entry_pathname(e), sym_archive_error_string(w));
                entries++;
                r = progress_tick(progress, (uint64_t) sym_archive_filter_bytes(a, -1));
                if (r < 0)
                        return fail(err, r, NULL, "interrupted");
        }
        if (entries == 0)
                return fail(err, -ENODATA, NULL, "holds no files");
        /* Directories' modes and times are set at the close, once nothing more is written in them. */
        if (sym_archive_write_close(w) != ARCHIVE_OK)
                return fail(err, -EIO, NULL, sym_archive_error_string(w));
        (void) progress_tick(progress, (uint64_t) sym_archive_filter_bytes(a, -1));
        return 0;
}

static int write_disk_entry(struct archive *disk, struct archive *w, struct archive_entry *e,
                            ArchiveError *err) {
        if (sym_archive_write_header(w, e) < ARCHIVE_WARN)
                return fail(err, -EIO, sym_archive_entry_pathname(e), sym_archive_error_string(w));
        if (sym_archive_entry_size(e) <= 0 || sym_archive_entry_filetype(e) != AE_IFREG)
                return 0;
        char buf[BLOCK_SIZE];
        for (;;) {
                la_ssize_t n = sym_archive_read_data(disk, buf, sizeof buf);
                if (n == 0)
                        return 0;
                if (n < 0)
                        return fail(err, -EIO, sym_archive_entry_pathname(e), sym_archive_error_string(disk));
                if (sym_archive_write_data(w, buf, (size_t) n) < 0)
                        return fail(err, -EIO, sym_archive_entry_pathname(e), sym_archive_error_string(w));
        }
}

static int tar_writer(int out_fd, ArchiveCompression c, struct archive **ret, ArchiveError *err) {
        _cleanup_(archive_write_freep) struct archive *w = sym_archive_write_new();
        if (!w)
                return -ENOMEM;
        /* pax: long names, xattrs, ACLs and large ids all fit. */
        if (sym_archive_write_set_format_pax_restricted(w) != ARCHIVE_OK ||
            add_compression(w, c) != ARCHIVE_OK ||
            sym_archive_write_set_bytes_in_last_block(w, 1) != ARCHIVE_OK)
                return fail(err, -EOPNOTSUPP, NULL, sym_archive_error_string(w));
        if (sym_archive_write_open_fd(w, out_fd) != ARCHIVE_OK)
                return fail(err, -EIO, NULL, sym_archive_error_string(w));
        *ret = TAKE_PTR(w);
        return 0;
}

int archive_tar_write(int dir_fd, int out_fd, ArchiveCompression c, const ArchiveProgress *progress,
                      ArchiveError *err) {
        if (archive_dlopen() < 0)
                return fail(err, -EOPNOTSUPP, NULL, "libarchive is not installed");
        _cleanup_(archive_read_freep) struct archive *disk = sym_archive_read_disk_new();
        _cleanup_(linkresolver_freep) struct archive_entry_linkresolver *links =
                sym_archive_entry_linkresolver_new();
        if (!disk || !links)
                return -ENOMEM;
        _cleanup_(archive_write_freep) struct archive *w = NULL;
        int r = tar_writer(out_fd, c, &w, err);
        if (r < 0)
                return r;
        sym_archive_entry_linkresolver_set_strategy(links, sym_archive_format(w));
        if (sym_archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS) != ARCHIVE_OK ||
            sym_archive_read_disk_set_symlink_physical(disk) != ARCHIVE_OK)
                return fail(err, -EOPNOTSUPP, NULL, sym_archive_error_string(disk));

        _cleanup_(fchdir_backp) int saved = -EBADF;
        r = chdir_into(dir_fd, &saved);
        if (r < 0)
                return fail(err, r, NULL, NULL);
        if (sym_archive_read_disk_open(disk, ".") != ARCHIVE_OK)
                return fail(err, -EIO, NULL, sym_archive_error_string(disk));

        for (;;) {
                _cleanup_(archive_entry_freep) struct archive_entry *e = sym_archive_entry_new();
                if (!e)
                        return -ENOMEM;
                r = sym_archive_read_next_header2(disk, e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return fail(err, -EIO, sym_archive_entry_pathname(e), sym_archive_error_string(disk));
                if (sym_archive_read_disk_descend(disk) < ARCHIVE_WARN)
                        return fail(err, -EIO, sym_archive_entry_pathname(e), sym_archive_error_string(disk));
                /* The second name of a hard link becomes a link entry without data (the tar
                 * strategy hands back the entry itself, never a deferred one). */
                struct archive_entry *spare = NULL;
                sym_archive_entry_linkify(links, &e, &spare);
                if (e) {
                        r = write_disk_entry(disk, w, e, err);
                        if (r < 0)
                                return r;
                }
                r = progress_tick(progress, (uint64_t) sym_archive_filter_bytes(w, -1));
                if (r < 0)
                        return fail(err, r, NULL, "interrupted");
        }
        if (sym_archive_write_close(w) != ARCHIVE_OK)
                return fail(err, -EIO, NULL, sym_archive_error_string(w));
        (void) progress_tick(progress, (uint64_t) sym_archive_filter_bytes(w, -1));
        return 0;
}

static bool all_zero(const void *buf, size_t n) {
        const unsigned char *p = buf;
        return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Write buf at the output's position, or (sparse) skip over it when it is all zeros: a hole. */
static int write_sparse(int fd, const void *buf, size_t n, bool sparse) {
        if (sparse && all_zero(buf, n))
                return lseek(fd, (off_t) n, SEEK_CUR) < 0 ? negative_errno() : 0;
        const char *p = buf;
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Holes only in a regular file: a pipe (export to standard output) gets every byte. */
static bool can_be_sparse(int fd) {
        struct stat st;
        return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* The file's size is where the output stands: a trailing hole needs it set. */
static int finish_sparse(int fd, bool sparse) {
        if (!sparse)
                return 0;
        off_t end = lseek(fd, 0, SEEK_CUR);
        if (end < 0 || ftruncate(fd, end) < 0)
                return negative_errno();
        return 0;
}

int archive_raw_unpack(int in_fd, int out_fd, const ArchiveProgress *progress, ArchiveError *err) {
        if (archive_dlopen() < 0)
                return fail(err, -EOPNOTSUPP, NULL, "libarchive is not installed");
        _cleanup_free_ Reader *rd = malloc(sizeof(Reader)); /* freed after a, which reads through it */
        _cleanup_(archive_read_freep) struct archive *a = sym_archive_read_new();
        if (!a)
                return -ENOMEM;
        if (add_decompressions(a) < 0 || sym_archive_read_support_format_raw(a) != ARCHIVE_OK)
                return fail(err, -EOPNOTSUPP, NULL, sym_archive_error_string(a));
        if (reader_open(a, rd, in_fd, progress) < 0)
                return fail(err, -EBADMSG, NULL, sym_archive_error_string(a));
        struct archive_entry *e;
        int r = sym_archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
                return fail(err, -ENODATA, NULL, "is empty");
        if (r < ARCHIVE_WARN)
                return fail(err, -EBADMSG, NULL, sym_archive_error_string(a));
        _cleanup_free_ char *buf = malloc(BLOCK_SIZE);
        if (!buf)
                return -ENOMEM;
        bool sparse = can_be_sparse(out_fd);
        int k;
        for (uint64_t done = 0;;) {
                la_ssize_t n = sym_archive_read_data(a, buf, BLOCK_SIZE);
                if (n == 0)
                        break;
                if (n < 0)
                        return fail(err, -EBADMSG, NULL, sym_archive_error_string(a));
                r = write_sparse(out_fd, buf, (size_t) n, sparse);
                if (r < 0)
                        return fail(err, r, NULL, NULL);
                done += (uint64_t) n;
                if (done % (16 * BLOCK_SIZE) == 0 &&
                    (k = progress_tick(progress, (uint64_t) sym_archive_filter_bytes(a, -1))) < 0)
                        return fail(err, k, NULL, "interrupted");
        }
        (void) progress_tick(progress, (uint64_t) sym_archive_filter_bytes(a, -1));
        r = finish_sparse(out_fd, sparse);
        return r < 0 ? fail(err, r, NULL, NULL) : 0;
}

/* Where pump() puts each block; on failure it fills err and returns -errno. */
typedef int (*PumpSink)(void *userdata, const void *buf, size_t n, ArchiveError *err);

/* in_fd to the sink, a block at a time, with progress; a signal that interrupts a read stops the
 * pump when the verb asked to stop (progress says so). */
static int pump(int in_fd, PumpSink sink, void *userdata, const ArchiveProgress *progress,
                ArchiveError *err) {
        _cleanup_free_ char *buf = malloc(BLOCK_SIZE);
        if (!buf)
                return -ENOMEM;
        int k;
        for (uint64_t done = 0;;) {
                ssize_t n = read(in_fd, buf, BLOCK_SIZE);
                if (n < 0 && errno == EINTR) {
                        if ((k = progress_tick(progress, done)) < 0) /* a verb asked to stop */
                                return fail(err, k, NULL, "interrupted");
                        continue;
                }
                if (n < 0)
                        return fail(err, negative_errno(), NULL, NULL);
                if (n == 0)
                        return 0;
                int r = sink(userdata, buf, (size_t) n, err);
                if (r < 0)
                        return r;
                done += (uint64_t) n;
                if (done % (16 * BLOCK_SIZE) == 0 && (k = progress_tick(progress, done)) < 0)
                        return fail(err, k, NULL, "interrupted");
        }
}

typedef struct {
        int fd;
        bool sparse;
} SparseFile;

static int sink_sparse(void *userdata, const void *buf, size_t n, ArchiveError *err) {
        SparseFile *f = userdata;
        int r = write_sparse(f->fd, buf, n, f->sparse);
        return r < 0 ? fail(err, r, NULL, NULL) : 0;
}

static int sink_archive(void *userdata, const void *buf, size_t n, ArchiveError *err) {
        struct archive *w = userdata;
        return sym_archive_write_data(w, buf, n) < 0 ? fail(err, -EIO, NULL, sym_archive_error_string(w)) : 0;
}

static int raw_copy(int in_fd, int out_fd, const ArchiveProgress *progress, ArchiveError *err) {
        SparseFile f = { .fd = out_fd, .sparse = can_be_sparse(out_fd) };
        int r = pump(in_fd, sink_sparse, &f, progress, err);
        if (r < 0)
                return r;
        r = finish_sparse(out_fd, f.sparse);
        return r < 0 ? fail(err, r, NULL, NULL) : 0;
}

int archive_raw_pack(int in_fd, int out_fd, ArchiveCompression c, const ArchiveProgress *progress,
                     ArchiveError *err) {
        if (archive_dlopen() < 0)
                return fail(err, -EOPNOTSUPP, NULL, "libarchive is not installed");
        if (c == COMPRESSION_NONE)
                return raw_copy(in_fd, out_fd, progress, err);

        struct stat st;
        if (fstat(in_fd, &st) < 0)
                return negative_errno();
        _cleanup_(archive_write_freep) struct archive *w = sym_archive_write_new();
        _cleanup_(archive_entry_freep) struct archive_entry *e = sym_archive_entry_new();
        if (!w || !e)
                return -ENOMEM;
        if (sym_archive_write_set_format_raw(w) != ARCHIVE_OK || add_compression(w, c) != ARCHIVE_OK ||
            sym_archive_write_set_bytes_in_last_block(w, 1) != ARCHIVE_OK)
                return fail(err, -EOPNOTSUPP, NULL, sym_archive_error_string(w));
        if (sym_archive_write_open_fd(w, out_fd) != ARCHIVE_OK)
                return fail(err, -EIO, NULL, sym_archive_error_string(w));
        sym_archive_entry_set_pathname(e, "image.raw");
        sym_archive_entry_set_filetype(e, AE_IFREG);
        sym_archive_entry_set_perm(e, 0644);
        sym_archive_entry_set_size(e, st.st_size);
        if (sym_archive_write_header(w, e) != ARCHIVE_OK)
                return fail(err, -EIO, NULL, sym_archive_error_string(w));
        int r = pump(in_fd, sink_archive, w, progress, err);
        if (r < 0)
                return r;
        if (sym_archive_write_close(w) != ARCHIVE_OK)
                return fail(err, -EIO, NULL, sym_archive_error_string(w));
        (void) progress_tick(progress, (uint64_t) st.st_size);
        return 0;
}
