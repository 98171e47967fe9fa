/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/cgroup-limits.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nspawnlite/format-util.h"
#include "nspawnlite/macro.h"
#include "nspawnlite/parse-util.h"

static const LimitInfo limit_table[_LIMIT_MAX] = {
        [LIMIT_MEMORY_MAX] = { "memory-max", "memory.max", "memory", "memory.limit_in_bytes",
                               4096, UINT64_C(1) << 53, true, true, false },
        [LIMIT_CPU_WEIGHT] = { "cpu-weight", "cpu.weight", "cpu", "cpu.shares", 1, 10000, false, false, false },
        [LIMIT_CPU_QUOTA] = { "cpu-quota", "cpu.max", "cpu", "cpu.cfs_quota_us", 1, 100000, true, false, true },
        [LIMIT_PIDS_MAX] = { "pids-max", "pids.max", "pids", "pids.max", 1, 4194304, true, false, false },
        [LIMIT_IO_WEIGHT] = { "io-weight", "io.weight", "blkio", "blkio.weight", 1, 10000, false, false, false },
};

const LimitInfo *limit_info(LimitKey k) {
        return (unsigned) k < _LIMIT_MAX ? &limit_table[k] : NULL;
}

int limit_from_name(const char *name, LimitKey *ret) {
        for (int k = 0; k < _LIMIT_MAX; k++)
                if (strcmp(name, limit_table[k].name) == 0) {
                        *ret = (LimitKey) k;
                        return 0;
                }
        return -EINVAL;
}

