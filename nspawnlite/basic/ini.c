/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/basic/ini.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nspawnlite/basic/macro.h"

#define WHITESPACE " \t\r\n"

static char *strip(char *s) {
        s += strspn(s, WHITESPACE);
        size_t n = strlen(s);
        while (n > 0 && strchr(WHITESPACE, s[n - 1]))
                s[--n] = 0;
        return s;
}

/* One logical line (continuations joined): a section header or an assignment. */
static int ini_line(char *l, char **section, unsigned line, IniCallback cb, void *userdata) {
        if (*l == '[') {
                size_t n = strlen(l);
                if (n < 3 || l[n - 1] != ']' || memchr(l + 1, '[', n - 2) || memchr(l + 1, ']', n - 2))
                        return -EBADMSG;
                char *name = strndup(l + 1, n - 2);
                if (!name)
                        return -ENOMEM;
                free(*section);
                *section = name;
                return 0;
        }
        char *eq = strchr(l, '=');
        if (!eq)
                return -EBADMSG;
        *eq = 0;
        char *key = strip(l);
        if (!*key)
                return -EBADMSG;
        return cb(*section ?: "", key, strip(eq + 1), line, userdata);
}

int ini_parse(const char *text, size_t size, IniCallback cb, void *userdata, unsigned *ret_line) {
        _cleanup_free_ char *section = NULL, *buf = NULL;
        size_t buf_len = 0;
        unsigned line = 0, start = 0;
        int r;

        if (memchr(text, 0, size)) {
                /* The line of the first NUL, for the message. */
                unsigned l = 1;
                for (const char *p = text; *p; p++)
                        l += *p == '\n';
                if (ret_line)
                        *ret_line = l;
                return -EBADMSG;
        }

        for (size_t pos = 0; pos < size;) {
                const char *nl = memchr(text + pos, '\n', size - pos);
                size_t n = nl ? (size_t) (nl - (text + pos)) : size - pos;
                _cleanup_free_ char *raw = strndup(text + pos, n);
                if (!raw)
                        return -ENOMEM;
                pos += n + (nl ? 1 : 0);
                line++;

                char *l = strip(raw);
                /* Comments end nothing: inside a continuation they are skipped. */
                if (*l == '#' || *l == ';')
                        continue;
                if (!buf && !*l)
                        continue;
                size_t k = strlen(l);
                bool more = k > 0 && l[k - 1] == '\\';
                if (more)
                        l[k - 1] = ' ';
                if (!buf)
                        start = line;
                char *nb = realloc(buf, buf_len + k + 1);
                if (!nb)
                        return -ENOMEM;
                buf = nb;
                memcpy(buf + buf_len, l, k + 1);
                buf_len += k;
                if (more && pos < size)
                        continue;

                r = ini_line(strip(buf), &section, start, cb, userdata);
                free(TAKE_PTR(buf));
                buf_len = 0;
                if (r < 0) {
                        if (ret_line)
                                *ret_line = start;
                        return r;
                }
        }
        if (buf) {
                r = ini_line(strip(buf), &section, start, cb, userdata);
                if (r < 0 && ret_line)
                        *ret_line = start;
                return r < 0 ? r : 0;
        }
        return 0;
}
