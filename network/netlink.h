/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Thin wrappers over libnl-route-3. Every function returns -errno: libnl's -NLE_* codes are
 * converted here and never leave network/. */

int nl_error_to_errno(int nle);

/* Bring a link of the current network namespace up, by name ("lo"). */
int netlink_link_up(const char *ifname);
