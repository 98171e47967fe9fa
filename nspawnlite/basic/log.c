/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/basic/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int max_level = LOG_INFO;
static int raw_terminal;
static char prefix[4200];

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_set_raw_terminal(int raw) {
        raw_terminal = raw;
}

void log_set_prefix(const char *p) {
        snprintf(prefix, sizeof prefix, "%s", p ?: "");
}

static const struct {
        const char *name;
        int level;
} level_table[] = {
        { "debug", LOG_DEBUG },     { "info", LOG_INFO }, { "notice", LOG_NOTICE },
        { "warning", LOG_WARNING }, { "err", LOG_ERR },   { "error", LOG_ERR },
};

void log_setup_from_env(void) {
        const char *e = getenv("NSPAWNLITE_LOG_LEVEL");
        if (!e)
                return;
        for (size_t i = 0; i < ELEMENTSOF(level_table); i++)
                if (strcasecmp(e, level_table[i].name) == 0)
                        max_level = level_table[i].level;
}

int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) {
        int saved = errno;
        char buf[2048];
        va_list ap;

        if (error < 0)
                error = -error;
        /* Let "%m" print the error we were handed. */
        errno = error;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);

        if (max_level >= LOG_DEBUG) {
                /* CLOCK_MONOTONIC, the clock of the kernel's trace events too: the steps of a launch
                 * (parent and child) can be timed against each other and against exec and exit. */
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                fprintf(stderr, "nspawnlite[%lld.%06ld %s:%d]: %s%s%s", (long long) ts.tv_sec,
                        ts.tv_nsec / 1000, file, line, prefix, buf, raw_terminal ? "\r\n" : "\n");
        } else
                fprintf(stderr, "nspawnlite: %s%s%s", prefix, buf, raw_terminal ? "\r\n" : "\n");

        errno = saved;
        return -error;
}
