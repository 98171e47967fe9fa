/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* "create": a new guest tree in the image store, from Debian's archive. */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "machines/images/create.h"
#include "machines/images/store.h"
#include "nspawnlite/basic/dlopen-util.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/name.h"
#include "nspawnlite/basic/strv.h"
#include "nspawnlite/cli/verbs-create.h"
#include "nspawnlite/cli/verbs.h"
#include "nspawnlite/cli/verbs-machines.h"

typedef struct CreateArgs {
        const char *name, *distro, *release, *init, *password_file;
        char **packages;
} CreateArgs;

static void create_help(void) {
        printf("nspawnlite create NAME [OPTIONS]\n\n"
               "Make a new guest tree NAME in the image store ($NSPAWNLITE_MACHINES_DIR or\n"
               "/var/lib/machines) from Debian's archive, with mmdebstrap (debootstrap when it is\n"
               "missing) and the host's apt mirror. Boot it with 'nspawnlite boot -M NAME'.\n\n"
               "  -h --help                   Show this help\n"
               "     --distro=DISTRO          debian (default) or busybox (Debian's busybox-static)\n"
               "     --release=SUITE          bullseye, bookworm (default), trixie or sid\n"
               "     --init=INIT              systemd (default), sysvinit or openrc (debian only)\n"
               "     --packages=A,B…          More packages to install\n"
               "     --root-password-file=FILE\n"
               "                              root's password: the first line of FILE. Without it\n"
               "                              root's password is locked: 'nspawnlite shell NAME' gets in\n");
}

static int parse_packages(const char *list, char ***packages) {
        _cleanup_free_ char *copy = strdup(list);
        if (!copy)
                return log_error("Out of memory."), -ENOMEM;
        char *save = NULL;
        for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
                if (!create_package_name_is_valid(p))
                        return log_error(
                                       "Invalid package name '%s' in --packages=; give Debian package names "
                                       "separated by commas.",
                                       p),
                               -EINVAL;
                if (strv_push(packages, p) < 0)
                        return log_error("Out of memory."), -ENOMEM;
        }
        return 0;
}

/* 0 to go on, 1 for --help, -EINVAL after saying what was wrong. */
static int parse_create_args(int argc, char **argv, CreateArgs *a) {
        enum { ARG_DISTRO = 0x100, ARG_RELEASE, ARG_INIT, ARG_PACKAGES, ARG_PASSWORD };
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "distro", required_argument, NULL, ARG_DISTRO },
                { "release", required_argument, NULL, ARG_RELEASE },
                { "init", required_argument, NULL, ARG_INIT },
                { "packages", required_argument, NULL, ARG_PACKAGES },
                { "root-password-file", required_argument, NULL, ARG_PASSWORD },
                {},
        };
        optind = 0;
        opterr = 0;
        for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) >= 0;) {
                switch (c) {
                case 'h':
                        create_help();
                        return 1;
                case ARG_DISTRO:
                        a->distro = optarg;
                        break;
                case ARG_RELEASE:
                        a->release = optarg;
                        break;
                case ARG_INIT:
                        a->init = optarg;
                        break;
                case ARG_PACKAGES:
                        if (parse_packages(optarg, &a->packages) < 0)
                                return -EINVAL;
                        break;
                case ARG_PASSWORD:
                        a->password_file = optarg;
                        break;
                default:
                        return log_error("Unknown option or missing value '%s'. See 'nspawnlite create "
                                         "--help'.",
                                         argv[optind - 1]),
                               -EINVAL;
                }
        }
        if (optind >= argc)
                return log_error("No image name given. Usage: nspawnlite create NAME [OPTIONS]"), -EINVAL;
        a->name = argv[optind++];
        if (optind < argc)
                return log_error("Unexpected argument '%s'. See 'nspawnlite create --help'.", argv[optind]),
                       -EINVAL;
        return 0;
}

