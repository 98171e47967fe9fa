/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* systemd's ini format (systemd.syntax(7)): [Section] headers, KEY=VALUE assignments, comment lines
 * starting with '#' or ';', and a trailing backslash joining a line with the next one (the backslash
 * becomes a space; comment lines inside a continuation are skipped). Keys and values are trimmed of
 * white space. What the keys mean is the caller's business. */

/* One assignment: section is "" for an assignment before any section header; line is where the key
 * stands. A negative return stops the parse and is returned. */
typedef int (*IniCallback)(const char *section, const char *key, const char *value, unsigned line,
                           void *userdata);

/* Parse size bytes of text. -EBADMSG on a syntax error (a NUL byte, a line that is neither a
 * section, an assignment nor a comment, an empty key), with *ret_line (if not NULL) set to its line. */
int ini_parse(const char *text, size_t size, IniCallback cb, void *userdata, unsigned *ret_line);
