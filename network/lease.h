/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "network/address.h"
#include "network/ifname.h"

/* Address leases: RUNTIME/network/leases, one line "MACHINE ADDRESS IFNAME BRIDGE" each (BRIDGE is
 * "-" for a point-to-point veth), changed under an flock and replaced atomically. A machine's
 * preferred address comes from a hash of its name, so it keeps it from boot to boot; a lease whose
 * machine is no longer alive is reclaimed by the next allocation. */

/* Whether machine NAME is alive (a supervisor holds its name). network/ keeps no registry: its
 * user says, once per process, before any network call. A lease or forward of a machine that is
 * not alive is free again; until this is set, every machine counts as alive (nothing is taken). */
typedef bool (*MachineAliveFn)(const char *name);
void network_set_liveness(MachineAliveFn fn);
bool network_machine_alive(const char *name);

typedef struct {
        char machine[65];
        uint32_t address;
        char ifname[IFNAME_MAX + 1];
        char bridge[IFNAME_MAX + 1];
} Lease;

/* One line, without its newline: exactly four fields, one space apart, each valid (-EINVAL
 * otherwise). Format refuses (-EINVAL) a lease it could not parse back. The database functions
 * below fail with -EBADMSG when the file holds anything else. */
int lease_parse_line(const char *line, Lease *ret);
int lease_format_line(const Lease *l, char *buf, size_t n);

/* Allocate (or renew) the lease of machine in subnet: a free guest address and a free host
 * interface name. -EADDRNOTAVAIL when the subnet is exhausted. */
int lease_acquire(const char *machine, const char *bridge, const Ipv4Subnet *subnet, Lease *ret);
int lease_release(const char *machine);
/* Leases held for bridge ("-" for veths), the machine's own excluded. */
int lease_count_others(const char *bridge, const char *machine);
/* The lease of machine, if any (-ENOENT). */
int lease_find(const char *machine, Lease *ret);
