/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* machine_info_parse on a state file; what it accepts is formatted and parsed again, and must come
 * back the same. */
#include "machines/registry.h"
#include "tests/fuzz/fuzz.h"

#define SAME_STR(f) FUZZ_CHECK(strcmp(a->f, b->f) == 0)
#define SAME(f) FUZZ_CHECK(a->f == b->f)

static void check_same(const MachineInfo *a, const MachineInfo *b) {
        SAME_STR(name);
        SAME_STR(state);
        SAME_STR(init);
        SAME(leader);
        SAME(leader_starttime);
        SAME(supervisor);
        SAME(since_usec);
        SAME_STR(rootfs);
        SAME_STR(uuid);
        SAME_STR(cgroup);
        SAME_STR(address);
        SAME_STR(interface);
        SAME(detached);
        SAME(caps);
        SAME(no_new_privileges);
        for (int k = 0; k < _LIMIT_MAX; k++) {
                SAME(limits.set[k]);
                if (a->limits.set[k])
                        SAME(limits.value[k]);
        }
}

static void check_terminated(const MachineInfo *m) {
        FUZZ_CHECK(memchr(m->name, 0, sizeof m->name) && memchr(m->state, 0, sizeof m->state) &&
                   memchr(m->init, 0, sizeof m->init) && memchr(m->rootfs, 0, sizeof m->rootfs) &&
                   memchr(m->uuid, 0, sizeof m->uuid) && memchr(m->cgroup, 0, sizeof m->cgroup) &&
                   memchr(m->address, 0, sizeof m->address) && memchr(m->interface, 0, sizeof m->interface));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_string(data, size);
        MachineInfo *a = malloc(sizeof *a), *b = malloc(sizeof *b);
        memset(a, 0xaa, sizeof *a);
        memset(b, 0x55, sizeof *b);
        if (machine_info_parse(s, a) >= 0) {
                check_terminated(a);
                FUZZ_CHECK(a->leader > 0);
                /* machine_state_write()'s buffer. */
                char *buf = malloc(8192);
                int r = machine_info_format(a, buf, 8192);
                FUZZ_CHECK(r > 0 && (size_t) r == strlen(buf));
                FUZZ_CHECK(machine_info_parse(buf, b) >= 0);
                check_terminated(b);
                check_same(a, b);
                /* Too small a buffer is an error, never a cut state file. */
                for (size_t n = 0; n < (size_t) r; n += 1 + (size_t) r / 7)
                        FUZZ_CHECK(machine_info_format(a, buf, n) < 0);
                free(buf);
        }
        free(a);
        free(b);
        free(s);
        return 0;
}
