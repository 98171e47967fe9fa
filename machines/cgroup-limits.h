/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Resource limits of a machine, one table for both backends: the key users type (--memory-max=,
 * set-limit memory-max=), how its value is parsed, and the file and format in cgroup v2 and v1. */

typedef enum {
        LIMIT_MEMORY_MAX,
        LIMIT_CPU_WEIGHT,
        LIMIT_CPU_QUOTA, /* percent of one CPU */
        LIMIT_PIDS_MAX,
        LIMIT_IO_WEIGHT,
        _LIMIT_MAX,
} LimitKey;

#define LIMIT_INFINITY UINT64_MAX

typedef struct {
        bool set[_LIMIT_MAX];
        uint64_t value[_LIMIT_MAX];
} Limits;

typedef struct {
        const char *name;          /* "memory-max" */
        const char *v2_file;       /* "memory.max" */
        const char *v1_controller; /* "memory" */
        const char *v1_file;       /* "memory.limit_in_bytes" */
        uint64_t min, max;         /* accepted range (besides "infinity" where allowed) */
        bool allow_infinity;
        bool is_size;        /* K/M/G suffixes */
        bool is_percent;     /* "50%" */
        uint64_t fresh;      /* what a new cgroup has: the value that undoes the limit */
        const char *syntax;  /* how to write a value, for error messages */
        const char *why_min; /* why nothing below min is taken */
} LimitInfo;

const LimitInfo *limit_info(LimitKey k);
int limit_from_name(const char *name, LimitKey *ret);

/* "memory-max=512M" → key and value; -EINVAL with nothing set on any error. */
int limit_parse_assignment(const char *s, LimitKey *ret_key, uint64_t *ret_value);
int limit_parse_value(LimitKey k, const char *s, uint64_t *ret);

/* 0 when s is a valid assignment, or -EINVAL with why it is not in why (for "'S': WHY"). */
int limit_check_assignment(const char *s, char *why, size_t n);
/* Why S is no value for k, for a message "KEY=S: WHY": its syntax, or the range and the reason for
 * its floor. */
void limit_explain_parse_error(LimitKey k, const char *s, char *buf, size_t n);
/* Why the kernel refused to set k (error from a backend's set_limit, on a unified or hybrid host;
 * used: the bytes of memory the machine uses, UINT64_MAX if unknown), for "KEY=VALUE: WHY". */
void limit_explain_refusal(LimitKey k, int error, bool unified, uint64_t used, char *buf, size_t n);
/* The value as a user would type it: "4096", "50%", "infinity". */
void limit_format_value(LimitKey k, uint64_t v, char *buf, size_t n);

/* What to write, for each backend. v1 CPU quota also needs the period: see limit_v1_period(). */
int limit_format_v2(LimitKey k, uint64_t v, char *buf, size_t n);
int limit_format_v1(LimitKey k, uint64_t v, char *buf, size_t n);
/* Human form, for status: "512M", "infinity", "50%". */
void limit_format_human(LimitKey k, uint64_t v, char *buf, size_t n);

#define CPU_QUOTA_PERIOD_USEC 100000

/* Accounting. UINT64_MAX where unknown. */
typedef struct {
        uint64_t cpu_usec;
        uint64_t memory_current, memory_peak;
        uint64_t pids_current;
        uint64_t io_read_bytes, io_write_bytes;
} CgroupStats;

/* Parsers of the kernel's files, kept apart from I/O so they are tested on plain text. */
int parse_cpu_stat_usage(const char *text, uint64_t *ret);                    /* v2 cpu.stat "usage_usec N" */
int parse_io_stat(const char *text, uint64_t *ret_read, uint64_t *ret_write); /* v2 io.stat */
int parse_blkio_bytes(const char *text, uint64_t *ret_read, uint64_t *ret_write); /* v1 io_service_bytes */
