/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "network/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <string.h>

#include "nspawnlite/basic/macro.h"

int nl_error_to_errno(int nle) {
        static const struct {
                int nle, err;
        } table[] = {
                { NLE_NOMEM, ENOMEM },         { NLE_EXIST, EEXIST },
                { NLE_OBJ_NOTFOUND, ENOENT },  { NLE_NODEV, ENODEV },
                { NLE_PERM, EPERM },           { NLE_BUSY, EBUSY },
                { NLE_INVAL, EINVAL },         { NLE_RANGE, ERANGE },
                { NLE_AGAIN, EAGAIN },         { NLE_NOADDR, EADDRNOTAVAIL },
                { NLE_OPNOTSUPP, EOPNOTSUPP }, { NLE_AF_NOSUPPORT, EAFNOSUPPORT },
                { NLE_NOACCESS, EACCES },      { NLE_MSGSIZE, EMSGSIZE },
                { NLE_BAD_SOCK, EBADF },
        };
        if (nle < 0)
                nle = -nle;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (table[i].nle == nle)
                        return -table[i].err;
        return -EIO;
}

static void nl_socket_freep(struct nl_sock **s) {
        if (*s)
                nl_socket_free(*s);
}
#define _cleanup_nl_sock_ _cleanup_(nl_socket_freep)

static void rtnl_link_putp(struct rtnl_link **l) {
        if (*l)
                rtnl_link_put(*l);
}
#define _cleanup_link_ _cleanup_(rtnl_link_putp)

static void nl_addr_putp(struct nl_addr **a) {
        if (*a)
                nl_addr_put(*a);
}
#define _cleanup_nl_addr_ _cleanup_(nl_addr_putp)

static int nl_open(struct nl_sock **ret) {
        struct nl_sock *sk = nl_socket_alloc();
        if (!sk)
                return -ENOMEM;
        int r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0) {
                nl_socket_free(sk);
                return nl_error_to_errno(r);
        }
        *ret = sk;
        return 0;
}

static int get_link(struct nl_sock *sk, const char *ifname, struct rtnl_link **ret) {
        int r = rtnl_link_get_kernel(sk, 0, ifname, ret);
        return r < 0 ? nl_error_to_errno(r) : 0;
}

int netlink_link_up(const char *ifname) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        _cleanup_link_ struct rtnl_link *link = NULL, *change = NULL;
        int r = nl_open(&sk);
        if (r < 0 || (r = get_link(sk, ifname, &link)) < 0)
                return r;
        if (!(change = rtnl_link_alloc()))
                return -ENOMEM;
        rtnl_link_set_flags(change, IFF_UP);
        r = rtnl_link_change(sk, link, change, 0);
        return r < 0 ? nl_error_to_errno(r) : 0;
}

int netlink_link_exists(const char *ifname) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        _cleanup_link_ struct rtnl_link *link = NULL;
        int r = nl_open(&sk);
        if (r < 0)
                return r;
        r = get_link(sk, ifname, &link);
        if (r == -ENODEV || r == -ENOENT)
                return 0;
        return r < 0 ? r : 1;
}

int netlink_link_is_bridge(const char *ifname) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        _cleanup_link_ struct rtnl_link *link = NULL;
        int r = nl_open(&sk);
        if (r < 0 || (r = get_link(sk, ifname, &link)) < 0)
                return r;
        const char *t = rtnl_link_get_type(link);
        return t && strcmp(t, "bridge") == 0;
}

int netlink_link_delete(const char *ifname) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        _cleanup_link_ struct rtnl_link *link = NULL;
        int r = nl_open(&sk);
        if (r < 0)
                return r;
        if (!(link = rtnl_link_alloc()))
                return -ENOMEM;
        rtnl_link_set_name(link, ifname);
        r = rtnl_link_delete(sk, link);
        return r < 0 ? nl_error_to_errno(r) : 0;
}

int netlink_link_rename_aside(const char *ifname, const char *prefix) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        _cleanup_link_ struct rtnl_link *link = NULL, *change = NULL;
        int r = nl_open(&sk);
        if (r < 0 || (r = get_link(sk, ifname, &link)) < 0)
                return r;
        char name[IFNAMSIZ];
        if (snprintf(name, sizeof name, "%s%08x", prefix, (unsigned) rtnl_link_get_ifindex(link)) >=
            (int) sizeof name)
                return -ENAMETOOLONG;
        if (!(change = rtnl_link_alloc()))
                return -ENOMEM;
        rtnl_link_set_name(change, name);
        r = rtnl_link_change(sk, link, change, 0);
        return r < 0 ? nl_error_to_errno(r) : 0;
}

int netlink_bridge_create(const char *ifname) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        int r = nl_open(&sk);
        if (r < 0)
                return r;
        r = rtnl_link_bridge_add(sk, ifname);
        return r < 0 ? nl_error_to_errno(r) : 0;
}

int netlink_veth_create(const char *host_name, const char *peer_name, pid_t pid) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        _cleanup_link_ struct rtnl_link *link = NULL;
        int r = nl_open(&sk);
        if (r < 0)
                return r;
        if (!(link = rtnl_link_veth_alloc()))
                return -ENOMEM;
        struct rtnl_link *peer = rtnl_link_veth_get_peer(link);
        rtnl_link_set_name(link, host_name);
        rtnl_link_set_name(peer, peer_name);
        rtnl_link_set_ns_pid(peer, pid);
        rtnl_link_put(peer);
        r = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
        return r < 0 ? nl_error_to_errno(r) : 0;
}

