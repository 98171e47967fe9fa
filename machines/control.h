/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* The supervisor's control socket, RUNTIME/machines/NAME/control (SOCK_SEQPACKET, root only).
 * One request per connection, a text datagram "VERB [ARG…]"; the reply is "OK [TEXT]" or
 * "ERR ERRNO MESSAGE". Some requests keep the connection:
 *   poweroff [TIMEOUT_USEC], terminate   the supervisor later sends "X STATUS" when the machine
 *                                        is gone, then closes;
 *   console                              "OK rw" or "OK ro" (another writer is attached), then
 *                                        'D'-tagged datagrams both ways: console output from the
 *                                        supervisor, input to it (from the writer only), and
 *                                        "X STATUS" at the end.
 *   login                                "OK pts/N" with the master of a free tty attached; the
 *                                        tty stays the client's until it closes the connection,
 *                                        then it is hung up (the session ends) and free again.
 *   leader                               "OK PID STARTTIME" with a pidfd of the guest's init
 *                                        attached (what verbs that join the machine trust).
 * Other requests: reboot, kill SIGNAL, freeze, thaw, set-limit KEY=VALUE…  */

#define CONTROL_MESSAGE_MAX 4096

/* How long a client waits for the supervisor to take its connection, its request and to answer
 * (a stopped or wedged supervisor must not hang the caller): past it, -ETIMEDOUT. */
#define CONTROL_TIMEOUT_SEC 5

int control_listen(const char *name, int *ret_fd);
/* Accept one connection; -EPERM (connection closed) when the peer is not root. */
int control_accept(int listen_fd, int *ret_fd);

/* A client connection, with the CONTROL_TIMEOUT_SEC deadline on connect, send and receive. */
int control_connect(const char *name, int *ret_fd);
/* Send a request and read the reply: 0 with the text after "OK " in reply, or -ERRNO from an
 * "ERR" reply with its message (never empty) in reply. When the exchange itself fails, reply is
 * empty: -ETIMEDOUT when the supervisor did not answer within the deadline (no request the
 * supervisor answers with ERR ETIMEDOUT kills or signals), -ECONNRESET when it closed without
 * answering, -EBADMSG on a malformed answer. */
int control_request(int fd, const char *request, char *reply, size_t n);
int control_reply_error(int fd, int error, const char *message);
/* A text datagram with one fd attached (SCM_RIGHTS), and the request that receives it. */
int control_send_text_fd(int fd, const char *text, int passed);
int control_request_fd(int fd, const char *request, char *reply, size_t n, int *ret_fd);
int control_send_text(int fd, const char *text);
