/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IPv4 addresses in host byte order, and subnets as "address/prefix". Pure functions. */

typedef struct {
        uint32_t address; /* the host's own address in the subnet (the gateway) */
        unsigned prefix;  /* 8…30 */
} Ipv4Subnet;

#define DEFAULT_BRIDGE_SUBNET "10.213.0.1/16"

int ipv4_parse(const char *s, uint32_t *ret);
void ipv4_format(uint32_t a, char *buf, size_t n);

/* "10.213.0.1/16": the address must be a usable host address of the subnet. */
int ipv4_subnet_parse(const char *s, Ipv4Subnet *ret);
uint32_t ipv4_subnet_network(const Ipv4Subnet *s);
uint32_t ipv4_subnet_broadcast(const Ipv4Subnet *s);
/* How many addresses the subnet has for guests (all hosts but the gateway). */
uint32_t ipv4_subnet_guest_count(const Ipv4Subnet *s);
/* The i-th guest address (0 ≤ i < guest_count), skipping the gateway. */
uint32_t ipv4_subnet_guest_address(const Ipv4Subnet *s, uint32_t i);
bool ipv4_subnet_contains(const Ipv4Subnet *s, uint32_t a);
