/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* list-images, image-status, clone, rename, remove, read-only, import-fs: the store's verbs. The
 * mechanics are machines/images/store.c's and copy.c's; here the arguments, the locks, the one line
 * of each error, and the progress of long copies. */
#include "nspawnlite/cli/verbs-images.h"
#include "nspawnlite/cli/verbs.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "machines/images/copy.h"
#include "machines/images/store.h"
#include "nspawnlite/basic/format-util.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/parse-util.h"
#include "nspawnlite/cli/progress.h"

static const struct {
        const char *verb;
        const char *usage;
        const char *text;
} image_help_table[] = {
        { "list-images", "list-images [--json]",
          "List the images of the store: name, type (directory, subvolume, raw), read-only, usage,\n"
          "created, modified." },
        { "image-status", "image-status NAME [--json]",
          "Show an image of the store, and whether a machine uses it." },
        { "clone", "clone SRC DST",
          "Copy the image SRC to DST: a snapshot for btrfs subvolumes, a reflink for raw images where the\n"
          "filesystem can, else a copy that keeps owners, modes, times, xattrs, ACLs, device nodes and\n"
          "hardlinks." },
        { "rename", "rename OLD NEW", "Rename an image (and its NAME.nspawn settings file beside it)." },
        { "remove", "remove NAME…", "Remove images (and their NAME.nspawn settings files beside them)." },
        { "read-only", "read-only NAME [yes|no]",
          "Mark an image read-only (default yes) or writable: the btrfs read-only flag for subvolumes,\n"
          "the immutable attribute for directories, no write permission for raw images." },
        { "import-fs", "import-fs DIR [NAME]",
          "Copy the directory tree DIR into the store as image NAME (default: DIR's name)." },
};

/* --help or --json (when allowed), positional arguments left in argv[optind…]: 1 after --help, 0, or
 * -EINVAL after one error line. */
static int parse_image_options(int argc, char **argv, bool json_allowed, bool *ret_json) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                {},
        };
        optind = 0;
        opterr = 0;
        *ret_json = false;
        for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) >= 0;)
                switch (c) {
                case 'h':
                        for (size_t i = 0; i < ELEMENTSOF(image_help_table); i++)
                                if (strcmp(image_help_table[i].verb, argv[0]) == 0)
                                        printf("nspawnlite %s\n\n%s\n\nThe store is %s "
                                               "(NSPAWNLITE_MACHINES_DIR).\n",
                                               image_help_table[i].usage, image_help_table[i].text,
                                               store_dir());
                        return 1;
                case 'j':
                        if (json_allowed) {
                                *ret_json = true;
                                break;
                        }
                        __attribute__((fallthrough));
                default:
                        log_error("Unknown option or missing argument '%s'. See 'nspawnlite %s --help'.",
                                  argv[optind - 1], argv[0]);
                        return -EINVAL;
                }
        return 0;
}

/* Between min and max positional arguments: 0, or -EINVAL after the usage line. */
static int check_args(int argc, char **argv, int min, int max) {
        int n = argc - optind;
        if (n >= min && n <= max)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(image_help_table); i++)
                if (strcmp(image_help_table[i].verb, argv[0]) == 0)
                        log_error("%s arguments. Usage: nspawnlite %s", n < min ? "Missing" : "Too many",
                                  image_help_table[i].usage);
        return -EINVAL;
}

/* A store verb's options and number of arguments: -1 to go on, else its exit status (0 after
 * --help, 2 for a usage error, said in one line). */
static int verb_args(int argc, char **argv, bool json_allowed, int min, int max, bool *ret_json) {
        int r = parse_image_options(argc, argv, json_allowed, ret_json);
        if (r != 0)
                return r > 0 ? 0 : 2;
        return check_args(argc, argv, min, max) < 0 ? 2 : -1;
}

static int open_store(const char *verb, int *ret_fd) {
        /* clone and import-fs bring images in; the others find them there. */
        if (store_dir_safe(strcmp(verb, "clone") == 0 || strcmp(verb, "import-fs") == 0) < 0)
                return -EPERM;
        int r = store_open(ret_fd);
        if (r == -EACCES || r == -EPERM)
                return log_error("nspawnlite %s needs root: the image store %s is root's.", verb,
                                 store_dir()),
                       r;
        if (r < 0)
                return log_error_errno(r, "Failed to open the image store %s: %m", store_dir());
        return 0;
}

