/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "network/address.h"

/* nspawnlite's own nftables table "ip nspawnlite" (through libnftables): masquerade for traffic
 * leaving the machines' subnet, and port forwards as elements of one map, so that a machine's
 * forwards come and go without touching any rule. Errors are -errno; the message nft gave is
 * copied into err for the edge to print. */

typedef enum {
        PORT_TCP,
        PORT_UDP,
} PortProtocol;

typedef struct PortForward {
        PortProtocol protocol;
        uint16_t host_port;
        uint16_t guest_port;
} PortForward;

/* "[tcp|udp:]HOST[:GUEST]". */
int port_forward_parse(const char *s, PortForward *ret);
const char *port_protocol_to_string(PortProtocol p);
/* A line of a machine's ports file (RUNTIME/network/ports-NAME), without its newline: "PROTO:HOST:GUEST",
 * the canonical form of the above. Parsing refuses (-EINVAL) anything format would not write. */
int port_forward_format_line(const PortForward *p, char *buf, size_t n);
/* Forwards of one machine at most (its ports file is read back whole). */
#define MACHINE_PORTS_MAX 256
int port_forward_parse_line(const char *line, PortForward *ret);

/* Create the table (idempotent) with masquerade for subnet; turns on IPv4 forwarding. */
int nat_setup(const Ipv4Subnet *subnet, char *err, size_t errlen);
int nat_remove(char *err, size_t errlen);

/* -EEXIST when the host port is forwarded already. */
int nat_add_port(const PortForward *p, uint32_t guest, char *err, size_t errlen);
int nat_remove_port(const PortForward *p, char *err, size_t errlen);
