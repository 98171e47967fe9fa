/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/basic/parse-util.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nspawnlite/basic/macro.h"

static const char *const signal_names[] = {
        [SIGHUP] = "HUP",   [SIGINT] = "INT",       [SIGQUIT] = "QUIT", [SIGILL] = "ILL",
        [SIGTRAP] = "TRAP", [SIGABRT] = "ABRT",     [SIGBUS] = "BUS",   [SIGFPE] = "FPE",
        [SIGKILL] = "KILL", [SIGUSR1] = "USR1",     [SIGSEGV] = "SEGV", [SIGUSR2] = "USR2",
        [SIGPIPE] = "PIPE", [SIGALRM] = "ALRM",     [SIGTERM] = "TERM", [SIGSTKFLT] = "STKFLT",
        [SIGCHLD] = "CHLD", [SIGCONT] = "CONT",     [SIGSTOP] = "STOP", [SIGTSTP] = "TSTP",
        [SIGTTIN] = "TTIN", [SIGTTOU] = "TTOU",     [SIGURG] = "URG",   [SIGXCPU] = "XCPU",
        [SIGXFSZ] = "XFSZ", [SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF", [SIGWINCH] = "WINCH",
        [SIGIO] = "IO",     [SIGPWR] = "PWR",       [SIGSYS] = "SYS",
};

static int parse_int_strict(const char *s, long min, long max, long *ret) {
        if (!s || !*s || isspace((unsigned char) *s) || *s == '+')
                return -EINVAL;
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || *end || v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int parse_signal(const char *s, int *ret) {
        long v;
        if (!s || !*s)
                return -EINVAL;
        if (parse_int_strict(s, 1, SIGRTMAX, &v) >= 0) {
                *ret = (int) v;
                return 0;
        }
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 1; i < ELEMENTSOF(signal_names); i++)
                if (signal_names[i] && strcasecmp(s, signal_names[i]) == 0) {
                        *ret = (int) i;
                        return 0;
                }
        if (strncasecmp(s, "RTMIN", 5) == 0) {
                s += 5;
                if (!*s) {
                        *ret = SIGRTMIN;
                        return 0;
                }
                if (*s != '+' || parse_int_strict(s + 1, 0, SIGRTMAX - SIGRTMIN, &v) < 0)
                        return -EINVAL;
                *ret = SIGRTMIN + (int) v;
                return 0;
        }
        if (strncasecmp(s, "RTMAX", 5) == 0) {
                s += 5;
                if (!*s) {
                        *ret = SIGRTMAX;
                        return 0;
                }
                if (*s != '-' || parse_int_strict(s + 1, 0, SIGRTMAX - SIGRTMIN, &v) < 0)
                        return -EINVAL;
                *ret = SIGRTMAX - (int) v;
                return 0;
        }
        return -EINVAL;
}

const char *signal_to_string(int sig) {
        static __thread char buf[32];
        if (sig > 0 && (size_t) sig < ELEMENTSOF(signal_names) && signal_names[sig])
                snprintf(buf, sizeof buf, "SIG%s", signal_names[sig]);
        else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
                snprintf(buf, sizeof buf, "SIGRTMIN+%d", sig - SIGRTMIN);
        else
                snprintf(buf, sizeof buf, "%d", sig);
        return buf;
}

/* A number followed by a unit from the table; the number may have a fraction. */
typedef struct {
        const char *suffix;
        uint64_t factor;
} Unit;

static int parse_with_units(const char *s, const Unit *units, size_t n_units, uint64_t default_factor,
                            uint64_t *ret) {
        if (!s || !*s || !isdigit((unsigned char) *s))
                return -EINVAL;
        char *end;
        errno = 0;
        unsigned long long whole = strtoull(s, &end, 10);
        if (errno)
                return -ERANGE;
        /* The fraction as digits, not strtod(): no exponent ("1.5e3"), no inf, exact. */
        uint64_t frac_num = 0, frac_den = 1;
        if (*end == '.') {
                end++;
                if (!isdigit((unsigned char) *end))
                        return -EINVAL;
                for (; isdigit((unsigned char) *end); end++)
                        if (frac_den <= UINT64_MAX / 10 / 10) { /* further digits are below any unit */
                                frac_num = frac_num * 10 + (uint64_t) (*end - '0');
                                frac_den *= 10;
                        }
        }
        uint64_t factor = default_factor;
        if (*end) {
                size_t i;
                for (i = 0; i < n_units; i++)
                        if (strcmp(end, units[i].suffix) == 0)
                                break;
                if (i == n_units)
                        return -EINVAL;
                factor = units[i].factor;
        }
        if (whole > UINT64_MAX / factor)
                return -ERANGE;
        uint64_t v = (uint64_t) whole * factor;
        /* frac_num < frac_den, so f < factor. */
        uint64_t f = (uint64_t) ((unsigned __int128) frac_num * factor / frac_den);
        if (v > UINT64_MAX - f)
                return -ERANGE;
        *ret = v + f;
        return 0;
}

int parse_sec(const char *s, usec_t *ret) {
        static const Unit units[] = {
                { "us", 1 },
                { "ms", USEC_PER_MSEC },
                { "s", USEC_PER_SEC },
                { "sec", USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC },
        };
        if (s && strcmp(s, "infinity") == 0) {
                *ret = USEC_INFINITY;
                return 0;
        }
        return parse_with_units(s, units, ELEMENTSOF(units), USEC_PER_SEC, ret);
}

int parse_size(const char *s, uint64_t *ret) {
        static const Unit units[] = {
                { "K", 1ULL << 10 }, { "M", 1ULL << 20 }, { "G", 1ULL << 30 }, { "T", 1ULL << 40 },
                { "P", 1ULL << 50 }, { "k", 1ULL << 10 }, { "m", 1ULL << 20 }, { "g", 1ULL << 30 },
                { "t", 1ULL << 40 }, { "B", 1 },
        };
        if (s && strcmp(s, "infinity") == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        return parse_with_units(s, units, ELEMENTSOF(units), 1, ret);
}

int parse_uint64_range(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end)
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int parse_boolean(const char *s) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };
        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}
