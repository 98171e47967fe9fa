/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Thin wrappers over libnl-route-3, one netlink socket per call. Every function returns -errno:
 * libnl's -NLE_* codes are converted here and never leave network/. Addresses are IPv4 in host
 * byte order. */

int nl_error_to_errno(int nle);

/* Bring a link of the current network namespace up, by name ("lo"). */
int netlink_link_up(const char *ifname);
int netlink_link_exists(const char *ifname);
int netlink_link_delete(const char *ifname);
/* Rename ifname to PREFIX and its ifindex in hex (8 digits): out of the way of a new link of that
 * name, at once, where deleting it would wait for the RCU grace periods of an unregistration. */
int netlink_link_rename_aside(const char *ifname, const char *prefix);
int netlink_link_is_bridge(const char *ifname);

int netlink_bridge_create(const char *ifname);
/* The first IPv4 address on ifname and its prefix length; -ENOENT if it has none. */
int netlink_link_ipv4(const char *ifname, uint32_t *ret_address, unsigned *ret_prefix);

/* A veth pair: host_name here, peer_name put straight into the network namespace of pid. */
int netlink_veth_create(const char *host_name, const char *peer_name, pid_t pid);
int netlink_link_set_master(const char *ifname, const char *master);

/* Add address/prefix to ifname; with peer != 0, a point-to-point address towards peer. */
int netlink_address_add(const char *ifname, uint32_t address, unsigned prefix, uint32_t peer);
int netlink_route_add_default(const char *ifname, uint32_t gateway);
