/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One kind of guest `create` makes: the bootstrap variant, packages, and the shell steps run after
 * them (each gets create_step_preamble first, the tree as $1, and NSPAWNLITE_HOSTNAME and
 * NSPAWNLITE_ROOT_HASH, empty for a locked root, in its environment). */
typedef struct CreateRecipe {
        const char *distro;
        const char *init;
        const char *description; /* printf format: %s is the release */
        const char *variant;     /* mmdebstrap's; "extract" has no debootstrap equivalent */
        const char *const *packages;
        const char *const *steps;
} CreateRecipe;

extern const char create_step_preamble[];

/* The recipe for distro ("debian", "busybox") and init (NULL: the distro's default); NULL when
 * there is none. */
const CreateRecipe *create_recipe_find(const char *distro, const char *init);
