/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/cli/verbs-transfer.h"
#include "nspawnlite/cli/verbs.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "machines/images/archive.h"
#include "machines/images/image-probe.h"
#include "machines/images/pull.h"
#include "machines/images/store.h"
#include "nspawnlite/basic/format-util.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/name.h"
#include "nspawnlite/basic/path-util.h"
#include "nspawnlite/cli/progress.h"

/* SHA256SUMS and its signature are small; anything bigger is not one. */
#define SUMS_MAX      (1024 * 1024)
#define SIGNATURE_MAX (64 * 1024)

static const struct {
        const char *verb;
        const char *usage;
        const char *text;
} transfer_help_table[] = {
        { "import-tar", "import-tar FILE|- [NAME]",
          "Import a tar archive (plain, .gz, .xz or .zst) as the directory image NAME of the store\n"
          "(default: the file name without its suffixes). Owners, modes, xattrs, ACLs, device nodes and\n"
          "hard links are kept; an entry that would land outside the image refuses the archive." },
        { "import-raw", "import-raw FILE [NAME]",
          "Import a disk image (plain, .gz, .xz or .zst) as NAME.raw in the store; a file that holds\n"
          "no partition table or filesystem that nspawnlite boots is refused." },
        { "export-tar", "export-tar NAME FILE|-",
          "Write the directory image NAME as a tar archive to FILE (a new file), compressed as its\n"
          "suffix says: .gz, .xz, .zst, none otherwise; '-' writes it uncompressed to standard output." },
        { "export-raw", "export-raw NAME FILE|-",
          "Copy the raw image NAME to FILE (a new file), compressed as its suffix says; '-' to\n"
          "standard output." },
        { "pull-tar", "pull-tar URL [NAME] [--verify=no|checksum|signature]",
          "Download a tar archive over HTTP(S) and import it as import-tar does.\n"
          "--verify=signature (default) checks SHA256SUMS.gpg beside the file with gpgv against the\n"
          "keyring " PULL_KEYRING_DEFAULT " ($NSPAWNLITE_IMPORT_KEYRING\n"
          "overrides it), then the file against SHA256SUMS; checksum checks SHA256SUMS only; no\n"
          "checks nothing." },
        { "pull-raw", "pull-raw URL [NAME] [--verify=no|checksum|signature]",
          "Download a disk image over HTTP(S) and import it as import-raw does; --verify= as for\n"
          "pull-tar." },
};

static void help(const char *verb) {
        for (size_t i = 0; i < ELEMENTSOF(transfer_help_table); i++)
                if (strcmp(transfer_help_table[i].verb, verb) == 0)
                        printf("nspawnlite %s\n\n%s\n", transfer_help_table[i].usage,
                               transfer_help_table[i].text);
}

/* --help, and --verify= where the verb pulls; positional arguments stay in argv[optind…]. 1 after
 * --help, 0, or -EINVAL after saying what was wrong. */
static int parse_options(int argc, char **argv, bool pull, PullVerify *ret_verify) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "verify", required_argument, NULL, 'v' },
                {},
        };
        PullVerify verify = PULL_VERIFY_SIGNATURE;
        optind = 0;
        opterr = 0;
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help(argv[0]);
                        return 1;
                case 'v':
                        if (!pull)
                                goto unknown;
                        if (pull_verify_from_string(optarg, &verify) < 0)
                                return log_error("Invalid --verify= '%s': use no, checksum or signature.",
                                                 optarg),
                                       -EINVAL;
                        break;
                default:
                unknown:
                        return log_error(
                                       "Unknown option or missing argument '%s'. See 'nspawnlite %s --help'.",
                                       argv[optind - 1], argv[0]),
                               -EINVAL;
                }
        if (ret_verify)
                *ret_verify = verify;
        return 0;
}

/* The positional arguments: between min and max of them. */
static int positional(int argc, char **argv, int min, int max) {
        int n = argc - optind;
        if (n < min || n > max) {
                const char *usage = argv[0];
                for (size_t i = 0; i < ELEMENTSOF(transfer_help_table); i++)
                        if (strcmp(transfer_help_table[i].verb, argv[0]) == 0)
                                usage = transfer_help_table[i].usage;
                return log_error("Usage: nspawnlite %s", usage), -EINVAL;
        }
        return 0;
}

