/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Long work of the store's verbs (clone, import, export, pull): a line redrawn on a terminal, one
 * line per finished step otherwise; Ctrl-C, SIGTERM or SIGHUP stop it at its next report, so
 * that the verb removes its temporary and leaves nothing (a SIGKILLed verb leaves one for gc). */
typedef struct {
        const char *step;
        bool tty;
        uint64_t start, last, done;
} Progress;

/* Catch the three signals; before any temporary is made. */
void interrupts_catch(void);
/* The signal that asked to stop, or 0. */
int interrupted(void);

void progress_begin(Progress *p, const char *step);
/* done of total bytes (total 0: unknown); -EINTR once interrupted. */
int progress_update(Progress *p, uint64_t done, uint64_t total);
/* Clears the line; a finished step says what it did and how long it took (at info level). */
void progress_end(Progress *p, bool ok);