int netlink_link_set_master(const char *ifname, const char *master) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        _cleanup_link_ struct rtnl_link *link = NULL, *m = NULL, *change = NULL;
        int r = nl_open(&sk);
        if (r < 0 || (r = get_link(sk, ifname, &link)) < 0 || (r = get_link(sk, master, &m)) < 0)
                return r;
        if (!(change = rtnl_link_alloc()))
                return -ENOMEM;
        rtnl_link_set_master(change, rtnl_link_get_ifindex(m));
        r = rtnl_link_change(sk, link, change, 0);
        return r < 0 ? nl_error_to_errno(r) : 0;
}

static int make_addr(uint32_t a, unsigned prefix, struct nl_addr **ret) {
        uint32_t be = htonl(a);
        struct nl_addr *na = nl_addr_build(AF_INET, &be, sizeof be);
        if (!na)
                return -ENOMEM;
        nl_addr_set_prefixlen(na, (int) prefix);
        *ret = na;
        return 0;
}

int netlink_address_add(const char *ifname, uint32_t address, unsigned prefix, uint32_t peer) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        _cleanup_link_ struct rtnl_link *link = NULL;
        _cleanup_nl_addr_ struct nl_addr *local = NULL, *remote = NULL;
        int r = nl_open(&sk);
        if (r < 0 || (r = get_link(sk, ifname, &link)) < 0)
                return r;
        struct rtnl_addr *addr = rtnl_addr_alloc();
        if (!addr)
                return -ENOMEM;
        r = make_addr(address, peer ? 32 : prefix, &local);
        if (r >= 0 && peer)
                r = make_addr(peer, 32, &remote);
        if (r >= 0) {
                rtnl_addr_set_ifindex(addr, rtnl_link_get_ifindex(link));
                rtnl_addr_set_local(addr, local);
                if (remote)
                        rtnl_addr_set_peer(addr, remote);
                else {
                        /* The broadcast address of the subnet, as "ip addr add … brd +" sets it. */
                        _cleanup_nl_addr_ struct nl_addr *brd = NULL;
                        uint32_t mask = prefix ? UINT32_MAX << (32 - prefix) : 0;
                        if (make_addr((address & mask) | ~mask, 32, &brd) >= 0)
                                rtnl_addr_set_broadcast(addr, brd);
                }
                r = rtnl_addr_add(sk, addr, 0);
                r = r < 0 ? nl_error_to_errno(r) : 0;
        }
        rtnl_addr_put(addr);
        return r;
}

int netlink_route_add_default(const char *ifname, uint32_t gateway) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        _cleanup_link_ struct rtnl_link *link = NULL;
        _cleanup_nl_addr_ struct nl_addr *dst = NULL, *gw = NULL;
        int r = nl_open(&sk);
        if (r < 0 || (r = get_link(sk, ifname, &link)) < 0)
                return r;
        if ((r = make_addr(0, 0, &dst)) < 0 || (r = make_addr(gateway, 32, &gw)) < 0)
                return r;
        struct rtnl_route *route = rtnl_route_alloc();
        struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
        if (!route || !nh) {
                if (route)
                        rtnl_route_put(route);
                if (nh)
                        rtnl_route_nh_free(nh);
                return -ENOMEM;
        }
        rtnl_route_set_family(route, AF_INET);
        rtnl_route_set_dst(route, dst);
        rtnl_route_set_table(route, RT_TABLE_MAIN);
        rtnl_route_set_protocol(route, RTPROT_STATIC);
        rtnl_route_set_scope(route, RT_SCOPE_UNIVERSE);
        rtnl_route_nh_set_ifindex(nh, rtnl_link_get_ifindex(link));
        rtnl_route_nh_set_gateway(nh, gw);
        /* A point-to-point peer is not in an on-link subnet: say it is on this link. */
        rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
        rtnl_route_add_nexthop(route, nh);
        r = rtnl_route_add(sk, route, NLM_F_CREATE);
        rtnl_route_put(route);
        return r < 0 ? nl_error_to_errno(r) : 0;
}

int netlink_link_ipv4(const char *ifname, uint32_t *ret_address, unsigned *ret_prefix) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        _cleanup_link_ struct rtnl_link *link = NULL;
        struct nl_cache *cache = NULL;
        int r = nl_open(&sk);
        if (r < 0 || (r = get_link(sk, ifname, &link)) < 0)
                return r;
        r = rtnl_addr_alloc_cache(sk, &cache);
        if (r < 0)
                return nl_error_to_errno(r);
        int ifindex = rtnl_link_get_ifindex(link);
        r = -ENOENT;
        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_addr *a = (struct rtnl_addr *) o;
                if (rtnl_addr_get_ifindex(a) != ifindex || rtnl_addr_get_family(a) != AF_INET)
                        continue;
                struct nl_addr *local = rtnl_addr_get_local(a);
                uint32_t be;
                if (!local || nl_addr_get_len(local) != sizeof be)
                        continue;
                memcpy(&be, nl_addr_get_binary_addr(local), sizeof be);
                *ret_address = ntohl(be);
                *ret_prefix = (unsigned) rtnl_addr_get_prefixlen(a);
                r = 0;
                break;
        }
        nl_cache_free(cache);
        return r;
}
