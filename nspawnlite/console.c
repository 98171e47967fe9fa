/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nspawnlite/console.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/macro.h"

usec_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

ConsoleMode console_mode_resolve(ConsoleMode requested, bool is_run) {
        if (requested != CONSOLE_AUTO)
                return requested;
        if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
                return CONSOLE_INTERACTIVE;
        /* A command's output belongs to whoever reads our stdout; a booting OS wants a console. */
        return is_run ? CONSOLE_PIPE : CONSOLE_READ_ONLY;
}

int console_relay_init(ConsoleRelay *c, ConsoleMode mode, int in, int out) {
        *c = (ConsoleRelay){ .mode = mode,
                             .in = in,
                             .out = out,
                             .master = -EBADF,
                             .peer = -EBADF,
                             .idx_in = -1,
                             .idx_master = -1,
                             .idx_out = -1 };
        if (mode != CONSOLE_INTERACTIVE)
                c->in_eof = true;
        if (mode == CONSOLE_INTERACTIVE && isatty(in) && tcgetattr(in, &c->saved) >= 0) {
                struct termios raw = c->saved;
                /* Fully raw: the guest's pty already turns "\n" into "\r\n"; our own messages
                 * end in "\r\n" while the terminal is raw (log_set_raw_terminal()). */
                cfmakeraw(&raw);
                if (tcsetattr(in, TCSANOW, &raw) < 0)
                        return -errno;
                c->raw = true;
                log_set_raw_terminal(1);
        }
        return 0;
}

void console_relay_set_master(ConsoleRelay *c, int master) {
        c->master = master;
        c->master_hung_up = false;
        c->to_guest_len = 0;
        c->peer = safe_close(c->peer);
        if (master >= 0) {
                (void) fd_nonblock(master, 1);
                /* Without a slave open, the master reports a hang-up and we would stop reading
                 * until one is opened again: output written in between could be flushed away by
                 * the next opener (a getty) before we see it. */
                c->peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
                console_relay_winch(c);
        }
}

void console_relay_done(ConsoleRelay *c) {
        c->peer = safe_close(c->peer);
        if (c->raw) {
                (void) tcsetattr(c->in, TCSANOW, &c->saved);
                c->raw = false;
                log_set_raw_terminal(0);
        }
}

void console_relay_winch(ConsoleRelay *c) {
        struct winsize ws;
        if (c->master < 0 || c->mode != CONSOLE_INTERACTIVE)
                return;
        if (ioctl(c->in, TIOCGWINSZ, &ws) >= 0)
                (void) ioctl(c->master, TIOCSWINSZ, &ws);
}

bool console_relay_wants_tick(const ConsoleRelay *c) {
        return c->master >= 0 && c->master_hung_up;
}

static bool relays_output(const ConsoleRelay *c) {
        return c->mode == CONSOLE_INTERACTIVE || c->mode == CONSOLE_READ_ONLY;
}

void console_relay_poll_add(ConsoleRelay *c, struct pollfd *p, size_t *n) {
        c->idx_in = c->idx_master = c->idx_out = -1;
        if (c->master < 0)
                return;
        if (!c->in_eof && c->to_guest_len < sizeof c->to_guest) {
                c->idx_in = (int) *n;
                p[(*n)++] = (struct pollfd){ .fd = c->in, .events = POLLIN };
        }
        short ev = 0;
        if (!c->master_hung_up && c->to_host_len < sizeof c->to_host)
                ev |= POLLIN;
        if (!c->master_hung_up && c->to_guest_len > 0)
                ev |= POLLOUT;
        if (ev) {
                c->idx_master = (int) *n;
                p[(*n)++] = (struct pollfd){ .fd = c->master, .events = ev };
        }
        if (c->to_host_len > 0) {
                c->idx_out = (int) *n;
                p[(*n)++] = (struct pollfd){ .fd = c->out, .events = POLLOUT };
        }
}

bool escape_scan(EscapeScanner *e, const char *buf, size_t n, usec_t now) {
        for (size_t i = 0; i < n; i++) {
                if (buf[i] != CONSOLE_ESCAPE_CHAR) {
                        e->count = 0;
                        continue;
                }
                if (e->count == 0 || now - e->first > USEC_PER_SEC) {
                        e->count = 0;
                        e->first = now;
                }
                if (++e->count >= CONSOLE_ESCAPE_COUNT)
                        return true;
        }
        return false;
}

static void read_master(ConsoleRelay *c) {
        for (;;) {
                if (c->to_host_len >= sizeof c->to_host)
                        return;
                ssize_t k = read(c->master, c->to_host + c->to_host_len, sizeof c->to_host - c->to_host_len);
                if (k > 0) {
                        if (c->on_output)
                                c->on_output(c->userdata, c->to_host + c->to_host_len, (size_t) k);
                        /* Output that nobody is to see is read all the same, so the guest never
                         * blocks on a full pty. */
                        if (relays_output(c))
                                c->to_host_len += (size_t) k;
                        continue;
                }
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        return;
                /* EIO: no slave is open at the moment (the guest closed its console). */
                c->master_hung_up = true;
                return;
        }
}

