/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "network/nat.h"

#include <errno.h>
#include <fcntl.h>
#include <dlfcn.h>
#include <nftables/libnftables.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nspawnlite/basic/dlopen-util.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/macro.h"

typedef struct {
        void *handle;
        struct nft_ctx *(*nft_ctx_new)(uint32_t flags);
        void (*nft_ctx_free)(struct nft_ctx *ctx);
        int (*nft_ctx_buffer_output)(struct nft_ctx *ctx);
        int (*nft_ctx_buffer_error)(struct nft_ctx *ctx);
        int (*nft_run_cmd_from_buffer)(struct nft_ctx *nft, const char *buf);
        const char *(*nft_ctx_get_error_buffer)(struct nft_ctx *ctx);
} NftApi;

const char *port_protocol_to_string(PortProtocol p) {
        return p == PORT_UDP ? "udp" : "tcp";
}

static int parse_port(const char *s, size_t n, uint16_t *ret) {
        char buf[8];
        if (n == 0 || n >= sizeof buf)
                return -EINVAL;
        memcpy(buf, s, n);
        buf[n] = 0;
        for (size_t i = 0; i < n; i++)
                if (buf[i] < '0' || buf[i] > '9')
                        return -EINVAL;
        unsigned long v = strtoul(buf, NULL, 10);
        if (v < 1 || v > 65535)
                return -ERANGE;
        *ret = (uint16_t) v;
        return 0;
}

int port_forward_parse(const char *s, PortForward *ret) {
        PortForward p = { .protocol = PORT_TCP };
        if (strncmp(s, "tcp:", 4) == 0)
                s += 4;
        else if (strncmp(s, "udp:", 4) == 0) {
                p.protocol = PORT_UDP;
                s += 4;
        }
        const char *colon = strchr(s, ':');
        int r = parse_port(s, colon ? (size_t) (colon - s) : strlen(s), &p.host_port);
        if (r < 0)
                return r;
        if (colon) {
                r = parse_port(colon + 1, strlen(colon + 1), &p.guest_port);
                if (r < 0)
                        return r;
        } else
                p.guest_port = p.host_port;
        *ret = p;
        return 0;
}

int port_forward_format_line(const PortForward *p, char *buf, size_t n) {
        if ((p->protocol != PORT_TCP && p->protocol != PORT_UDP) || p->host_port == 0 || p->guest_port == 0)
                return -EINVAL;
        int k = snprintf(buf, n, "%s:%u:%u", port_protocol_to_string(p->protocol), p->host_port,
                         p->guest_port);
        return k < 0 || (size_t) k >= n ? -ENOBUFS : k;
}

int port_forward_parse_line(const char *line, PortForward *ret) {
        PortForward p;
        char canonical[32];
        /* Only what format writes: the protocol spelled out, no leading zeros, nothing after. */
        if (port_forward_parse(line, &p) < 0 ||
            port_forward_format_line(&p, canonical, sizeof canonical) < 0 || strcmp(canonical, line) != 0)
                return -EINVAL;
        *ret = p;
        return 0;
}

/* libnftables, with libnftnl, libmnl, libxtables, jansson and gmp behind it, is loaded only for the
 * moment it is used: a supervisor that is not adding or removing rules keeps none of it mapped. */
static int nft_api_open(NftApi *api, char *err, size_t errlen) {
        *api = (NftApi){};
        const DlSymbol symbols[] = {
                DL_FIELD(api, nft_ctx_new),
                DL_FIELD(api, nft_ctx_free),
                DL_FIELD(api, nft_ctx_buffer_output),
                DL_FIELD(api, nft_ctx_buffer_error),
                DL_FIELD(api, nft_run_cmd_from_buffer),
                DL_FIELD(api, nft_ctx_get_error_buffer),
        };
        if (dlopen_symbols(&api->handle, SONAME_NFTABLES, symbols, ELEMENTSOF(symbols)) < 0) {
                const char *e = dlerror();
                snprintf(err, errlen, "Failed to load libnftables: %s", e ? e : "a symbol is missing");
                return -ENOPKG;
        }
        return 0;
}

