/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <syslog.h>

#include "nspawnlite/basic/macro.h"

/* One logging facility. Messages go to stderr, prefixed with the program name. Helpers below the
 * verbs and launch steps do not log; they return -errno and the edge says what failed. "%m" in a
 * *_errno() call prints the error passed in, not whatever errno happens to be. */

void log_set_max_level(int level);
int log_get_max_level(void);
void log_setup_from_env(void);

/* While the console is in raw mode, lines need "\r\n". */
void log_set_raw_terminal(int raw);

/* Put prefix (copied; NULL: none) before each message, e.g. "FILE:LINE: " while a file's values go
 * through the parsers of the options they stand for. */
void log_set_prefix(const char *prefix);

int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) _printf_(5, 6);

#define log_full_errno(level, error, ...)                                                         \
        ({                                                                                        \
                int _l = (level), _e = (error);                                                   \
                _l <= log_get_max_level() ? log_internal(_l, _e, __FILE__, __LINE__, __VA_ARGS__) \
                                          : -(_e < 0 ? -_e : _e);                                 \
        })

#define log_debug(...)   log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)    log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)  log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)   log_full_errno(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...)   log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...)   log_full_errno(LOG_ERR, e, __VA_ARGS__)