static int log_bad_name(const char *name) {
        log_error("Invalid image name '%s': use letters, digits, '.', '_' and '-', starting with a letter or "
                  "digit, at most %d characters.",
                  name, MACHINE_NAME_MAX);
        return -EINVAL;
}

static int find_image(int store_fd, const char *name, StoreImage *ret) {
        int r = store_find(store_fd, name, ret);
        if (r == -EINVAL)
                return log_bad_name(name);
        if (r == -ENOENT)
                return log_error("No image named %s in %s ('nspawnlite list-images' lists them).", name,
                                 store_dir()),
                       r;
        if (r < 0)
                return log_error_errno(r, "Failed to look up image %s in %s: %m", name, store_dir());
        return 0;
}

/* The image locked for a change of what it is (remove, rename, read-only): nobody may use it. */
static int lock_for_change(int store_fd, const StoreImage *img, const char *what, int *ret_fd) {
        int r = store_lock_image(store_fd, img->name, true, ret_fd);
        if (r == -EBUSY)
                return log_error(
                               "Image %s is in use by a running machine; stop the machine before you %s it.",
                               img->name, what),
                       r;
        if (r < 0)
                return log_error_errno(r, "Failed to lock image %s: %m", img->name);
        return 0;
}

static int refuse_read_only(const StoreImage *img, const char *what) {
        if (!img->read_only)
                return 0;
        log_error("Image %s is read-only; 'nspawnlite read-only %s no' first to %s it.", img->name, img->name,
                  what);
        return -EROFS;
}

static void json_time_pair(const char *key, usec_t usec) {
        char ts[64];
        if (usec == 0) {
                printf(",\"%s\":null,\"%s_usec\":null", key, key);
                return;
        }
        format_timestamp(usec, 1, ts, sizeof ts);
        printf(",\"%s\":\"%s\",\"%s_usec\":%" PRIu64, key, ts, key, usec);
}

/* One image as a JSON object, "name" first (as list --json has it). */
static void image_print_json(const StoreImage *img, uint64_t usage, int in_use) {
        printf("{\"name\":");
        json_print_string(stdout, img->name);
        printf(",\"type\":\"%s\",\"read_only\":%s", store_kind_to_string(img->kind),
               img->read_only ? "true" : "false");
        if (usage == UINT64_MAX)
                printf(",\"usage\":null");
        else
                printf(",\"usage\":%" PRIu64, usage);
        json_time_pair("created", img->crtime);
        json_time_pair("modified", img->mtime);
        if (in_use >= 0) {
                printf(",\"path\":");
                char path[PATH_MAX];
                snprintf(path, sizeof path, "%s/%s", store_dir(), img->file);
                json_print_string(stdout, path);
                printf(",\"in_use\":%s", in_use ? "true" : "false");
        }
        printf("}");
}

