/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdio.h>

/* Whether the library soname can be loaded on this host. */
typedef bool (*LibraryProbe)(const char *soname);

/* nspawnlite --version: "nspawnlite VERSION", then one line of features: +NAME for what is built
 * in and for each library loaded on demand that probe finds, -NAME for one it does not (the verbs
 * that need it then fail with one line naming it). */
void version_print(FILE *f, LibraryProbe probe);
/* The probe of the real host: dlopen() and dlclose() the library. */
bool library_loadable(const char *soname);
