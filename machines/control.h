/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <limits.h>
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
 * Other requests: reboot, kill SIGNAL, freeze, thaw, set-limit KEY=VALUE…
 * The requests and their shapes are one table (control_request_info()): the verbs build requests
 * from it, the supervisor dispatches on it; a new request is one row there and one handler in
 * the supervisor's table. */

#define CONTROL_MESSAGE_MAX 4096

typedef enum ControlRequestId {
        CONTROL_POWEROFF,
        CONTROL_TERMINATE,
        CONTROL_REBOOT,
        CONTROL_KILL,
        CONTROL_FREEZE,
        CONTROL_THAW,
        CONTROL_SET_LIMIT,
        CONTROL_LOGIN,
        CONTROL_LEADER,
        CONTROL_CONSOLE,
        _CONTROL_REQUEST_MAX,
} ControlRequestId;

typedef enum ControlReplyKind {
        CONTROL_REPLY_PLAIN,  /* "OK" or "ERR …", then the connection closes */
        CONTROL_REPLY_FD,     /* "OK TEXT" with an fd attached */
        CONTROL_REPLY_WAITER, /* "OK", later "X STATUS" when the machine is gone */
        CONTROL_REPLY_STREAM, /* "OK TEXT", then 'D' datagrams both ways and "X STATUS" */
} ControlReplyKind;

#define CONTROL_ARGS_MANY UINT_MAX

typedef struct ControlRequestInfo {
        const char *name;
        ControlReplyKind reply;
        unsigned min_args, max_args;
} ControlRequestInfo;

const ControlRequestInfo *control_request_info(ControlRequestId id);
/* "NAME ARG…" from the NULL-terminated args into buf: -EINVAL when their number does not fit
 * the request or one is empty or has a space, -EMSGSIZE when the request is too long. */
int control_request_format(ControlRequestId id, char *const *args, char *buf, size_t size);
/* Split a received request in place: buf keeps the name, *ret_args the arguments (NULL when
 * none). -EOPNOTSUPP for a name not in the table, -EINVAL when the number of arguments does not
 * fit it. */
int control_request_parse(char *buf, ControlRequestId *ret_id, char **ret_args);

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
/* Format the request and exchange it on fd (control_request(), or control_request_fd() for a
 * request whose reply carries an fd: then *ret_fd gets it; ret_fd is unused otherwise). */
int control_call(int fd, ControlRequestId id, char *const *args, char *reply, size_t n, int *ret_fd);