/* The archive engine's progress callback, onto cli/progress.h. */
static int progress_report(void *userdata, uint64_t done, uint64_t total) {
        return progress_update(userdata, done, total);
}

static ArchiveProgress progress_hook(Progress *p, uint64_t total) {
        return (ArchiveProgress){ .func = progress_report, .userdata = p, .total = total };
}

/* The libraries are loaded on first use (basic/dlopen-util.h): say which one is missing. */
static int load_libraries(bool pull) {
        if (archive_dlopen() < 0)
                return log_error_errno(-EOPNOTSUPP, "libarchive is not installed: apt install libarchive13."),
                       -EOPNOTSUPP;
        if (pull && pull_dlopen() < 0)
                return log_error_errno(
                               -EOPNOTSUPP,
                               "libcurl or libcrypto is not installed: apt install libcurl4 libssl3."),
                       -EOPNOTSUPP;
        return 0;
}

/* --- the store */

static int open_store(int *ret_fd) {
        if (store_dir_safe(true) < 0)
                return -EPERM;
        int r = store_open(ret_fd);
        if (r < 0)
                return log_error_errno(r, "Failed to open the image store %s: %m", store_dir());
        return 0;
}

/* NAME given, or the one the file name suggests; valid and not taken yet. */
static int pick_name(const char *given, const char *source, int store_fd, char **ret) {
        _cleanup_free_ char *name = NULL;
        if (given) {
                if (!machine_name_is_valid(given))
                        return log_error("Invalid image name '%s': use letters, digits, '.', '_' and '-', at "
                                         "most %d "
                                         "characters.",
                                         given, MACHINE_NAME_MAX),
                               -EINVAL;
                name = strdup(given);
                if (!name)
                        return log_error_errno(-ENOMEM, "Out of memory.");
        } else if (archive_image_name_from_path(source, &name) < 0)
                return log_error("Cannot make an image name of '%s': give NAME as the second argument.",
                                 source),
                       -EINVAL;
        StoreImage img;
        int r = store_find(store_fd, name, &img);
        if (r >= 0)
                return log_error("An image named '%s' exists already in %s: remove it or give another NAME.",
                                 name, store_dir()),
                       -EEXIST;
        if (r != -ENOENT)
                return log_error_errno(r, "Failed to look up image '%s' in %s: %m", name, store_dir());
        *ret = TAKE_PTR(name);
        return 0;
}

static int log_archive_error(int r, const char *verb, const char *what, const ArchiveError *err) {
        if (interrupted())
                return log_error_errno(-EINTR, "Interrupted: %s was not %sed, nothing of it is left.", what,
                                       verb);
        const char *why = err->message[0] ? err->message : strerror(-r);
        if (r == -ENODATA)
                return log_error_errno(r, "Failed to %s %s: it %s; nothing was imported.", verb, what, why);
        if (err->entry[0])
                return log_error_errno(r, "Failed to %s %s: entry '%s': %s; nothing was imported.", verb,
                                       what, err->entry, why);
        if (r == -EBADMSG)
                return log_error_errno(r, "Failed to %s %s: not a valid archive (%s); nothing was imported.",
                                       verb, what, why);
        return log_error_errno(r, "Failed to %s %s: %s; nothing was imported.", verb, what, why);
}

static void store_temp_abortp(StoreTemp *t) {
        store_abort(t);
}

/* Refuse a file that holds nothing we can boot: no partition table, no filesystem, no root. */
static int check_image(int fd, const char *what) {
        _cleanup_free_ ImagePartition *parts = NULL;
        size_t n;
        uint64_t size = 0;
        int r = image_probe(fd, &parts, &n, &size);
        if (r == -ENOPKG)
                return log_error_errno(r, "Cannot read %s: libblkid.so.1 is missing (install libblkid1).",
                                       what);
        if (r < 0)
                return log_error_errno(
                        r,
                        "%s is no disk image (no partition table or filesystem found); nothing "
                        "was imported.",
                        what);
        ImageChoice choice;
        size_t bad;
        r = image_choose(parts, n, size, &choice, &bad);
        if (r < 0)
                return log_error_errno(r,
                                       "%s holds no root filesystem nspawnlite can boot (%m); nothing was "
                                       "imported.",
                                       what);
        return 0;
}