int verb_list_images(int argc, char **argv) {
        bool json;
        int r = verb_args(argc, argv, true, 0, 0, &json);
        if (r >= 0)
                return r;
        _cleanup_close_ int store_fd = -EBADF;
        if (open_store(argv[0], &store_fd) < 0)
                return 1;
        _cleanup_free_ StoreImage *list = NULL;
        size_t n = 0;
        r = store_list(store_fd, &list, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to list the images of %s: %m", store_dir()), 1;
        _cleanup_free_ uint64_t *usage = calloc(n + 1, sizeof *usage);
        if (!usage)
                return log_error("Out of memory."), 1;
        for (size_t i = 0; i < n; i++)
                if (store_usage(store_fd, &list[i], &usage[i]) < 0)
                        usage[i] = UINT64_MAX;

        if (json) {
                printf("[");
                for (size_t i = 0; i < n; i++) {
                        printf("%s", i ? "," : "");
                        image_print_json(&list[i], usage[i], -1);
                }
                printf("]\n");
                return 0;
        }
        int w = 4;
        for (size_t i = 0; i < n; i++)
                if ((int) strlen(list[i].name) > w)
                        w = (int) strlen(list[i].name);
        printf("%-*s  %-9s  %-3s  %-6s  %-19s  %s\n", w, "NAME", "TYPE", "RO", "USAGE", "CREATED",
               "MODIFIED");
        for (size_t i = 0; i < n; i++) {
                char u[32], created[64] = "-", modified[64];
                format_bytes(usage[i], u, sizeof u);
                if (list[i].crtime)
                        format_timestamp(list[i].crtime, 0, created, sizeof created);
                format_timestamp(list[i].mtime, 0, modified, sizeof modified);
                printf("%-*s  %-9s  %-3s  %-6s  %-19s  %s\n", w, list[i].name,
                       store_kind_to_string(list[i].kind), list[i].read_only ? "yes" : "no", u, created,
                       modified);
        }
        printf("\n%zu image%s listed.\n", n, n == 1 ? "" : "s");
        return 0;
}

int verb_image_status(int argc, char **argv) {
        bool json;
        int r = verb_args(argc, argv, true, 1, 1, &json);
        if (r >= 0)
                return r;
        _cleanup_close_ int store_fd = -EBADF;
        StoreImage img;
        if (open_store(argv[0], &store_fd) < 0 || find_image(store_fd, argv[optind], &img) < 0)
                return 1;
        uint64_t usage = UINT64_MAX;
        (void) store_usage(store_fd, &img, &usage);
        /* In use: a machine holds the lock, whichever way. */
        _cleanup_close_ int lock_fd = -EBADF;
        int in_use = store_lock_image(store_fd, img.name, true, &lock_fd) == -EBUSY;

        if (json) {
                image_print_json(&img, usage, in_use);
                printf("\n");
                return 0;
        }
        char u[32], created[64] = "-", modified[64];
        format_bytes(usage, u, sizeof u);
        if (img.crtime)
                format_timestamp(img.crtime, 0, created, sizeof created);
        format_timestamp(img.mtime, 0, modified, sizeof modified);
        printf("%s\n"
               "      Type: %s\n"
               "      Path: %s/%s\n"
               "        RO: %s\n"
               "     Usage: %s\n"
               "   Created: %s\n"
               "  Modified: %s\n"
               "    In use: %s\n",
               img.name, store_kind_to_string(img.kind), store_dir(), img.file,
               img.read_only ? "read-only" : "writable", u, created, modified,
               in_use ? "yes (a running machine)" : "no");
        return 0;
}

/* The copy engine's progress callback, onto cli/progress.h. */
static int progress_show(uint64_t bytes, void *userdata) {
        return progress_update(userdata, bytes, 0);
}

/* A new image dst_name as a copy of the directory tree src_fd: a btrfs subvolume where the store is
 * on btrfs (as machinectl makes them), else a directory. */
static int copy_tree_into_store(int store_fd, int src_fd, const char *dst_name, const char *what) {
        _cleanup_(store_abort) StoreTemp t = STORE_TEMP_NULL;
        int r = store_begin(store_fd, dst_name, STORE_SUBVOLUME, &t);
        if (r == -ENOTTY || r == -EPERM)
                r = store_begin(store_fd, dst_name, STORE_DIRECTORY, &t);
        if (r < 0)
                return r;
        Progress p;
        progress_begin(&p, what);
        r = copy_tree(src_fd, t.fd, progress_show, &p);
        progress_end(&p, r >= 0);
        if (r < 0)
                return r;
        return store_commit(&t);
}

static int clone_image(int store_fd, const StoreImage *src, int src_fd, const char *dst) {
        _cleanup_(store_abort) StoreTemp t = STORE_TEMP_NULL;
        char what[256];
        snprintf(what, sizeof what, "Copying image %s to %s", src->name, dst);
        int r;
        switch (src->kind) {
        case STORE_SUBVOLUME:
                r = store_begin_snapshot(store_fd, dst, src_fd, &t);
                if (r >= 0)
                        return store_commit(&t);
                if (r != -ENOTTY && r != -EXDEV && r != -EPERM)
                        return r;
                __attribute__((fallthrough));
        case STORE_DIRECTORY:
                return copy_tree_into_store(store_fd, src_fd, dst, what);
        case STORE_RAW: {
                r = store_begin(store_fd, dst, STORE_RAW, &t);
                if (r < 0)
                        return r;
                Progress p;
                progress_begin(&p, what);
                r = copy_file_data(src_fd, t.fd, progress_show, &p);
                progress_end(&p, r >= 0);
                struct stat st;
                /* The source's permissions, but writable: a clone is a new image to change. */
                if (r >= 0 && (fstat(src_fd, &st) < 0 || fchmod(t.fd, (st.st_mode & 0777) | 0200) < 0))
                        r = -errno;
                if (r < 0)
                        return r;
                return store_commit(&t);
        }
        default:
                return -EINVAL;
        }
}

/* What the copy verbs say when the new image cannot be made. */
static int log_make_error(int r, const char *dst) {
        if (r == -EEXIST)
                return log_error("An image named %s exists already in %s; choose another name or remove it "
                                 "first.",
                                 dst, store_dir()),
                       r;
        if (r == -EINVAL)
                return log_bad_name(dst);
        if (r == -EINTR)
                return log_error("Interrupted: image %s was not made, and nothing of it is left in %s.", dst,
                                 store_dir()),
                       r;
        return log_error_errno(r, "Failed to make image %s in %s (nothing was left behind): %m", dst,
                               store_dir());
}

int verb_clone(int argc, char **argv) {
        bool json;
        int r = verb_args(argc, argv, false, 2, 2, &json);
        if (r >= 0)
                return r;
        const char *src_name = argv[optind], *dst = argv[optind + 1];
        if (!machine_name_is_valid(dst))
                return log_bad_name(dst), 1;
        _cleanup_close_ int store_fd = -EBADF, src_fd = -EBADF;
        StoreImage src;
        if (open_store(argv[0], &store_fd) < 0 || find_image(store_fd, src_name, &src) < 0)
                return 1;
        /* Readers may share the source; a machine writing to it would make the copy a torn one. */
        r = store_lock_image(store_fd, src.name, false, &src_fd);
        if (r == -EBUSY)
                return log_error("Image %s is in use by a machine that writes to it; stop it first, or clone "
                                 "it later.",
                                 src.name),
                       1;
        if (r < 0)
                return log_error_errno(r, "Failed to lock image %s: %m", src.name), 1;
        interrupts_catch();
        r = clone_image(store_fd, &src, src_fd, dst);
        if (r < 0)
                return log_make_error(r, dst), 1;
        log_info("Image %s cloned to %s.", src.name, dst);
        return 0;
}

/* NAME.nspawn beside the image goes where the image goes (as machinectl does with it). */
static void settings_follow(int store_fd, const char *old_name, const char *new_name) {
        char from[STORE_FILE_MAX + 8], to[STORE_FILE_MAX + 8];
        snprintf(from, sizeof from, "%s.nspawn", old_name);
        if (!new_name) {
                if (unlinkat(store_fd, from, 0) < 0 && errno != ENOENT)
                        log_warning_errno(errno, "Failed to remove %s/%s: %m", store_dir(), from);
                return;
        }
        snprintf(to, sizeof to, "%s.nspawn", new_name);
        if (renameat2(store_fd, from, store_fd, to, RENAME_NOREPLACE) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Failed to rename %s/%s to %s: %m", store_dir(), from, to);
}

int verb_rename(int argc, char **argv) {
        bool json;
        int r = verb_args(argc, argv, false, 2, 2, &json);
        if (r >= 0)
                return r;
        const char *new_name = argv[optind + 1];
        if (!machine_name_is_valid(new_name))
                return log_bad_name(new_name), 1;
        _cleanup_close_ int store_fd = -EBADF, lock_fd = -EBADF;
        StoreImage img;
        if (open_store(argv[0], &store_fd) < 0 || find_image(store_fd, argv[optind], &img) < 0 ||
            lock_for_change(store_fd, &img, "rename", &lock_fd) < 0 || refuse_read_only(&img, "rename") < 0)
                return 1;
        r = store_rename(store_fd, &img, new_name);
        if (r == -EEXIST)
                return log_error("An image named %s exists already in %s; choose another name.", new_name,
                                 store_dir()),
                       1;
        if (r < 0)
                return log_error_errno(r, "Failed to rename image %s to %s: %m", img.name, new_name), 1;
        settings_follow(store_fd, img.name, new_name);
        return 0;
}

static int remove_one(int store_fd, const char *name) {
        _cleanup_close_ int lock_fd = -EBADF;
        StoreImage img;
        if (find_image(store_fd, name, &img) < 0 || lock_for_change(store_fd, &img, "remove", &lock_fd) < 0 ||
            refuse_read_only(&img, "remove") < 0)
                return -EINVAL;
        int r = store_remove(store_fd, &img);
        if (r == -EBUSY)
                return log_error_errno(
                        r,
                        "Image %s has a mount point inside it, which is kept; unmount it, then run "
                        "'nspawnlite gc' to remove the rest.",
                        img.name);
        if (r < 0)
                return log_error_errno(
                        r, "Failed to remove image %s (what is left goes with 'nspawnlite gc'): %m",
                        img.name);
        settings_follow(store_fd, img.name, NULL);
        return 0;
}

int verb_remove(int argc, char **argv) {
        bool json;
        int r = verb_args(argc, argv, false, 1, INT_MAX, &json);
        if (r >= 0)
                return r;
        _cleanup_close_ int store_fd = -EBADF;
        if (open_store(argv[0], &store_fd) < 0)
                return 1;
        int failed = 0;
        for (int i = optind; i < argc; i++)
                if (remove_one(store_fd, argv[i]) < 0)
                        failed = 1;
        return failed;
}

int verb_read_only(int argc, char **argv) {
        bool json;
        int r = verb_args(argc, argv, false, 1, 2, &json);
        if (r >= 0)
                return r;
        bool read_only = true;
        if (optind + 1 < argc) {
                int b = parse_boolean(argv[optind + 1]);
                if (b < 0)
                        return log_error("Invalid value '%s': use yes or no.", argv[optind + 1]), 2;
                read_only = b;
        }
        _cleanup_close_ int store_fd = -EBADF, lock_fd = -EBADF;
        StoreImage img;
        if (open_store(argv[0], &store_fd) < 0 || find_image(store_fd, argv[optind], &img) < 0 ||
            lock_for_change(store_fd, &img, "change", &lock_fd) < 0)
                return 1;
        if (img.read_only == read_only)
                return 0;
        r = store_set_read_only(store_fd, &img, read_only);
        if (r == -ENOTTY || r == -EOPNOTSUPP)
                return log_error("The filesystem of %s cannot mark image %s read-only (no immutable "
                                 "attribute).",
                                 store_dir(), img.name),
                       1;
        if (r < 0)
                return log_error_errno(r, "Failed to mark image %s %s: %m", img.name,
                                       read_only ? "read-only" : "writable"),
                       1;
        return 0;
}

/* The tree to import: a directory that does not hold the store (the copy would copy itself). */
static int import_source(const char *dir, char *resolved, int *ret_fd) {
        if (!realpath(dir, resolved))
                return log_error("Directory %s does not exist.", dir), -errno;
        char store[PATH_MAX];
        size_t n = strlen(resolved);
        if (realpath(store_dir(), store) &&
            (strcmp(resolved, "/") == 0 || (strncmp(store, resolved, n) == 0 && store[n] == '/')))
                return log_error("Directory %s holds the image store %s: import a tree outside it.", dir,
                                 store_dir()),
                       -EINVAL;
        int fd = open(resolved, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return log_error("%s is not a directory: import-fs takes a directory tree.", dir), -ENOTDIR;
        *ret_fd = fd;
        return 0;
}

int verb_import_fs(int argc, char **argv) {
        bool json;
        int r = verb_args(argc, argv, false, 1, 2, &json);
        if (r >= 0)
                return r;
        char resolved[PATH_MAX];
        _cleanup_close_ int src_fd = -EBADF, store_fd = -EBADF;
        if (import_source(argv[optind], resolved, &src_fd) < 0)
                return 1;
        const char *name = optind + 1 < argc ? argv[optind + 1] : strrchr(resolved, '/') + 1;
        if (optind + 1 < argc && !machine_name_is_valid(name))
                return log_bad_name(name), 1;
        if (!machine_name_is_valid(name))
                return log_error(
                               "Cannot make an image name of '%s'; give one: nspawnlite import-fs DIR NAME.",
                               name),
                       1;
        if (open_store(argv[0], &store_fd) < 0)
                return 1;
        char what[PATH_MAX + 64];
        snprintf(what, sizeof what, "Copying %s to image %s", resolved, name);
        interrupts_catch();
        r = copy_tree_into_store(store_fd, src_fd, name, what);
        if (r < 0)
                return log_make_error(r, name), 1;
        log_info("Imported %s as image %s.", resolved, name);
        return 0;
}
