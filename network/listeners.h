/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "network/nat.h"

/* Who on the host already serves a port that a --port forward is about to take over (the DNAT
 * catches the port's connections before any local socket sees them). */

/* In the text of /proc/net/{tcp,tcp6,udp,udp6}: the inode of a socket bound to local port —
 * listening for TCP, bound and unconnected for UDP. 1 and its inode (ret_addr: the local address
 * as the file has it) when there is one, 0 when not. */
int proc_net_find_port(const char *text, uint16_t port, bool tcp, uint64_t *ret_inode, char *ret_addr,
                       size_t n);

/* 1 with a description of the host's socket on p's host port ("python3, pid 123") in desc, 0 when
 * nothing on the host (in the caller's network namespace) listens there. */
int port_find_listener(const PortForward *p, char *desc, size_t n);
