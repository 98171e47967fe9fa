/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The parsers of the kernel's accounting files: cpu.stat, io.stat, blkio.io_service_bytes. */
#include "machines/cgroup-limits.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_string(data, size);
        uint64_t a = 0, b = 0;
        (void) parse_cpu_stat_usage(s, &a);
        (void) parse_io_stat(s, &a, &b);
        (void) parse_blkio_bytes(s, &a, &b);
        free(s);
        return 0;
}
