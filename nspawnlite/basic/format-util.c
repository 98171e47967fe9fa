/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/basic/format-util.h"

#include <inttypes.h>
#include <time.h>

/* Length of the valid UTF-8 sequence at p (1-4), or 0: overlong forms, surrogates and code points
 * past U+10FFFF are not valid. */
static size_t utf8_valid_length(const unsigned char *p) {
        if (p[0] < 0x80)
                return 1;
        size_t n;
        uint32_t cp, min;
        if ((p[0] & 0xe0) == 0xc0)
                n = 2, cp = p[0] & 0x1f, min = 0x80;
        else if ((p[0] & 0xf0) == 0xe0)
                n = 3, cp = p[0] & 0x0f, min = 0x800;
        else if ((p[0] & 0xf8) == 0xf0)
                n = 4, cp = p[0] & 0x07, min = 0x10000;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
                        return 0;
                cp = cp << 6 | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

void json_print_string(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                size_t n = utf8_valid_length(p);
                if (n == 0) {
                        /* A byte that is not UTF-8 (a path may hold any): the replacement character. */
                        fputs("\\ufffd", f);
                        p++;
                        continue;
                }
                if (n > 1) {
                        fwrite(p, 1, n, f);
                        p += n;
                        continue;
                }
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
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(f, "\\u%04x", *p);
                        else
                                fputc(*p, f);
                }
                p++;
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