/* The inputs that need nothing from the system: checked before anything is made. */
static int check_create_args(CreateArgs *a, const CreateRecipe **ret) {
        if (!machine_name_is_valid(a->name))
                return log_error("Invalid image name '%s': use letters, digits, '.', '_' and '-', at most %d "
                                 "characters, starting with a letter or digit.",
                                 a->name, MACHINE_NAME_MAX),
                       -EINVAL;
        if (!a->distro)
                a->distro = "debian";
        if (!create_recipe_find(a->distro, NULL))
                return log_error("Unknown distribution '%s'; use --distro=debian or --distro=busybox.",
                                 a->distro),
                       -EINVAL;
        if (strcmp(a->distro, "busybox") == 0 && a->init)
                return log_error("--init= is for --distro=debian; busybox is its own init."), -EINVAL;
        const CreateRecipe *rc = create_recipe_find(a->distro, a->init);
        if (!rc)
                return log_error("Unknown init '%s'; use --init=systemd, --init=sysvinit or --init=openrc.",
                                 a->init),
                       -EINVAL;
        if (!a->release)
                a->release = "bookworm";
        if (!create_release_is_known(a->release))
                return log_error("Unknown release '%s'; use --release=bullseye, bookworm, trixie or sid.",
                                 a->release),
                       -EINVAL;
        *ret = rc;
        return 0;
}

/* libcrypt is loaded for create alone: every other verb's start maps none of it. */
static __typeof__(crypt_gensalt_ra) *sym_crypt_gensalt_ra;
static __typeof__(crypt_ra) *sym_crypt_ra;
static void *crypt_handle;
static const DlSymbol crypt_symbols[] = { DL_SYMBOL(crypt_gensalt_ra), DL_SYMBOL(crypt_ra) };

/* root's password from the first line of path, hashed (SHA-512 crypt: what busybox and every
 * Debian release can check). */
static int hash_password_file(const char *path, char **ret) {
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(AT_FDCWD, path, 4096, &text);
        if (r == -EBADMSG)
                return log_error(
                               "Root password file %s is not a regular file; give a file whose first line is "
                               "the password.",
                               path),
                       r;
        if (r < 0)
                return log_error_errno(r,
                                       "Cannot read root password file %s: %m; give a readable file whose "
                                       "first line is the password.",
                                       path);
        text[strcspn(text, "\r\n")] = 0;
        if (!text[0])
                return log_error("Root password file %s has an empty first line; put the password there, or "
                                 "leave out --root-password-file= to lock root's password.",
                                 path),
                       -EINVAL;
        if (dlopen_symbols(&crypt_handle, SONAME_CRYPT, crypt_symbols, ELEMENTSOF(crypt_symbols)) < 0) {
                explicit_bzero(text, strlen(text));
                return log_error("Cannot hash the root password: " SONAME_CRYPT " is missing (install "
                                 "libcrypt1)."),
                       -ENOPKG;
        }
        _cleanup_free_ char *salt = sym_crypt_gensalt_ra("$6$", 0, NULL, 0);
        void *data = NULL;
        int size = 0;
        char *h = salt ? sym_crypt_ra(text, salt, &data, &size) : NULL;
        explicit_bzero(text, strlen(text));
        if (!h || h[0] == '*') {
                free(data);
                return log_error("Failed to hash the root password (crypt)."), -EIO;
        }
        *ret = strdup(h);
        explicit_bzero(data, (size_t) size);
        free(data);
        return *ret ? 0 : (log_error("Out of memory."), -ENOMEM);
}

/* Progress: a status line on a terminal, one line per step otherwise. */
typedef struct Progress {
        const char *name;
        bool tty;
} Progress;

static void progress_step(const char *step, void *userdata) {
        Progress *p = userdata;
        if (p->tty)
                fprintf(stderr, "\r\033[K%s: %.*s", p->name, 100, step);
        else
                fprintf(stderr, "%s: %s\n", p->name, step);
}

static void progress_end(Progress *p) {
        if (p->tty)
                fputs("\r\033[K", stderr);
}

static volatile sig_atomic_t cancelled = 0;

static void on_cancel(int sig) {
        cancelled = sig;
        pid_t pid = create_running_pid();
        if (pid > 0)
                (void) kill(pid, SIGKILL);
}

/* The tree is made in the store's locked temporary and renamed to name at the end: a failure, a
 * Ctrl-C or a SIGKILL never leaves a half image under name (gc removes an orphaned temporary). */
