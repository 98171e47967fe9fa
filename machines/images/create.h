/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "machines/images/create-recipes.h"

/* Making a guest tree from Debian's archive: mmdebstrap (or debootstrap) into a directory, then
 * the recipe's own steps (shell, run on the host against the tree) for its init. */

bool create_release_is_known(const char *release);
/* Debian package names: [a-z0-9][a-z0-9+.-]+ */
bool create_package_name_is_valid(const char *name);

/* The first Debian mirror of an apt sources text (one-line "deb URI SUITE…" format, or deb822
 * stanzas), skipping security archives: 0 with a malloc()ed URI, -ENOENT when it names none. */
int apt_sources_mirror(const char *text, bool deb822, char **ret);
/* The host's mirror: /etc/apt/sources.list, then sources.list.d/ (*.list, *.sources) in order. */
int apt_host_mirror(char **ret);

/* Of "apt-config dump" output: the host's settings a bootstrap must share to reach the archive
 * (Acquire::Check-Valid-Until, Check-Date, http/https proxies), each as 'Key "value";'. */
int apt_config_options(const char *dump, char ***ret);
int apt_host_options(char ***ret); /* the same, asking the host's apt-config; none without it */

typedef struct CreateSpec {
        const CreateRecipe *recipe;
        const char *release;
        const char *mirror;
        char *const *packages;    /* extra packages, or NULL */
        char *const *apt_options; /* apt settings for the bootstrap (apt_host_options()), or NULL */
        const char *hostname;
        const char *root_hash; /* crypt(3) hash of root's password; NULL: root's password locked */
        bool debootstrap;      /* mmdebstrap is missing: debootstrap instead */
} CreateSpec;

/* The bootstrap tool's command line for the spec, into target: a NULL-terminated malloc()ed
 * array, or NULL (out of memory, or a recipe debootstrap cannot make). */
char **create_bootstrap_argv(const CreateSpec *s, const char *target);

/* Called with each step (a short sentence) as the work goes on. */
typedef void (*CreateStepFn)(const char *step, void *userdata);

/* Build the tree into target (an empty directory). The work runs in a private mount and PID
 * namespace that dies with the caller, so a killed create leaves no mounts or processes behind.
 * On failure, -errno and the tool's last error line in ret_error (if any). The caller may
 * kill(create_running_pid(), SIGKILL) from a signal handler to cancel. */
int create_tree(const CreateSpec *s, const char *target, CreateStepFn step, void *userdata, char *ret_error,
                size_t n_error);
int create_running_pid(void);
