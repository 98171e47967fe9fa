/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state file, both ways, through the one table of its keys (machine_state_keys):
 *   - input whose first byte is even is a state file: what machine_info_parse accepts is
 *     formatted and parsed again, and must come back the same;
 *   - input whose first byte is odd fills every key of a MachineInfo with arbitrary bytes
 *     (strings with any byte but NUL: newlines, '=', backslashes, invalid UTF-8), which is
 *     formatted, parsed, and must come back the same: no value can make a line of its own. */
#include "nspawnlite/basic/name.h"
#include "machines/registry.h"
#include "tests/fuzz/fuzz.h"

static void check_same(const MachineInfo *a, const MachineInfo *b) {
        for (size_t i = 0; i < machine_state_keys_n; i++) {
                const MachineStateKey *k = &machine_state_keys[i];
                const char *fa = (const char *) a + k->offset, *fb = (const char *) b + k->offset;
                if (k->type == STATE_KEY_STRING) {
                        FUZZ_CHECK(memchr(fa, 0, k->size) && memchr(fb, 0, k->size));
                        FUZZ_CHECK(strcmp(fa, fb) == 0);
                } else
                        FUZZ_CHECK(memcmp(fa, fb, k->size) == 0);
        }
        for (int k = 0; k < _LIMIT_MAX; k++) {
                FUZZ_CHECK(a->limits.set[k] == b->limits.set[k]);
                if (a->limits.set[k])
                        FUZZ_CHECK(a->limits.value[k] == b->limits.value[k]);
        }
}

/* Format a, parse it back into b (a fresh, dirty buffer), and compare. */
static void round_trip(const MachineInfo *a) {
        MachineInfo *b = malloc(sizeof *b);
        memset(b, 0x55, sizeof *b);
        /* machine_state_write()'s buffer. */
        char *buf = malloc(MACHINE_STATE_MAX);
        int r = machine_info_format(a, buf, MACHINE_STATE_MAX);
        FUZZ_CHECK(r > 0 && (size_t) r == strlen(buf));
        FUZZ_CHECK(machine_info_parse(buf, b) >= 0);
        check_same(a, b);
        /* Too small a buffer is an error, never a cut state file. */
        for (size_t n = 0; n < (size_t) r; n += 1 + (size_t) r / 7)
                FUZZ_CHECK(machine_info_format(a, buf, n) < 0);
        free(buf);
        free(b);
}

typedef struct {
        const uint8_t *p;
        size_t left;
} Cursor;

static uint8_t take_byte(Cursor *c) {
        if (!c->left)
                return 0;
        c->left--;
        return *c->p++;
}

static uint64_t take_u64(Cursor *c) {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
                v = v << 8 | take_byte(c);
        return v;
}

static void from_bytes(const uint8_t *data, size_t size) {
        MachineInfo *a = malloc(sizeof *a);
        memset(a, 0, sizeof *a);
        Cursor c = { data, size };
        for (size_t i = 0; i < machine_state_keys_n; i++) {
                const MachineStateKey *k = &machine_state_keys[i];
                char *f = (char *) a + k->offset;
                switch (k->type) {
                case STATE_KEY_STRING: {
                        /* A length (two bytes, up to the field's size), then the bytes; a NUL
                         * stands for 0xff, since a C string cannot hold one. */
                        size_t len = ((size_t) take_byte(&c) << 8 | take_byte(&c)) % k->size;
                        for (size_t j = 0; j < len; j++) {
                                uint8_t b = take_byte(&c);
                                f[j] = (char) (b ? b : 0xff);
                        }
                        f[len] = 0;
                        break;
                }
                case STATE_KEY_PID:
                        *(pid_t *) f = (pid_t) (take_u64(&c) & INT32_MAX);
                        break;
                case STATE_KEY_U64:
                        *(uint64_t *) f = take_u64(&c);
                        break;
                case STATE_KEY_U32:
                        *(uint32_t *) f = (uint32_t) take_u64(&c);
                        break;
                case STATE_KEY_BOOL:
                        *(bool *) f = take_byte(&c) & 1;
                        break;
                }
        }
        for (int k = 0; k < _LIMIT_MAX; k++) {
                a->limits.set[k] = take_byte(&c) & 1;
                a->limits.value[k] = a->limits.set[k] ? take_u64(&c) : 0;
        }
        if (machine_name_is_valid(a->name) && a->leader > 0)
                round_trip(a);
        else {
                /* What parse refuses for its values, it refuses from format too. */
                char *buf = malloc(MACHINE_STATE_MAX);
                MachineInfo *b = malloc(sizeof *b);
                FUZZ_CHECK(machine_info_format(a, buf, MACHINE_STATE_MAX) > 0);
                FUZZ_CHECK(machine_info_parse(buf, b) < 0);
                free(b);
                free(buf);
                /* And with a valid name and leader, the rest of it goes through. */
                snprintf(a->name, sizeof a->name, "fuzz");
                a->leader = a->leader ?: 1;
                round_trip(a);
        }
        free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 0 && (data[0] & 1)) {
                from_bytes(data + 1, size - 1);
                return 0;
        }
        char *s = fuzz_string(data, size);
        MachineInfo *a = malloc(sizeof *a);
        memset(a, 0xaa, sizeof *a);
        if (machine_info_parse(s, a) >= 0) {
                FUZZ_CHECK(a->leader > 0 && machine_name_is_valid(a->name));
                round_trip(a);
        }
        free(a);
        free(s);
        return 0;
}
