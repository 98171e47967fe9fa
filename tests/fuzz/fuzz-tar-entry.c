/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The names of tar entries and downloads: archive_entry_name_check() (what may be extracted),
 * archive_image_name_from_path() (the image a file or URL names) and pull_sums_find() (SHA256SUMS). */
#include "machines/images/archive.h"
#include "machines/images/pull.h"
#include "nspawnlite/basic/name.h"
#include "tests/fuzz/fuzz.h"

/* How deep below the extraction directory a name lands, walked lexically as the kernel would with
 * no symlinks: never below 0 for a name the check accepts. */
static int lowest_depth(const char *s) {
        int depth = 0, lowest = 0;
        for (const char *p = s; *p;) {
                size_t k = strcspn(p, "/");
                if (k == 2 && p[0] == '.' && p[1] == '.')
                        depth--;
                else if (k > 0 && !(k == 1 && p[0] == '.'))
                        depth++;
                if (depth < lowest)
                        lowest = depth;
                p += k;
                p += strspn(p, "/");
        }
        return lowest;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_string(data, size);
        if (archive_entry_name_check(s) == 0) {
                FUZZ_CHECK(s[0] != 0 && s[0] != '/');
                FUZZ_CHECK(lowest_depth(s) >= 0);
        }

        char *name = NULL;
        if (archive_image_name_from_path(s, &name) == 0) {
                FUZZ_CHECK(machine_name_is_valid(name));
                FUZZ_CHECK(!strchr(name, '/'));
                free(name);
        }

        uint8_t sum[SHA256_SIZE];
        char *file = NULL;
        if (pull_url_check(s) == 0) {
                FUZZ_CHECK(strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0);
                FUZZ_CHECK(pull_url_file_name(s, &file) == 0);
                FUZZ_CHECK(file[0] && !strchr(file, '/'));
                char *sibling = NULL;
                FUZZ_CHECK(pull_url_sibling(s, "SHA256SUMS", &sibling) == 0);
                FUZZ_CHECK(strncmp(sibling, s, strlen(sibling) - strlen("SHA256SUMS")) == 0);
                free(sibling);
        }
        /* The raw bytes as a SHA256SUMS: any answer, never a read past the end. */
        (void) pull_sums_find((const char *) data, size, file ?: "image.raw", sum);
        free(file);
        free(s);
        return 0;
}
