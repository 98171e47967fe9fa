/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/cli/verbs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machines/images/store.h"
#include "nspawnlite/launch.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/path-util.h"
#include "nspawnlite/basic/runtime-dir.h"
#include "nspawnlite/cli/options.h"
#include "nspawnlite/cli/verbs-images.h"
#include "nspawnlite/cli/verbs-create.h"
#include "nspawnlite/cli/verbs-machines.h"
#include "nspawnlite/cli/verbs-systemd.h"
#include "nspawnlite/cli/verbs-transfer.h"
#include "nspawnlite/cli/version.h"

static int verb_launch(int argc, char **argv, LaunchKind kind) {
        Config c;
        int r = config_parse(&c, kind, argc, argv);
        if (r != 0) {
                config_done(&c);
                return r > 0 ? 0 : 2;
        }
        LaunchSpec spec = config_launch_spec(&c);
        r = launch_machine(&spec);
        config_done(&c);
        return r;
}

static int verb_boot(int argc, char **argv) {
        return verb_launch(argc, argv, LAUNCH_BOOT);
}

static int verb_run(int argc, char **argv) {
        return verb_launch(argc, argv, LAUNCH_RUN);
}

static void main_help(void);

static int verb_help(int argc, char **argv) {
        main_help();
        return 0;
}

static const struct {
        const char *name;
        int (*func)(int argc, char **argv);
        const char *summary;
} verb_table[] = {
        { "boot", verb_boot, "Boot an OS tree; its init runs as PID 1" },
        { "run", verb_run, "Run one command in a fresh container" },
        { "list", verb_list, "List running machines" },
        { "status", verb_status, "Show a machine's state, resources and limits" },
        { "console", verb_console, "Attach to a machine's console" },
        { "login", verb_login, "A login prompt on a free tty of a machine" },
        { "shell", verb_shell, "A shell or a command inside a machine, without a password" },
        { "poweroff", verb_poweroff, "Ask a machine's init to power off; kill it after --timeout" },
        { "reboot", verb_reboot, "Ask a machine's init to reboot" },
        { "terminate", verb_terminate, "Kill every process of a machine now" },
        { "kill", verb_kill, "Send a signal to a machine's init" },
        { "freeze", verb_freeze, "Suspend every process of a machine" },
        { "thaw", verb_thaw, "Resume a frozen machine" },
        { "set-limit", verb_set_limit, "Change the limits of a running machine" },
        { "gc", verb_gc, "Remove what dead machines left behind" },
        { "list-images", verb_list_images, "List the images of the store" },
        { "image-status", verb_image_status, "Show an image of the store" },
        { "clone", verb_clone, "Copy an image of the store" },
        { "rename", verb_rename, "Rename an image of the store" },
        { "remove", verb_remove, "Remove images of the store" },
        { "read-only", verb_read_only, "Mark an image read-only or writable" },
        { "import-fs", verb_import_fs, "Copy a directory tree into the store" },
        { "enable", verb_enable, "Start a store machine at boot (nspawnlite@.service)" },
        { "disable", verb_disable, "No longer start a store machine at boot" },
        { "import-tar", verb_import_tar, "Import a tar archive into the image store" },
        { "import-raw", verb_import_raw, "Import a disk image into the image store" },
        { "export-tar", verb_export_tar, "Write a directory image of the store as a tar archive" },
        { "export-raw", verb_export_raw, "Write a raw image of the store to a file" },
        { "pull-tar", verb_pull_tar, "Download a tar archive into the image store (HTTP(S))" },
        { "pull-raw", verb_pull_raw, "Download a disk image into the image store (HTTP(S))" },
        { "create", verb_create, "Make a new guest in the image store from Debian's archive" },
        { "help", verb_help, "Show this help" },
};

static void main_help(void) {
        printf("nspawnlite [--version] VERB [OPTIONS…]\n\n"
               "A light machine manager: boots whole OS trees as containers.\n\nVerbs:\n");
        for (size_t i = 0; i < ELEMENTSOF(verb_table); i++)
                printf("  %-12s %s\n", verb_table[i].name, verb_table[i].summary);
        printf("\n'nspawnlite VERB --help' for a verb's options; man nspawnlite for all of it.\n"
               "'nspawnlite --version' for the version and the features of this build.\n");
}

/* Root acts on what the runtime dir holds (removes files, kills cgroups): whoever could change it
 * (a directory of theirs, a symlink of theirs on the way) would choose what. Not readable (as a
 * user): the verb says that root is needed. */
static int runtime_dir_safe(void) {
        /* runtime_dir() falls back to /run/nspawnlite: a gc meant for ./run must not go there. */
        const char *e = getenv("NSPAWNLITE_RUNTIME_DIR");
        if (e && e[0] && e[0] != '/')
                return log_error_errno(
                        -EINVAL,
                        "NSPAWNLITE_RUNTIME_DIR=%s is not an absolute path; give one, or unset "
                        "it for /run/nspawnlite.",
                        e);
        char bad[PATH_MAX];
        int r = path_only_root_changes(runtime_dir(), bad, sizeof bad);
        if (r >= 0 || r == -EACCES)
                return 0;
        if (r == -EPERM)
                return log_error_errno(r,
                                       "Runtime directory %s: %s can be changed by others than root; use a "
                                       "directory only root can change (NSPAWNLITE_RUNTIME_DIR).",
                                       runtime_dir(), bad);
        return log_error_errno(r, "Failed to check runtime directory %s (at %s): %m", runtime_dir(), bad);
}

/* Root boots, removes and renames what the store holds: whoever else could change it (plant an
 * image, a .# temporary for gc, swap a name between a verb's check and its use) would choose what.
 * Reachable by all: an imported image keeps its setuid files, root's on the host. */
int store_dir_safe(bool adding) {
        /* store_dir() falls back to /var/lib/machines: a remove meant for ./store must not go there. */
        const char *e = getenv("NSPAWNLITE_MACHINES_DIR");
        if (e && e[0] && e[0] != '/')
                return log_error_errno(
                        -EINVAL,
                        "NSPAWNLITE_MACHINES_DIR=%s is not an absolute path; give one, or unset it "
                        "for /var/lib/machines.",
                        e);
        char bad[PATH_MAX];
        int r = path_only_root_changes(store_dir(), bad, sizeof bad);
        if (r == -EPERM)
                return log_error_errno(
                        r,
                        "Image store %s: %s can be changed by others than root; make it root's "
                        "and writable by root alone (chmod 0700), then check its images.",
                        store_dir(), bad);
        if (r < 0 && r != -EACCES)
                return log_error_errno(r, "Failed to check image store %s (at %s): %m", store_dir(), bad);
        if (adding && path_reachable_by_all(store_dir(), NULL) > 0)
                log_warning("Warning: every host user can reach the images of %s, and could run their setuid "
                            "files; close it (chmod 0700 %s).",
                            store_dir(), store_dir());
        return 0;
}

int verbs_dispatch(int argc, char **argv) {
        if (argc < 2) {
                main_help();
                return 2;
        }
        const char *verb = argv[1];
        if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
                main_help();
                return 0;
        }
        if (strcmp(verb, "--version") == 0) {
                version_print(stdout, library_loadable);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(verb_table); i++)
                if (strcmp(verb, verb_table[i].name) == 0)
                        return runtime_dir_safe() < 0 ? 1 : verb_table[i].func(argc - 1, argv + 1);
        log_error("Unknown verb '%s'. See 'nspawnlite --help'.", verb);
        return 2;
}
