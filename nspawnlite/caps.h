/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define CAP_MASK(c) (UINT64_C(1) << (c))

/* nspawn's default bounding set (26 capabilities), plus CAP_NET_ADMIN with a private network. */
uint64_t capability_default_set(bool own_network);

/* The effective set for a machine: defaults, plus added, minus dropped, within the host's bounding set. */
uint64_t capability_machine_set(bool own_network, uint64_t add, uint64_t drop);

/* "CAP_SYS_ADMIN,net_raw" or "all". */
int capability_parse_list(const char *s, uint64_t *ret);

/* The capabilities in the caller's bounding set, as a mask. */
uint64_t capability_host_bounding_set(void);

/* Drop every capability not in keep from the bounding, inheritable and ambient sets. */
int capability_apply_bounding(uint64_t keep);

/* Drop every capability not in keep from the effective and permitted sets too: for code that
 * keeps running without an execve() (the stub init). */
int capability_drop_permitted(uint64_t keep);

/* Join a fresh anonymous session keyring: keyrings are not namespaced, and the caller's would
 * otherwise follow it into the machine. A kernel without keys needs none. */
int keyring_new_session(void);
/* keyctl's answer here, so that the supervisor can say at debug level why the guest gets no
 * session keyring of its own; keyring_unavailable() tells which answers mean "go on without". */
int keyring_probe(void);
bool keyring_unavailable(int r);

/* Highest capability number the running kernel knows. */
int capability_last(void);