/* Import what in_fd holds (a tar archive, or a raw image) as the image name: into a hidden
 * temporary of the store, renamed at the end; on any failure the temporary goes. */
static int import_fd(int store_fd, int in_fd, const char *what, const char *name, bool raw, uint64_t total) {
        _cleanup_(store_temp_abortp) StoreTemp t = STORE_TEMP_NULL;
        int r = -ENOTTY;
        if (!raw) /* a subvolume where the store is on btrfs: clones are snapshots then */
                r = store_begin(store_fd, name, STORE_SUBVOLUME, &t);
        if (r == -ENOTTY)
                r = store_begin(store_fd, name, raw ? STORE_RAW : STORE_DIRECTORY, &t);
        if (r == -EEXIST)
                return log_error_errno(
                        r, "An image named '%s' exists already in %s: remove it or give another NAME.", name,
                        store_dir());
        if (r < 0)
                return log_error_errno(r, "Failed to make a temporary for image '%s' in %s: %m", name,
                                       store_dir());

        Progress p;
        ArchiveError err = {};
        progress_begin(&p, raw ? "Copying image" : "Extracting");
        ArchiveProgress hook = progress_hook(&p, total);
        r = raw ? archive_raw_unpack(in_fd, t.fd, &hook, &err)
                : archive_tar_extract(in_fd, t.fd, &hook, &err);
        progress_end(&p, r >= 0);
        if (r < 0)
                return log_archive_error(r, "import", what, &err);
        if (raw && (r = check_image(t.fd, what)) < 0)
                return r;
        r = store_commit(&t);
        if (r == -EEXIST)
                return log_error_errno(r,
                                       "An image named '%s' appeared in %s meanwhile: nothing was imported.",
                                       name, store_dir());
        if (r < 0)
                return log_error_errno(r, "Failed to rename the temporary of image '%s' in %s: %m", name,
                                       store_dir());
        log_info("Imported %s as image '%s'.", what, name);
        return 0;
}

static int open_input(const char *path, int *ret_fd, uint64_t *ret_size) {
        int fd = strcmp(path, "-") == 0 ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3)
                                        : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return log_error_errno(negative_errno(), "Cannot open %s: %m", path);
        struct stat st;
        *ret_size = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t) st.st_size : 0;
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
                close(fd);
                return log_error_errno(-EISDIR, "%s is a directory: import-fs imports trees.", path);
        }
        *ret_fd = fd;
        return 0;
}

static int verb_import(int argc, char **argv, bool raw) {
        int r = parse_options(argc, argv, false, NULL);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (positional(argc, argv, 1, 2) < 0)
                return 2;
        const char *file = argv[optind], *given = argv[optind + 1];
        if (strcmp(file, "-") == 0 && !given)
                return log_error("Importing from standard input needs a NAME: nspawnlite %s - NAME.",
                                 argv[0]),
                       2;

        _cleanup_close_ int store_fd = -EBADF, in_fd = -EBADF;
        _cleanup_free_ char *name = NULL;
        uint64_t size = 0;
        interrupts_catch();
        if (load_libraries(false) < 0 || open_store(&store_fd) < 0 ||
            pick_name(given, file, store_fd, &name) < 0 || open_input(file, &in_fd, &size) < 0)
                return 1;
        return import_fd(store_fd, in_fd, strcmp(file, "-") == 0 ? "standard input" : file, name, raw, size) <
               0;
}

int verb_import_tar(int argc, char **argv) {
        return verb_import(argc, argv, false);
}

int verb_import_raw(int argc, char **argv) {
        return verb_import(argc, argv, true);
}