/* Run nft commands as one transaction. */
static int nft_run(const char *cmd, char *err, size_t errlen) {
        NftApi nft;
        int r = nft_api_open(&nft, err, errlen);
        if (r < 0)
                return r;
        struct nft_ctx *ctx = nft.nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx) {
                dlclose(nft.handle);
                /* Every failure fills err: the caller prints it with nothing else. */
                snprintf(err, errlen, "Failed to create an nftables context");
                return -ENOMEM;
        }
        nft.nft_ctx_buffer_output(ctx);
        nft.nft_ctx_buffer_error(ctx);
        r = nft.nft_run_cmd_from_buffer(ctx, cmd);
        if (r != 0) {
                const char *e = nft.nft_ctx_get_error_buffer(ctx);
                snprintf(err, errlen, "%s", e && *e ? e : "nft failed");
                err[strcspn(err, "\n")] = 0; /* the first line says it; the rest points at it */
                r = e && strstr(e, "File exists")               ? -EEXIST
                    : e && strstr(e, "No such file")            ? -ENOENT
                    : e && strstr(e, "Operation not permitted") ? -EPERM
                                                                : -EIO;
        }
        nft.nft_ctx_free(ctx);
        dlclose(nft.handle);
        return r;
}

int nat_setup(const Ipv4Subnet *subnet, char *err, size_t errlen) {
        char net[16], cmd[2048];
        ipv4_format(ipv4_subnet_network(subnet), net, sizeof net);
        /* add is idempotent for the table, map and chains; flush + add makes the rules so too. */
        snprintf(cmd, sizeof cmd,
                 "add table ip nspawnlite\n"
                 "add map ip nspawnlite ports { type inet_proto . inet_service : ipv4_addr . inet_service ; "
                 "}\n"
                 "add chain ip nspawnlite prerouting { type nat hook prerouting priority dstnat ; policy "
                 "accept ; }\n"
                 "add chain ip nspawnlite output { type nat hook output priority -100 ; policy accept ; }\n"
                 "add chain ip nspawnlite postrouting { type nat hook postrouting priority srcnat ; policy "
                 "accept ; }\n"
                 "flush chain ip nspawnlite prerouting\n"
                 "flush chain ip nspawnlite output\n"
                 "flush chain ip nspawnlite postrouting\n"
                 "add rule ip nspawnlite prerouting fib daddr type local meta l4proto { tcp, udp } "
                 "dnat ip to meta l4proto . th dport map @ports\n"
                 "add rule ip nspawnlite output fib daddr type local meta l4proto { tcp, udp } "
                 "dnat ip to meta l4proto . th dport map @ports\n"
                 "add rule ip nspawnlite postrouting ip saddr %s/%u ip daddr != %s/%u masquerade\n"
                 /* forwarded from the host's own 127.0.0.1: the guest must answer the bridge */
                 "add rule ip nspawnlite postrouting ip saddr 127.0.0.0/8 ct status dnat masquerade\n",
                 net, subnet->prefix, net, subnet->prefix);
        int r = nft_run(cmd, err, errlen);
        if (r < 0)
                return r;
        r = write_file_at(AT_FDCWD, "/proc/sys/net/ipv4/ip_forward", "1");
        if (r < 0)
                snprintf(err, errlen, "Failed to turn on IPv4 forwarding");
        return r;
}

int nat_remove(char *err, size_t errlen) {
        int r = nft_run("delete table ip nspawnlite\n", err, errlen);
        return r == -ENOENT ? 0 : r;
}

int nat_add_port(const PortForward *p, uint32_t guest, char *err, size_t errlen) {
        char a[16], cmd[256];
        ipv4_format(guest, a, sizeof a);
        snprintf(cmd, sizeof cmd, "create element ip nspawnlite ports { %s . %u : %s . %u }\n",
                 port_protocol_to_string(p->protocol), p->host_port, a, p->guest_port);
        return nft_run(cmd, err, errlen);
}

int nat_remove_port(const PortForward *p, char *err, size_t errlen) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "delete element ip nspawnlite ports { %s . %u }\n",
                 port_protocol_to_string(p->protocol), p->host_port);
        int r = nft_run(cmd, err, errlen);
        return r == -ENOENT ? 0 : r;
}
