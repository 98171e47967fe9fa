/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <stdio.h>

/* Output for people and for scripts. */

/* A JSON string, quoted and escaped; always valid UTF-8: each byte of s that is not part of a
 * valid UTF-8 sequence becomes U+FFFD (\ufffd), the replacement character. */
void json_print_string(FILE *f, const char *s);

/* "1.5G", "312K", "17B"; "-" for UINT64_MAX. */
void format_bytes(uint64_t v, char *buf, size_t n);
/* "2.3s", "1min 12s", "3h 5min"; "-" for UINT64_MAX. */
void format_usec_span(uint64_t usec, char *buf, size_t n);
/* Local time "2026-11-29 00:20:01" of a CLOCK_REALTIME usec; ISO 8601 UTC with iso. */
void format_timestamp(uint64_t usec, int iso, char *buf, size_t n);
