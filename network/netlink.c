/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "network/netlink.h"

#include <errno.h>
#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "nspawnlite/macro.h"

int nl_error_to_errno(int nle) {
        static const struct {
                int nle, err;
        } table[] = {
                { NLE_NOMEM, ENOMEM },     { NLE_EXIST, EEXIST },         { NLE_OBJ_NOTFOUND, ENOENT },
                { NLE_NODEV, ENODEV },     { NLE_PERM, EPERM },           { NLE_BUSY, EBUSY },
                { NLE_INVAL, EINVAL },     { NLE_RANGE, ERANGE },         { NLE_AGAIN, EAGAIN },
                { NLE_NOADDR, EADDRNOTAVAIL }, { NLE_OPNOTSUPP, EOPNOTSUPP }, { NLE_AF_NOSUPPORT, EAFNOSUPPORT },
                { NLE_NOACCESS, EACCES },  { NLE_MSGSIZE, EMSGSIZE },     { NLE_BAD_SOCK, EBADF },
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

static void rtnl_link_putp(struct rtnl_link **l) {
        if (*l)
                rtnl_link_put(*l);
}

int netlink_link_up(const char *ifname) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = nl_socket_alloc();
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL, *change = NULL;
        if (!sk)
                return -ENOMEM;
        int r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0)
                return nl_error_to_errno(r);
        r = rtnl_link_get_kernel(sk, 0, ifname, &link);
        if (r < 0)
                return nl_error_to_errno(r);
        change = rtnl_link_alloc();
        if (!change)
                return -ENOMEM;
        rtnl_link_set_flags(change, IFF_UP);
        r = rtnl_link_change(sk, link, change, 0);
        return r < 0 ? nl_error_to_errno(r) : 0;
}