static int create_in_store(const CreateSpec *spec, int store_fd, const char *name) {
        _cleanup_(store_abort) StoreTemp t = STORE_TEMP_NULL;
        int r = store_begin(store_fd, name, STORE_DIRECTORY, &t);
        if (r == -EEXIST)
                return log_error("Image '%s' already exists in %s; choose another name, or remove it first.",
                                 name, store_dir()),
                       r;
        if (r < 0)
                return log_error_errno(r, "Failed to make a temporary directory in %s: %m", store_dir());
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s/%s", store_dir(), t.temp);

        struct sigaction sa = { .sa_handler = on_cancel }, old_int, old_term;
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        Progress p = { name, isatty(STDERR_FILENO) };
        char why[512] = "";
        r = create_tree(spec, tmp, progress_step, &p, why, sizeof why);
        progress_end(&p);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);

        if (cancelled)
                return log_error("Cancelled; nothing was added to the store."), -EINTR;
        if (r == -EPROTO)
                return log_error("Failed to create '%s': %s (check --release= and --packages=; nothing was "
                                 "added to the store).",
                                 name, why[0] ? why : "the bootstrap failed"),
                       r;
        if (r < 0)
                return log_error_errno(r, "Failed to create '%s': %m%s%s", name, why[0] ? ": " : "", why);
        if (fchmod(t.fd, 0755) < 0) /* the temporary is private until it is complete */
                return log_error_errno(errno, "Failed to make %s readable: %m", tmp);
        r = store_commit(&t);
        if (r == -EEXIST)
                return log_error("Image '%s' was made in %s by someone else meanwhile; nothing was added.",
                                 name, store_dir()),
                       r;
        if (r < 0)
                return log_error_errno(r, "Failed to rename the new image to '%s': %m", name);
        return 0;
}

int verb_create(int argc, char **argv) {
        CreateArgs a = {};
        int r = parse_create_args(argc, argv, &a);
        _cleanup_strv_free_ char **packages = a.packages;
        if (r != 0)
                return r > 0 ? 0 : 2;
        const CreateRecipe *rc;
        if (check_create_args(&a, &rc) < 0)
                return 2;
        if (geteuid() != 0)
                return log_needs_root("create");

        _cleanup_free_ char *hash = NULL, *mirror = NULL;
        if (a.password_file && hash_password_file(a.password_file, &hash) < 0)
                return 1;
        bool debootstrap =
                access("/usr/bin/mmdebstrap", X_OK) < 0 && access("/usr/sbin/mmdebstrap", X_OK) < 0;
        if (debootstrap && strcmp(rc->variant, "minbase") != 0)
                return log_error("--distro=%s needs mmdebstrap; install it (apt-get install mmdebstrap).",
                                 a.distro),
                       1;
        if (debootstrap && access("/usr/sbin/debootstrap", X_OK) < 0)
                return log_error("Neither mmdebstrap nor debootstrap is installed; install mmdebstrap."), 1;
        _cleanup_strv_free_ char **apt_options = NULL;
        r = apt_host_options(&apt_options);
        if (r < 0)
                return log_error_errno(r, "Failed to read the host's apt configuration: %m"), 1;
        r = apt_host_mirror(&mirror);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Failed to read the host's apt sources: %m"), 1;
        _cleanup_close_ int store_fd = -EBADF;
        if (store_dir_safe(true) < 0)
                return 1;
        r = store_open(&store_fd);
        if (r < 0)
                return log_error_errno(r, "Failed to open the image store %s: %m", store_dir()), 1;
        StoreImage img;
        if (store_find(store_fd, a.name, &img) >= 0)
                return log_error("Image '%s' already exists in %s; choose another name, or remove it first.",
                                 a.name, store_dir()),
                       1;

        CreateSpec spec = {
                .recipe = rc,
                .release = a.release,
                .mirror = mirror ? mirror : "http://deb.debian.org/debian",
                .packages = a.packages,
                .apt_options = apt_options,
                .hostname = hostname_is_valid(a.name) ? a.name : "", /* else the manager's */
                .root_hash = hash,
                .debootstrap = debootstrap,
        };
        if (create_in_store(&spec, store_fd, a.name) < 0)
                return cancelled ? 130 : 1;
        char desc[128];
        snprintf(desc, sizeof desc, rc->description, a.release);
        log_info("Created image '%s' (%s) in %s; boot it with 'nspawnlite boot -M %s'.", a.name, desc,
                 store_dir(), a.name);
        return 0;
}