int limit_parse_value(LimitKey k, const char *s, uint64_t *ret) {
        const LimitInfo *i = limit_info(k);
        uint64_t v;
        int r;
        if (!i || !s || !*s)
                return -EINVAL;
        if (strcmp(s, "infinity") == 0 || strcmp(s, "max") == 0) {
                if (!i->allow_infinity)
                        return -EINVAL;
                *ret = LIMIT_INFINITY;
                return 0;
        }
        if (i->is_size)
                r = parse_size(s, &v);
        else if (i->is_percent) {
                size_t n = strlen(s);
                if (n < 2 || s[n - 1] != '%')
                        return -EINVAL;
                char buf[32];
                if (n - 1 >= sizeof buf)
                        return -EINVAL;
                memcpy(buf, s, n - 1);
                buf[n - 1] = 0;
                r = parse_uint64_range(buf, 0, UINT64_MAX, &v);
        } else
                r = parse_uint64_range(s, 0, UINT64_MAX, &v);
        if (r < 0)
                return -EINVAL;
        if (v < i->min || v > i->max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int limit_parse_assignment(const char *s, LimitKey *ret_key, uint64_t *ret_value) {
        const char *eq = strchr(s, '=');
        if (!eq || eq == s)
                return -EINVAL;
        char name[32];
        if ((size_t) (eq - s) >= sizeof name)
                return -EINVAL;
        memcpy(name, s, (size_t) (eq - s));
        name[eq - s] = 0;
        LimitKey k;
        if (limit_from_name(name, &k) < 0)
                return -EINVAL;
        uint64_t v;
        int r = limit_parse_value(k, eq + 1, &v);
        if (r < 0)
                return r;
        *ret_key = k;
        *ret_value = v;
        return 0;
}

int limit_format_v2(LimitKey k, uint64_t v, char *buf, size_t n) {
        switch (k) {
        case LIMIT_MEMORY_MAX:
        case LIMIT_PIDS_MAX:
                if (v == LIMIT_INFINITY)
                        snprintf(buf, n, "max");
                else
                        snprintf(buf, n, "%" PRIu64, v);
                return 0;
        case LIMIT_CPU_WEIGHT:
                snprintf(buf, n, "%" PRIu64, v);
                return 0;
        case LIMIT_CPU_QUOTA:
                if (v == LIMIT_INFINITY)
                        snprintf(buf, n, "max %d", CPU_QUOTA_PERIOD_USEC);
                else
                        snprintf(buf, n, "%" PRIu64 " %d", v * CPU_QUOTA_PERIOD_USEC / 100, CPU_QUOTA_PERIOD_USEC);
                return 0;
        case LIMIT_IO_WEIGHT:
                snprintf(buf, n, "default %" PRIu64, v);
                return 0;
        default:
                return -EINVAL;
        }
}

int limit_format_v1(LimitKey k, uint64_t v, char *buf, size_t n) {
        switch (k) {
        case LIMIT_MEMORY_MAX:
        case LIMIT_CPU_QUOTA:
                if (v == LIMIT_INFINITY)
                        snprintf(buf, n, "-1");
                else if (k == LIMIT_MEMORY_MAX)
                        snprintf(buf, n, "%" PRIu64, v);
                else
                        snprintf(buf, n, "%" PRIu64, v * CPU_QUOTA_PERIOD_USEC / 100);
                return 0;
        case LIMIT_PIDS_MAX:
                if (v == LIMIT_INFINITY)
                        snprintf(buf, n, "max");
                else
                        snprintf(buf, n, "%" PRIu64, v);
                return 0;
        case LIMIT_CPU_WEIGHT:
                /* v2 weight 100 is v1's 1024 shares; keep within v1's range [2, 262144]. */
                snprintf(buf, n, "%" PRIu64, v * 1024 / 100 < 2 ? 2 : v * 1024 / 100);
                return 0;
        case LIMIT_IO_WEIGHT:
                /* v1 blkio.weight takes [10, 1000]; v2's default 100 maps to v1's 500. */
                snprintf(buf, n, "%" PRIu64, v * 5 < 10 ? 10 : v * 5 > 1000 ? 1000 : v * 5);
                return 0;
        default:
                return -EINVAL;
        }
}

void limit_format_human(LimitKey k, uint64_t v, char *buf, size_t n) {
        if (v == LIMIT_INFINITY)
                snprintf(buf, n, "infinity");
        else if (k == LIMIT_CPU_QUOTA)
                snprintf(buf, n, "%" PRIu64 "%%", v);
        else if (k == LIMIT_MEMORY_MAX)
                format_bytes(v, buf, n);
        else
                snprintf(buf, n, "%" PRIu64, v);
}

int parse_cpu_stat_usage(const char *text, uint64_t *ret) {
        const char *p = strstr(text, "usage_usec ");
        if (!p || (p != text && p[-1] != '\n'))
                return -ENODATA;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p + 11, &end, 10);
        if (errno || end == p + 11)
                return -EBADMSG;
        *ret = v;
        return 0;
}

/* "8:0 rbytes=1 wbytes=2 rios=…" lines: sum over devices. */
int parse_io_stat(const char *text, uint64_t *ret_read, uint64_t *ret_write) {
        uint64_t rd = 0, wr = 0;
        for (const char *p = text; p && *p;) {
                const char *eol = strchr(p, '\n');
                size_t len = eol ? (size_t) (eol - p) : strlen(p);
                for (const char *q = p; q < p + len;) {
                        unsigned long long v;
                        if (sscanf(q, "rbytes=%llu", &v) == 1)
                                rd += v;
                        else if (sscanf(q, "wbytes=%llu", &v) == 1)
                                wr += v;
                        const char *sp = memchr(q, ' ', (size_t) (p + len - q));
                        q = sp ? sp + 1 : p + len;
                }
                p = eol ? eol + 1 : NULL;
        }
        *ret_read = rd;
        *ret_write = wr;
        return 0;
}

/* "8:0 Read 123" … "Total 456": sum the Read and Write lines of every device. */
int parse_blkio_bytes(const char *text, uint64_t *ret_read, uint64_t *ret_write) {
        uint64_t rd = 0, wr = 0;
        for (const char *p = text; p && *p;) {
                char dev[32], op[16];
                unsigned long long v;
                if (sscanf(p, "%31s %15s %llu", dev, op, &v) == 3) {
                        if (strcmp(op, "Read") == 0)
                                rd += v;
                        else if (strcmp(op, "Write") == 0)
                                wr += v;
                }
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        *ret_read = rd;
        *ret_write = wr;
        return 0;
}
