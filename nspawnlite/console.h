/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

#include "nspawnlite/basic/parse-util.h"

typedef enum {
        CONSOLE_AUTO,
        CONSOLE_INTERACTIVE, /* the caller's terminal relayed to /dev/console, raw */
        CONSOLE_READ_ONLY,   /* console output relayed, no input */
        CONSOLE_PASSIVE,     /* a /dev/console exists, nothing is relayed */
        CONSOLE_PIPE,        /* no pty: the guest gets the caller's stdio */
} ConsoleMode;

/* Relays the caller's terminal to and from the guest's console pty master. Interactive mode puts
 * the caller's terminal in raw mode (restored by console_relay_done() on every exit path) and keeps
 * the window size in sync; Ctrl-] three times within a second asks for the machine to be killed. */

#define CONSOLE_ESCAPE_CHAR  0x1d /* Ctrl-] */
#define CONSOLE_ESCAPE_COUNT 3

/* The escape sequence as typed so far, for every client that lets a person detach or kill. */
typedef struct {
        unsigned count;
        usec_t first;
} EscapeScanner;

/* Feed input read at now: true once Ctrl-] was typed CONSOLE_ESCAPE_COUNT times in a row within a
 * second; other input resets the count. */
bool escape_scan(EscapeScanner *e, const char *buf, size_t n, usec_t now);

typedef struct {
        ConsoleMode mode;
        int in, out; /* the caller's */
        int master;  /* not owned */
        int peer;    /* our own fd of the slave: keeps the master from hanging up between openers */
        bool raw;
        struct termios saved;

        char to_guest[4096];
        size_t to_guest_len;
        char to_host[16384];
        size_t to_host_len;
        bool in_eof;
        bool master_hung_up; /* no slave open right now: retry later */

        EscapeScanner escape;

        int idx_in, idx_master, idx_out; /* positions in the pollfd array, -1 if absent */

        /* Called with everything read from the guest's console (attached clients, log, readiness). */
        void (*on_output)(void *userdata, const char *buf, size_t n);
        void *userdata;
} ConsoleRelay;

/* Resolve CONSOLE_AUTO for a verb from what stdin/stdout are. */
ConsoleMode console_mode_resolve(ConsoleMode requested, bool is_run);

int console_relay_init(ConsoleRelay *c, ConsoleMode mode, int in, int out);
void console_relay_set_master(ConsoleRelay *c, int master);
void console_relay_done(ConsoleRelay *c);

/* Add what the relay waits for to p (at most 3 entries). */
void console_relay_poll_add(ConsoleRelay *c, struct pollfd *p, size_t *n);
/* Move data. Returns 1 when the escape sequence was typed, 0 otherwise. */
int console_relay_dispatch(ConsoleRelay *c, const struct pollfd *p, usec_t now);
/* Queue input for the guest from elsewhere (an attached client). Returns how much was taken. */
size_t console_relay_inject(ConsoleRelay *c, const char *buf, size_t n);
/* Copy the caller's window size to the pty. */
void console_relay_winch(ConsoleRelay *c);
/* After the guest is gone: pass on what is left in the pty, then flush. */
void console_relay_drain(ConsoleRelay *c);

typedef enum {
        RELAY_END_WATCH,  /* watch_fd became readable (the peer ended) */
        RELAY_END_ESCAPE, /* the escape was typed */
        RELAY_END_INPUT,  /* the caller's input ended */
        RELAY_END_ERROR,
} RelayEnd;

/* For clients (login, shell): relay the caller's terminal to and from the master set with
 * console_relay_set_master(), following window size changes, until watch_fd is readable (after
 * draining the master), or the escape is typed (if escape_ends), or the input ends (if input_ends). */
RelayEnd console_relay_run(ConsoleRelay *c, int watch_fd, bool escape_ends, bool input_ends);

/* Whether the relay wants a timer tick (a hung-up master is polled again every 20 ms). */
bool console_relay_wants_tick(const ConsoleRelay *c);

usec_t now_usec(void);
