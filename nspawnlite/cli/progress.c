/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/cli/progress.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "nspawnlite/basic/format-util.h"
#include "nspawnlite/basic/log.h"

static volatile sig_atomic_t stop_signal;

static void on_interrupt(int sig) {
        stop_signal = sig;
}

void interrupts_catch(void) {
        struct sigaction sa = { .sa_handler = on_interrupt };
        (void) sigaction(SIGINT, &sa, NULL);
        (void) sigaction(SIGTERM, &sa, NULL);
        (void) sigaction(SIGHUP, &sa, NULL);
}

int interrupted(void) {
        return stop_signal;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

void progress_begin(Progress *p, const char *step) {
        *p = (Progress){ .step = step, .tty = isatty(STDERR_FILENO) == 1, .start = now_usec() };
}

static void progress_line(const Progress *p, uint64_t total, char *buf, size_t n) {
        char done[16], all[16], rate[16];
        uint64_t elapsed = now_usec() - p->start;
        format_bytes(p->done, done, sizeof done);
        format_bytes(total, all, sizeof all);
        format_bytes(elapsed > 0 ? p->done * 1000000ULL / elapsed : 0, rate, sizeof rate);
        snprintf(buf, n, "%s: %s%s%s (%s/s)", p->step, done, total ? " of " : "", total ? all : "", rate);
}

int progress_update(Progress *p, uint64_t done, uint64_t total) {
        p->done = done;
        if (stop_signal)
                return -EINTR;
        uint64_t now = now_usec();
        if (!p->tty || now - p->last < 100000)
                return 0;
        p->last = now;
        char line[256];
        progress_line(p, total, line, sizeof line);
        fprintf(stderr, "\r%s\033[K", line);
        return 0;
}

void progress_end(Progress *p, bool ok) {
        if (p->tty)
                fputs("\r\033[K", stderr);
        if (!ok || log_get_max_level() < LOG_INFO)
                return;
        char line[256], took[32];
        progress_line(p, 0, line, sizeof line);
        format_usec_span(now_usec() - p->start, took, sizeof took);
        fprintf(stderr, "%s, %s\n", line, took);
}
