/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* capability_parse_list (--capability=, --drop-capability=). */
#include "nspawnlite/caps.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_string(data, size);
        uint64_t m;
        (void) capability_parse_list(s, &m);
        free(s);
        return 0;
}
