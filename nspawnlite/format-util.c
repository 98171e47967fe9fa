/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/format-util.h"

#include <inttypes.h>
#include <time.h>

void json_print_string(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                switch (*p) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                default:
                        if (*p < 0x20)
                                fprintf(f, "\\u%04x", *p);
                        else
                                fputc(*p, f);
                }
        }
        fputc('"', f);
}

void format_bytes(uint64_t v, char *buf, size_t n) {
        static const char suffix[] = "BKMGTP";
        if (v == UINT64_MAX) {
                snprintf(buf, n, "-");
                return;
        }
        double d = (double) v;
        int i = 0;
        while (d >= 1024 && i < 5) {
                d /= 1024;
                i++;
        }
        if (i == 0)
                snprintf(buf, n, "%" PRIu64 "B", v);
        else
                snprintf(buf, n, "%.1f%c", d, suffix[i]);
}

void format_usec_span(uint64_t usec, char *buf, size_t n) {
        if (usec == UINT64_MAX) {
                snprintf(buf, n, "-");
                return;
        }
        uint64_t s = usec / 1000000;
        if (s < 60)
                snprintf(buf, n, "%.1fs", (double) usec / 1e6);
        else if (s < 3600)
                snprintf(buf, n, "%" PRIu64 "min %" PRIu64 "s", s / 60, s % 60);
        else if (s < 86400)
                snprintf(buf, n, "%" PRIu64 "h %" PRIu64 "min", s / 3600, (s % 3600) / 60);
        else
                snprintf(buf, n, "%" PRIu64 "d %" PRIu64 "h", s / 86400, (s % 86400) / 3600);
}

void format_timestamp(uint64_t usec, int iso, char *buf, size_t n) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;
        if (iso) {
                gmtime_r(&t, &tm);
                strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
        } else {
                localtime_r(&t, &tm);
                strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
        }
}
