/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef uint64_t usec_t;
#define USEC_PER_MSEC 1000ULL
#define USEC_PER_SEC  1000000ULL
#define USEC_INFINITY UINT64_MAX

/* "SIGTERM", "TERM", "RTMIN+4", "SIGRTMIN+4", "15". */
int parse_signal(const char *s, int *ret);
/* Signal name for printing ("SIGRTMIN+4"); a static buffer. */
const char *signal_to_string(int sig);

/* "30", "30s", "500ms", "2min", "1h", "infinity". */
int parse_sec(const char *s, usec_t *ret);

/* "512M", "1G", "65536", "infinity" (UINT64_MAX), with base 1024. */
int parse_size(const char *s, uint64_t *ret);

/* Unsigned integer in [min, max]. */
int parse_uint64_range(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

int parse_boolean(const char *s);
