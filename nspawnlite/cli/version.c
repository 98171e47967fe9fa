/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/cli/version.h"

#include <dlfcn.h>

#include "nspawnlite/basic/dlopen-util.h"
#include "nspawnlite/basic/macro.h"

/* Always in the binary: the seccomp filter compiled at build time, idmapped mounts for -U, libnl
 * and libcap linked statically. */
static const char *const built_in[] = { "SECCOMP", "IDMAP", "LIBNL", "LIBCAP" };

/* Loaded when a verb needs them (basic/dlopen-util.h); a host may lack some. */
static const struct {
        const char *feature;
        const char *sonames[2]; /* the first that loads counts */
} on_demand[] = {
        { "BLKID", { SONAME_BLKID } },                   /* --image= */
        { "SYSTEMD", { SONAME_SYSTEMD } },               /* scopes and machined on systemd hosts */
        { "NFTABLES", { SONAME_NFTABLES } },             /* NAT and --port */
        { "ARCHIVE", { SONAME_ARCHIVE } },               /* import-*, export-* */
        { "CURL", { SONAME_CURL, SONAME_CURL_GNUTLS } }, /* pull-* */
        { "CRYPTO", { SONAME_CRYPTO } },                 /* pull-*'s checksums */
        { "CRYPT", { SONAME_CRYPT } },                   /* create --root-password-file= */
};

bool library_loadable(const char *soname) {
        void *h = dlopen(soname, RTLD_LAZY | RTLD_LOCAL);
        if (!h)
                return false;
        dlclose(h);
        return true;
}

void version_print(FILE *f, LibraryProbe probe) {
        fputs("nspawnlite " NSPAWNLITE_VERSION "\n", f);
        for (size_t i = 0; i < ELEMENTSOF(built_in); i++)
                fprintf(f, "%s+%s", i > 0 ? " " : "", built_in[i]);
        for (size_t i = 0; i < ELEMENTSOF(on_demand); i++) {
                bool found = false;
                for (size_t j = 0; j < ELEMENTSOF(on_demand[i].sonames) && on_demand[i].sonames[j] && !found;
                     j++)
                        found = probe(on_demand[i].sonames[j]);
                fprintf(f, " %c%s", found ? '+' : '-', on_demand[i].feature);
        }
        fputc('\n', f);
}
