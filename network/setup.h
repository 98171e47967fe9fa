/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "network/lease.h"
#include "network/nat.h"

#define DEFAULT_BRIDGE "nspawnlite0"

typedef enum {
        NETWORK_NONE,   /* own netns, only lo */
        NETWORK_HOST,   /* the host's netns */
        NETWORK_BRIDGE, /* veth on a host bridge (network issue) */
        NETWORK_VETH,   /* point-to-point veth (network issue) */
} NetworkMode;

/* What is asked of a machine's network. */
typedef struct {
        NetworkMode mode;
        const char *bridge; /* NETWORK_BRIDGE: NULL for DEFAULT_BRIDGE */
        const PortForward *ports;
        size_t n_ports;
} NetworkSpec;

/* One machine's network on the host side, set up in three steps around the clone:
 *   network_prepare  before: the bridge (created on first use), NAT, the address lease;
 *   network_attach   after:  the veth with its peer "host0" put straight into the guest's netns,
 *                            on the bridge (or addressed point-to-point), and the port forwards;
 *   network_release  at the end: forwards, lease, and the bridge and NAT once no machine needs them.
 * Each fills err with what failed, for the caller to print; nothing is left behind on failure. */
typedef struct {
        NetworkMode mode;
        char machine[65];
        char bridge[IFNAME_MAX + 1];
        bool default_bridge;
        bool nat;            /* uses the default subnet, hence the NAT table */
        bool has_address;    /* host0 gets an address from us */
        bool point_to_point; /* --network=veth */
        Ipv4Subnet subnet;
        Lease lease;
        bool leased;
        const PortForward *ports;
        size_t n_ports, n_ports_added;
} MachineNetwork;

/* What the child configures inside the guest's netns before init starts. */
typedef struct {
        bool configure;
        uint32_t address, gateway;
        unsigned prefix;
        bool point_to_point;
} GuestNetwork;

int network_prepare(MachineNetwork *n, const char *machine, const NetworkSpec *spec, char *err,
                    size_t errlen);
void network_guest_config(const MachineNetwork *n, GuestNetwork *ret);
int network_attach(MachineNetwork *n, pid_t pid, char *err, size_t errlen);
void network_release(MachineNetwork *n);

/* The guest side, run by the child in its own network namespace. */
int network_configure_guest(const GuestNetwork *g);

/* A dead machine's leftovers: its forwards, its lease, and the bridge and NAT if now unused. */
int network_gc(const char *machine);

/* The default subnet: $NSPAWNLITE_BRIDGE_SUBNET or 10.213.0.1/16. */
int network_default_subnet(Ipv4Subnet *ret);
