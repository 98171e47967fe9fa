/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/cgroup-limits.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nspawnlite/basic/format-util.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/parse-util.h"

static const LimitInfo limit_table[_LIMIT_MAX] = {
        [LIMIT_MEMORY_MAX] = { .name = "memory-max",
                               .v2_file = "memory.max",
                               .v1_controller = "memory",
                               .v1_file = "memory.limit_in_bytes",
                               .min = 4096,
                               .max = UINT64_C(1) << 53,
                               .allow_infinity = true,
                               .is_size = true,
                               .fresh = LIMIT_INFINITY,
                               .syntax = "use bytes with K, M, G or T, or infinity",
                               .why_min = "one page, the least the kernel takes" },
        [LIMIT_CPU_WEIGHT] = { .name = "cpu-weight",
                               .v2_file = "cpu.weight",
                               .v1_controller = "cpu",
                               .v1_file = "cpu.shares",
                               .min = 1,
                               .max = 10000,
                               .fresh = 100,
                               .syntax = "use a weight from 1 to 10000" },
        [LIMIT_CPU_QUOTA] = { .name = "cpu-quota",
                              .v2_file = "cpu.max",
                              .v1_controller = "cpu",
                              .v1_file = "cpu.cfs_quota_us",
                              .min = 1,
                              .max = 100000,
                              .allow_infinity = true,
                              .is_percent = true,
                              .fresh = LIMIT_INFINITY,
                              .syntax = "use a percentage of one CPU like 50%, or infinity" },
        /* busybox's init, a getty and a shell take several tasks, systemd a dozen before its first
         * service: below this a machine would boot "successfully" into a guest that cannot fork. */
        [LIMIT_PIDS_MAX] = { .name = "pids-max",
                             .v2_file = "pids.max",
                             .v1_controller = "pids",
                             .v1_file = "pids.max",
                             .min = 16,
                             .max = 4194304,
                             .allow_infinity = true,
                             .fresh = LIMIT_INFINITY,
                             .syntax = "use a number of tasks, or infinity",
                             .why_min =
                                     "fewer tasks than a guest's init needs to start its first processes" },
        [LIMIT_IO_WEIGHT] = { .name = "io-weight",
                              .v2_file = "io.weight",
                              .v1_controller = "blkio",
                              .v1_file = "blkio.weight",
                              .min = 1,
                              .max = 10000,
                              .fresh = 100,
                              .syntax = "use a weight from 1 to 10000" },
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

static bool is_infinity(const char *s) {
        return strcmp(s, "infinity") == 0 || strcmp(s, "max") == 0;
}

/* The number in s, in the key's syntax, before any range check. */
static int parse_number(const LimitInfo *i, const char *s, uint64_t *ret) {
        uint64_t v;
        int r;
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
        *ret = v;
        return 0;
}

int limit_parse_value(LimitKey k, const char *s, uint64_t *ret) {
        const LimitInfo *i = limit_info(k);
        uint64_t v;
        if (!i || !s || !*s)
                return -EINVAL;
        if (is_infinity(s)) {
                if (!i->allow_infinity)
                        return -EINVAL;
                *ret = LIMIT_INFINITY;
                return 0;
        }
        if (parse_number(i, s, &v) < 0)
                return -EINVAL;
        if (v < i->min || v > i->max)
                return -ERANGE;
        *ret = v;
        return 0;
}

void limit_format_value(LimitKey k, uint64_t v, char *buf, size_t n) {
        if (v == LIMIT_INFINITY)
                snprintf(buf, n, "infinity");
        else
                snprintf(buf, n, "%" PRIu64 "%s", v, limit_info(k)->is_percent ? "%" : "");
}

void limit_explain_parse_error(LimitKey k, const char *s, char *buf, size_t n) {
        const LimitInfo *i = limit_info(k);
        uint64_t v;
        char lo[32], hi[32];
        if (!s || !*s || (is_infinity(s) && !i->allow_infinity) ||
            (!is_infinity(s) && parse_number(i, s, &v) < 0)) {
                snprintf(buf, n, "%s", i->syntax);
                return;
        }
        limit_format_value(k, i->min, lo, sizeof lo);
        limit_format_value(k, i->max, hi, sizeof hi);
        if (!is_infinity(s) && v < i->min && i->why_min)
                snprintf(buf, n, "below the minimum of %s%s (%s)", lo, i->is_size ? " bytes" : "",
                         i->why_min);
        else
                snprintf(buf, n, "out of range: use %s to %s%s%s", lo, hi, i->is_size ? " bytes" : "",
                         i->allow_infinity ? ", or infinity" : "");
}

int limit_check_assignment(const char *s, char *why, size_t n) {
        LimitKey k;
        uint64_t v;
        if (limit_parse_assignment(s, &k, &v) >= 0)
                return 0;
        const char *eq = strchr(s, '=');
        char name[32];
        if (eq && (size_t) (eq - s) < sizeof name) {
                snprintf(name, sizeof name, "%.*s", (int) (eq - s), s);
                if (limit_from_name(name, &k) >= 0) {
                        limit_explain_parse_error(k, eq + 1, why, n);
                        return -EINVAL;
                }
        }
        snprintf(why, n,
                 "use memory-max=BYTES, cpu-weight=1-10000, cpu-quota=N%%, pids-max=N or io-weight=1-10000 "
                 "(or infinity where it applies)");
        return -EINVAL;
}

void limit_explain_refusal(LimitKey k, int error, bool unified, uint64_t used, char *buf, size_t n) {
        const LimitInfo *i = limit_info(k);
        char u[32];
        switch (error) {
        case -EBUSY:
                /* cgroup v1 refuses a memory limit below the usage it cannot reclaim. */
                if (k == LIMIT_MEMORY_MAX && used != UINT64_MAX) {
                        format_bytes(used, u, sizeof u);
                        snprintf(buf, n, "below the memory the machine uses already (%s, %" PRIu64 " bytes)",
                                 u, used);
                        return;
                }
                break;
        case -EOPNOTSUPP:
        case -ENOENT: {
                /* The v2 controller is what its file is named after: "io" of "io.weight". */
                int ctl = (int) strcspn(i->v2_file, ".");
                const char *bfq = k == LIMIT_IO_WEIGHT
                                          ? " (only the BFQ I/O scheduler provides it); leave io-weight out"
                                          : "";
                if (unified)
                        snprintf(buf, n,
                                 "this host's cgroup2 does not offer %s (its %.*s controller is off here)",
                                 i->v2_file, ctl, i->v2_file);
                else
                        snprintf(buf, n, "this host's cgroup v1 %s controller does not offer %s%s",
                                 i->v1_controller, i->v1_file, bfq);
                return;
        }
        }
        snprintf(buf, n, "the kernel refused it (%s)", strerror(-error));
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
                        snprintf(buf, n, "%" PRIu64 " %d", v * CPU_QUOTA_PERIOD_USEC / 100,
                                 CPU_QUOTA_PERIOD_USEC);
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