static void write_out(ConsoleRelay *c) {
        if (c->to_host_len == 0)
                return;
        ssize_t k = write(c->out, c->to_host, c->to_host_len);
        if (k < 0) {
                if (errno != EINTR && errno != EAGAIN)
                        c->to_host_len = 0; /* our stdout is gone: drop output, keep the guest going */
                return;
        }
        memmove(c->to_host, c->to_host + k, c->to_host_len - (size_t) k);
        c->to_host_len -= (size_t) k;
}

int console_relay_dispatch(ConsoleRelay *c, const struct pollfd *p, usec_t now) {
        int kill = 0;

        if (c->master_hung_up && c->master >= 0) {
                /* Try again: a new slave may have been opened (poll reports POLLHUP until then). */
                struct pollfd t = { .fd = c->master, .events = POLLIN };
                if (poll(&t, 1, 0) > 0 && !(t.revents & POLLHUP))
                        c->master_hung_up = false;
        }

        if (c->idx_in >= 0 && p[c->idx_in].revents) {
                ssize_t k = read(c->in, c->to_guest + c->to_guest_len, sizeof c->to_guest - c->to_guest_len);
                if (k > 0) {
                        if (escape_scan(&c->escape, c->to_guest + c->to_guest_len, (size_t) k, now))
                                kill = 1;
                        c->to_guest_len += (size_t) k;
                } else if (k == 0 || (errno != EINTR && errno != EAGAIN))
                        c->in_eof = true;
        }

        if (c->idx_master >= 0) {
                short re = p[c->idx_master].revents;
                if (re & (POLLIN | POLLHUP | POLLERR))
                        read_master(c);
                if ((re & POLLOUT) && c->to_guest_len > 0) {
                        ssize_t k = write(c->master, c->to_guest, c->to_guest_len);
                        if (k > 0) {
                                memmove(c->to_guest, c->to_guest + k, c->to_guest_len - (size_t) k);
                                c->to_guest_len -= (size_t) k;
                        }
                }
        }

        if (c->idx_out >= 0 && p[c->idx_out].revents)
                write_out(c);

        return kill;
}

size_t console_relay_inject(ConsoleRelay *c, const char *buf, size_t n) {
        size_t room = sizeof c->to_guest - c->to_guest_len;
        if (n > room)
                n = room;
        memcpy(c->to_guest + c->to_guest_len, buf, n);
        c->to_guest_len += n;
        return n;
}

void console_relay_drain(ConsoleRelay *c) {
        if (c->master < 0)
                return;
        c->master_hung_up = false;
        for (int i = 0; i < 1000 && !c->master_hung_up; i++) {
                size_t before = c->to_host_len;
                read_master(c);
                if (c->to_host_len == before && !relays_output(c))
                        break;
                while (c->to_host_len > 0) {
                        size_t l = c->to_host_len;
                        write_out(c);
                        if (c->to_host_len == l)
                                break;
                }
                struct pollfd t = { .fd = c->master, .events = POLLIN };
                if (poll(&t, 1, 0) <= 0)
                        break;
        }
        while (c->to_host_len > 0) {
                size_t l = c->to_host_len;
                write_out(c);
                if (c->to_host_len == l)
                        break;
        }
}

RelayEnd console_relay_run(ConsoleRelay *c, int watch_fd, bool escape_ends, bool input_ends) {
        sigset_t mask, old;
        sigemptyset(&mask);
        sigaddset(&mask, SIGWINCH);
        sigprocmask(SIG_BLOCK, &mask, &old);
        int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        RelayEnd end = RELAY_END_ERROR;

        for (;;) {
                struct pollfd p[8];
                size_t n = 0;
                p[n++] = (struct pollfd){ .fd = watch_fd, .events = POLLIN };
                p[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
                console_relay_poll_add(c, p, &n);
                if (poll(p, n, console_relay_wants_tick(c) ? 20 : -1) < 0 && errno != EINTR)
                        break;
                if (p[1].revents) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof si) == sizeof si)
                                console_relay_winch(c);
                }
                if (console_relay_dispatch(c, p, now_usec()) > 0 && escape_ends) {
                        end = RELAY_END_ESCAPE;
                        break;
                }
                if (p[0].revents) {
                        console_relay_drain(c);
                        end = RELAY_END_WATCH;
                        break;
                }
                if (input_ends && c->in_eof && c->to_guest_len == 0) {
                        end = RELAY_END_INPUT;
                        break;
                }
        }
        safe_close(sfd);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return end;
}
