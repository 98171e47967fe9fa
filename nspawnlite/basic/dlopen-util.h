/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Libraries that only a few verbs or hosts need (libarchive, libcurl, libcrypto for the store's
 * transfers, libnftables for NAT, libsystemd on systemd hosts) are loaded when they are used:
 * linked, they and their dozens of dependencies would be mapped and relocated at every start of
 * every verb, a short "run" included, and stay in every supervisor's memory. */

/* The sonames of the libraries loaded on demand, in one place: their users and --version's list. */
#define SONAME_BLKID       "libblkid.so.1"
#define SONAME_SYSTEMD     "libsystemd.so.0"
#define SONAME_NFTABLES    "libnftables.so.1"
#define SONAME_ARCHIVE     "libarchive.so.13"
#define SONAME_CURL        "libcurl.so.4"
#define SONAME_CURL_GNUTLS "libcurl-gnutls.so.4" /* Debian's other flavour */
#define SONAME_CRYPTO      "libcrypto.so.3"
#define SONAME_CRYPT       "libcrypt.so.1"

typedef struct {
        void **fn; /* where the address goes */
        const char *name;
} DlSymbol;

#define DL_SYMBOL(f) \
        { (void **) &sym_##f, #f }
/* A function pointer field f of the struct *s (a table of calls kept together). */
#define DL_FIELD(s, f) \
        { (void **) &(s)->f, #f }

/* Load the library (once: *handle is kept) and resolve every symbol, all or nothing. -EOPNOTSUPP
 * when the library or a symbol is missing; dlerror() then says which. */
int dlopen_symbols(void **handle, const char *library, const DlSymbol *symbols, size_t n);
