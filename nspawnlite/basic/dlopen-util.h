/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Libraries that only a few verbs need (libarchive, libcurl, libcrypto for the store's transfers)
 * are loaded when a verb uses them: linked, they and their dozens of dependencies would be mapped
 * and relocated at every start of every verb, a short "run" included. */

typedef struct {
        void **fn; /* where the address goes */
        const char *name;
} DlSymbol;

#define DL_SYMBOL(f) \
        { (void **) &sym_##f, #f }

/* Load the library (once: *handle is kept) and resolve every symbol, all or nothing. -EOPNOTSUPP
 * when the library or a symbol is missing. */
int dlopen_symbols(void **handle, const char *library, const DlSymbol *symbols, size_t n);