/* --- export: to an unnamed file beside FILE, linked to its name at the end (never over one). */

static int open_output(const char *path, int *ret_fd) {
        if (strcmp(path, "-") == 0) {
                if (isatty(STDOUT_FILENO) == 1)
                        return log_error_errno(-EINVAL,
                                               "Standard output is a terminal: give a FILE, or redirect it."),
                               -EINVAL;
                int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return log_error_errno(negative_errno(), "Cannot write to standard output: %m");
                *ret_fd = fd;
                return 0;
        }
        if (faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return log_error_errno(-EEXIST, "%s exists: remove it first or choose another FILE.", path);
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return log_error_errno(-ENOMEM, "Out of memory.");
        int fd = open(dirname(copy), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0)
                return log_error_errno(negative_errno(), "Cannot write in the directory of %s: %m", path);
        *ret_fd = fd;
        return 0;
}

static int link_output(int fd, const char *path) {
        FdPath fp = fd_path(fd);
        if (linkat(AT_FDCWD, fp.path, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0) {
                int r = negative_errno();
                if (r == -EEXIST)
                        return log_error_errno(r, "%s appeared meanwhile: nothing was written to it.", path);
                return log_error_errno(r, "Failed to create %s: %m", path);
        }
        return 0;
}

/* The image NAME, of the kind wanted, locked shared (a machine may read it, none may write it). */
static int open_image(int store_fd, const char *name, bool raw, int *ret_fd, int *ret_lock) {
        StoreImage img;
        if (!machine_name_is_valid(name))
                return log_error("Invalid image name '%s': use letters, digits, '.', '_' and '-'.", name),
                       -EINVAL;
        int r = store_find(store_fd, name, &img);
        if (r == -ENOENT)
                return log_error_errno(r, "No image '%s' in %s (see 'nspawnlite list-images').", name,
                                       store_dir());
        if (r < 0)
                return log_error_errno(r, "Failed to look up image '%s' in %s: %m", name, store_dir());
        if (raw != (img.kind == STORE_RAW))
                return log_error_errno(-EMEDIUMTYPE, "Image '%s' is a %s: use %s.", name,
                                       store_kind_to_string(img.kind), raw ? "export-tar" : "export-raw");
        r = store_lock_image(store_fd, name, false, ret_lock);
        if (r == -EBUSY)
                return log_error_errno(
                        r,
                        "Image '%s' is in use by a machine that writes to it: export it once the "
                        "machine stopped.",
                        name);
        if (r < 0)
                return log_error_errno(r, "Failed to lock image '%s': %m", name);
        int fd = openat(store_fd, img.file,
                        (raw ? O_RDONLY : O_RDONLY | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(negative_errno(), "Failed to open image '%s': %m", name);
        *ret_fd = fd;
        return 0;
}

static int verb_export(int argc, char **argv, bool raw) {
        int r = parse_options(argc, argv, false, NULL);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (positional(argc, argv, 2, 2) < 0)
                return 2;
        const char *name = argv[optind], *file = argv[optind + 1];
        _cleanup_close_ int store_fd = -EBADF, image_fd = -EBADF, lock_fd = -EBADF, out_fd = -EBADF;
        interrupts_catch();
        if (load_libraries(false) < 0 || open_store(&store_fd) < 0 ||
            open_image(store_fd, name, raw, &image_fd, &lock_fd) < 0 || open_output(file, &out_fd) < 0)
                return 1;

        Progress p;
        ArchiveError err = {};
        struct stat st;
        progress_begin(&p, "Exporting");
        ArchiveProgress hook =
                progress_hook(&p, raw && fstat(image_fd, &st) == 0 ? (uint64_t) st.st_size : 0);
        ArchiveCompression c = archive_compression_from_path(file);
        r = raw ? archive_raw_pack(image_fd, out_fd, c, &hook, &err)
                : archive_tar_write(image_fd, out_fd, c, &hook, &err);
        progress_end(&p, r >= 0);
        if (r < 0 && interrupted())
                return log_error("Interrupted: %s was not written.", file), 1;
        if (r < 0) {
                const char *why = err.message[0] ? err.message : strerror(-r);
                if (err.entry[0])
                        return log_error_errno(
                                       r, "Failed to export image '%s': at '%s': %s; %s was not written.",
                                       name, err.entry, why, file),
                               1;
                return log_error_errno(r, "Failed to export image '%s': %s; %s was not written.", name, why,
                                       file),
                       1;
        }
        if (strcmp(file, "-") == 0)
                return 0;
        if (fsync(out_fd) < 0)
                return log_error_errno(negative_errno(), "Failed to write %s: %m", file), 1;
        if (link_output(out_fd, file) < 0)
                return 1;
        log_info("Exported image '%s' to %s.", name, file);
        return 0;
}

int verb_export_tar(int argc, char **argv) {
        return verb_export(argc, argv, false);
}

int verb_export_raw(int argc, char **argv) {
        return verb_export(argc, argv, true);
}

/* --- pull */

/* url for a message: its user and password are never shown. NULL only when out of memory. */
static char *url_shown(const char *url) {
        char *s = NULL;
        (void) pull_url_redact(url, &s);
        return s;
}
#define SHOWN(s) ((s) ?: "the URL")

static int log_download_error(int r, const char *url, const char *curl_says) {
        if (interrupted())
                return log_error_errno(-EINTR,
                                       "Interrupted: the download of %s stopped; nothing was imported.", url);
        switch (r) {
        case -ENOENT:
                return log_error_errno(r, "%s: not found on the server (HTTP 404); nothing was imported.",
                                       url);
        case -ETIMEDOUT:
                return log_error_errno(r, "Download of %s stalled or timed out (%s); nothing was imported.",
                                       url, curl_says);
        case -EFBIG:
                return log_error_errno(r, "%s is too big for what it should be; nothing was imported.", url);
        default:
                return log_error_errno(r, "Failed to download %s: %s; nothing was imported.", url,
                                       *curl_says ? curl_says : strerror(-r));
        }
}

static int download(const char *url, int fd, size_t max, const char *step, uint8_t sha256[SHA256_SIZE]) {
        PullLimits limits;
        pull_limits_from_env(&limits);
        Progress p;
        progress_begin(&p, step);
        ArchiveProgress hook = progress_hook(&p, 0);
        char curl_says[256] = "";
        int r = pull_download(url, fd, max, &limits, &hook, sha256, curl_says, sizeof curl_says);
        progress_end(&p, r >= 0);
        _cleanup_free_ char *shown = r < 0 ? url_shown(url) : NULL;
        return r < 0 ? log_download_error(r, SHOWN(shown), curl_says) : 0;
}

/* A small file beside url, into a memfd (for gpgv) and, if wanted, a NUL-terminated copy. */
static int download_small(const char *url, const char *name, size_t max, int *ret_fd, char **ret_text) {
        _cleanup_free_ char *sibling = NULL;
        if (pull_url_sibling(url, name, &sibling) < 0)
                return log_error_errno(-ENOMEM, "Out of memory.");
        _cleanup_close_ int fd = memfd_create(name, MFD_CLOEXEC);
        uint8_t sha[SHA256_SIZE];
        if (fd < 0)
                return log_error_errno(negative_errno(), "Failed to make a buffer for %s: %m", name);
        int r = download(sibling, fd, max, name, sha);
        if (r < 0)
                return r;
        if (ret_text) {
                off_t size = lseek(fd, 0, SEEK_END);
                _cleanup_free_ char *text = size >= 0 ? calloc(1, (size_t) size + 1) : NULL;
                if (!text || pread(fd, text, (size_t) size, 0) != size)
                        return log_error_errno(-EIO, "Failed to read the downloaded %s.", name);
                *ret_text = TAKE_PTR(text);
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* SHA256SUMS beside url (and its signature checked, for signature) and url's line in it. */
static int fetch_checksum(const char *url, const char *file_name, PullVerify verify,
                          uint8_t ret[SHA256_SIZE]) {
        const char *keyring = pull_keyring();
        _cleanup_free_ char *shown = url_shown(url);
        if (verify == PULL_VERIFY_SIGNATURE && access(keyring, R_OK) < 0)
                return log_error_errno(
                        negative_errno(),
                        "Keyring %s: %m; put the publisher's keys there (or set "
                        "NSPAWNLITE_IMPORT_KEYRING), or pass --verify=checksum or --verify=no.",
                        keyring);
        _cleanup_close_ int sums_fd = -EBADF, sig_fd = -EBADF;
        _cleanup_free_ char *sums = NULL;
        int r = download_small(url, "SHA256SUMS", SUMS_MAX, &sums_fd, &sums);
        if (r < 0)
                return r;
        if (verify == PULL_VERIFY_SIGNATURE) {
                r = download_small(url, "SHA256SUMS.gpg", SIGNATURE_MAX, &sig_fd, NULL);
                if (r < 0)
                        return r;
                r = pull_gpgv(keyring, sums_fd, sig_fd);
                if (r == -ENOENT)
                        return log_error_errno(
                                r,
                                "Cannot check the signature: gpgv is not installed (apt install "
                                "gpgv) or %s is unreadable.",
                                keyring);
                if (r < 0)
                        return log_error_errno(
                                r,
                                "Bad signature: SHA256SUMS.gpg beside %s is not a valid signature "
                                "of SHA256SUMS by a key of %s; nothing was imported.",
                                SHOWN(shown), keyring);
        }
        r = pull_sums_find(sums, strlen(sums), file_name, ret);
        if (r == -ENOENT)
                return log_error_errno(r, "SHA256SUMS beside %s does not list %s; nothing was imported.",
                                       SHOWN(shown), file_name);
        if (r < 0)
                return log_error_errno(
                        r, "SHA256SUMS beside %s has a malformed line for %s; nothing was imported.",
                        SHOWN(shown), file_name);
        return 0;
}

static int verb_pull(int argc, char **argv, bool raw) {
        PullVerify verify;
        int r = parse_options(argc, argv, true, &verify);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (positional(argc, argv, 1, 2) < 0)
                return 2;
        const char *url = argv[optind], *given = argv[optind + 1];
        _cleanup_free_ char *file_name = NULL, *name = NULL, *shown = url_shown(url);
        if (pull_url_check(url) < 0 || pull_url_file_name(url, &file_name) < 0)
                return log_error("Invalid URL '%s': use an http:// or https:// URL of a file.", SHOWN(shown)),
                       2;

        _cleanup_close_ int store_fd = -EBADF, fd = -EBADF;
        interrupts_catch();
        if (load_libraries(true) < 0 || open_store(&store_fd) < 0 ||
            pick_name(given, file_name, store_fd, &name) < 0)
                return 1;
        uint8_t want[SHA256_SIZE], got[SHA256_SIZE];
        if (verify != PULL_VERIFY_NO && fetch_checksum(url, file_name, verify, want) < 0)
                return 1;
        /* Unnamed, in the store's filesystem: a killed pull leaves nothing to clean up. */
        fd = openat(store_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0)
                return log_error_errno(negative_errno(), "Failed to make a download file in %s: %m",
                                       store_dir()),
                       1;
        if (download(url, fd, 0, "Downloading", got) < 0)
                return 1;
        if (verify != PULL_VERIFY_NO && memcmp(want, got, SHA256_SIZE) != 0)
                return log_error("Checksum mismatch: %s does not match its line in SHA256SUMS (corrupt or "
                                 "tampered with); nothing was imported.",
                                 SHOWN(shown)),
                       1;
        off_t size = lseek(fd, 0, SEEK_CUR);
        if (size < 0 || lseek(fd, 0, SEEK_SET) < 0)
                return log_error_errno(negative_errno(), "Failed to read the download back: %m"), 1;
        return import_fd(store_fd, fd, SHOWN(shown), name, raw, (uint64_t) size) < 0;
}

int verb_pull_tar(int argc, char **argv) {
        return verb_pull(argc, argv, false);
}

int verb_pull_raw(int argc, char **argv) {
        return verb_pull(argc, argv, true);
}
