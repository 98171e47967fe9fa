/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "network/setup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "nspawnlite/basic/runtime-dir.h"
#include "network/netlink.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/proc-title.h"

#define GUEST_IFNAME "host0"

int network_default_subnet(Ipv4Subnet *ret) {
        const char *e = getenv("NSPAWNLITE_BRIDGE_SUBNET");
        return ipv4_subnet_parse(e && *e ? e : DEFAULT_BRIDGE_SUBNET, ret);
}

static int network_file(const char *name, char *buf, size_t n) {
        int k = snprintf(buf, n, "%s/network/%s", runtime_dir(), name);
        return k < 0 || (size_t) k >= n ? -ENAMETOOLONG : 0;
}

/* Bridges, NAT and leases change under one lock, so that a machine starting never finds its
 * bridge removed by one that is ending. */
static int network_lock(void) {
        char p[PATH_MAX];
        (void) mkdir(runtime_dir(), 0755);
        network_file("", p, sizeof p);
        (void) mkdir(p, 0755);
        network_file("setup.lock", p, sizeof p);
        int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        /* What a supervisor killed while it replaced a file here left (every writer holds this lock). */
        network_file("", p, sizeof p);
        remove_stale_tmp_files(p);
        return fd;
}

/* A bridge we made carries a marker file, so that we remove only those. */
static int bridge_marker(const char *bridge, char *buf, size_t n) {
        char name[64];
        snprintf(name, sizeof name, "bridge-%s.ours", bridge);
        return network_file(name, buf, n);
}

static int ensure_bridge(MachineNetwork *n, char *err, size_t errlen) {
        char marker[PATH_MAX];
        int r = netlink_link_exists(n->bridge);
        if (r < 0) {
                snprintf(err, errlen, "Failed to look up bridge %s", n->bridge);
                return r;
        }
        if (r == 0 && !n->default_bridge) {
                snprintf(err, errlen, "Bridge %s does not exist (only %s is created on demand)", n->bridge,
                         DEFAULT_BRIDGE);
                return -ENODEV;
        }
        if (r == 0) {
                bridge_marker(n->bridge, marker, sizeof marker);
                if ((r = netlink_bridge_create(n->bridge)) < 0) {
                        snprintf(err, errlen, "Failed to create bridge %s", n->bridge);
                        return r;
                }
                (void) write_file_atomic(marker, "", 0644);
                if ((r = netlink_address_add(n->bridge, n->subnet.address, n->subnet.prefix, 0)) < 0 ||
                    (r = netlink_link_up(n->bridge)) < 0) {
                        snprintf(err, errlen, "Failed to configure bridge %s", n->bridge);
                        (void) netlink_link_delete(n->bridge);
                        (void) unlink(marker);
                        return r;
                }
                return 0;
        }
        if (netlink_link_is_bridge(n->bridge) == 0) {
                snprintf(err, errlen, "%s is not a bridge", n->bridge);
                return -ENOTSUP;
        }
        /* An existing bridge: its own address and subnet, if it has one. */
        uint32_t a;
        unsigned prefix;
        r = netlink_link_ipv4(n->bridge, &a, &prefix);
        if (r == -ENOENT) {
                if (n->default_bridge) {
                        snprintf(err, errlen, "Bridge %s exists but has no IPv4 address", n->bridge);
                        return -EADDRNOTAVAIL;
                }
                n->has_address = false;
                return 0;
        }
        if (r < 0) {
                snprintf(err, errlen, "Failed to read the address of bridge %s", n->bridge);
                return r;
        }
        if (prefix < 8 || prefix > 30) {
                snprintf(err, errlen, "Bridge %s has a /%u address: too small a subnet for guests", n->bridge,
                         prefix);
                return -EADDRNOTAVAIL;
        }
        n->subnet = (Ipv4Subnet){ .address = a, .prefix = prefix };
        return 0;
}

static int ports_file(const char *machine, char *buf, size_t n);
static void remove_ports_of(const char *machine);

/* Machines other than "except" with forwards: the live ones are counted, the dead ones' forwards
 * removed (a dead machine's lease is reclaimed at boot: so must its forwards be). Under the lock. */
static int forward_users_other_than(const char *except) {
        char p[PATH_MAX];
        network_file("", p, sizeof p);
        DIR *d = opendir(p);
        if (!d)
                return 0;
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (strncmp(de->d_name, "ports-", 6) == 0 && strcmp(de->d_name + 6, except) != 0) {
                        if (network_machine_alive(de->d_name + 6))
                                n++;
                        else
                                remove_ports_of(de->d_name + 6);
                }
        closedir(d);
        return n;
}

static int nat_users_other_than(const char *machine) {
        int a = lease_count_others(DEFAULT_BRIDGE, machine), b = lease_count_others("-", machine);
        return a < 0 ? a : b < 0 ? b : a + b + forward_users_other_than(machine);
}

/* What the last machine of a bridge (or of the NAT subnet) takes with it. */
typedef struct {
        char bridge[IFNAMSIZ]; /* empty: none to delete */
        bool nat;
} SharedRelease;

/* Under the lock. */
static SharedRelease shared_to_release(const char *machine, const char *bridge, bool nat) {
        SharedRelease w = {};
        char marker[PATH_MAX];
        if (strcmp(bridge, "-") != 0 && lease_count_others(bridge, machine) == 0) {
                bridge_marker(bridge, marker, sizeof marker);
                if (access(marker, F_OK) >= 0)
                        snprintf(w.bridge, sizeof w.bridge, "%s", bridge);
        }
        w.nat = nat && nat_users_other_than(machine) == 0;
        return w;
}

/* Under the lock. */
static void shared_release(const SharedRelease *w) {
        char marker[PATH_MAX], err[256];
        if (w->bridge[0]) {
                (void) netlink_link_delete(w->bridge);
                bridge_marker(w->bridge, marker, sizeof marker);
                (void) unlink(marker);
        }
        if (w->nat)
                (void) nat_remove(err, sizeof err);
}

static void release_shared(const char *machine, const char *bridge, bool nat) {
        SharedRelease w = shared_to_release(machine, bridge, nat);
        shared_release(&w);
}

/* Deleting a link or an nftables table waits for RCU grace periods (~50 ms for the bridge and the
 * table here): a machine's end does not wait for them. A detached child deletes them, holding the
 * network lock (inherited: a flock belongs to the open file), so that a machine starting meanwhile
 * waits for it and then makes them anew. Takes the lock fd; without one, deletes them here. */
static void shared_release_in_background(const SharedRelease *w, int lock) {
        if (lock < 0) {
                shared_release(w);
                return;
        }
        if (!w->bridge[0] && !w->nat) {
                safe_close(lock);
                return;
        }
        pid_t pid = fork();
        if (pid == 0) {
                /* Nothing of the caller's: its terminal, its pipes, its session. */
                if (stdio_to_null(STDERR_FILENO) < 0 || close_all_fds_except(&lock, 1) < 0)
                        _exit(EXIT_FAILURE);
                (void) setsid();
                proc_title_set("nspawnlite-net-release");
                shared_release(w);
                _exit(EXIT_SUCCESS);
        }
        if (pid < 0)
                shared_release(w);
        safe_close(lock);
}

int network_prepare(MachineNetwork *n, const char *machine, const NetworkSpec *c, char *err, size_t errlen) {
        *n = (MachineNetwork){ .mode = c->mode, .ports = c->ports, .n_ports = c->n_ports };
        snprintf(n->machine, sizeof n->machine, "%s", machine);
        if (c->mode == NETWORK_NONE || c->mode == NETWORK_HOST)
                return 0;

        n->point_to_point = c->mode == NETWORK_VETH;
        n->default_bridge =
                c->mode == NETWORK_BRIDGE && (!c->bridge || strcmp(c->bridge, DEFAULT_BRIDGE) == 0);
        n->nat = n->point_to_point || n->default_bridge;
        n->has_address = true;
        snprintf(n->bridge, sizeof n->bridge, "%s",
                 c->mode == NETWORK_BRIDGE ? (c->bridge ?: DEFAULT_BRIDGE) : "-");
        if (n->nat && network_default_subnet(&n->subnet) < 0) {
                snprintf(err, errlen, "Invalid NSPAWNLITE_BRIDGE_SUBNET '%s': use ADDRESS/PREFIX like %s",
                         getenv("NSPAWNLITE_BRIDGE_SUBNET"), DEFAULT_BRIDGE_SUBNET);
                return -EINVAL;
        }

        int lock = network_lock();
        if (lock < 0) {
                snprintf(err, errlen, "Failed to lock %s/network", runtime_dir());
                return lock;
        }
        int r = 0;
        bool made_bridge = false;
        if (c->mode == NETWORK_BRIDGE) {
                bool existed = netlink_link_exists(n->bridge) > 0;
                r = ensure_bridge(n, err, errlen);
                made_bridge = r >= 0 && !existed;
        }
        if (r >= 0 && n->n_ports > 0 && !n->has_address) {
                snprintf(err, errlen, "Bridge %s has no IPv4 address: --port needs one for the guest",
                         n->bridge);
                r = -EADDRNOTAVAIL;
        }
        if (r >= 0) {
                /* Even without an address to give, the lease names the host interface. */
                Ipv4Subnet s = n->subnet;
                if (!n->has_address && network_default_subnet(&s) < 0)
                        ipv4_subnet_parse(DEFAULT_BRIDGE_SUBNET, &s);
                r = lease_acquire(n->machine, n->bridge, &s, &n->lease);
                if (r == -EADDRNOTAVAIL) {
                        char a[16];
                        ipv4_format(s.address, a, sizeof a);
                        snprintf(err, errlen,
                                 "No free address left in %s/%u for machine %s: power off another machine, "
                                 "or set NSPAWNLITE_BRIDGE_SUBNET to a larger subnet",
                                 a, s.prefix, n->machine);
                } else if (r == -EBADMSG)
                        snprintf(err, errlen,
                                 "The lease file %s/network/leases is not one nspawnlite wrote; "
                                 "remove it while no machine runs",
                                 runtime_dir());
                else if (r < 0)
                        snprintf(err, errlen, "Failed to lease an address");
                n->leased = r >= 0;
        }
        /* The first machine on the NAT subnet sets the table up, the last one removes it: under
         * the lock, the others can skip an nft transaction (a commit costs an RCU grace period). */
        if (r >= 0 && (n->nat || n->n_ports > 0) && nat_users_other_than(n->machine) == 0) {
                Ipv4Subnet ds;
                if (network_default_subnet(&ds) < 0)
                        ipv4_subnet_parse(DEFAULT_BRIDGE_SUBNET, &ds);
                r = nat_setup(n->nat ? &n->subnet : &ds, err, errlen);
        } else if (r >= 0)
                (void) forward_users_other_than(n->machine);
        if (r < 0) {
                if (n->leased)
                        (void) lease_release(n->machine);
                n->leased = false;
                if (made_bridge)
                        release_shared(n->machine, n->bridge, n->nat);
                else if (n->nat)
                        release_shared(n->machine, "-", true);
        }
        close(lock);
        return r;
}

void network_guest_config(const MachineNetwork *n, GuestNetwork *ret) {
        *ret = (GuestNetwork){};
        if (!n->leased || !n->has_address)
                return;
        *ret = (GuestNetwork){
                .configure = true,
                .address = n->lease.address,
                .gateway = n->subnet.address,
                .prefix = n->subnet.prefix,
                .point_to_point = n->point_to_point,
        };
}

static int record_ports(const MachineNetwork *n);

static void set_route_localnet(const char *ifname) {
        char p[128];
        snprintf(p, sizeof p, "/proc/sys/net/ipv4/conf/%s/route_localnet", ifname);
        (void) write_file_at(AT_FDCWD, p, "1");
}

int network_attach(MachineNetwork *n, pid_t pid, char *err, size_t errlen) {
        if (!n->leased)
                return 0;
        const char *host = n->lease.ifname;
        int r = netlink_veth_create(host, GUEST_IFNAME, pid);
        if (r == -EEXIST) {
                /* The pair of this machine's last run, whose network namespace the kernel has not
                 * finished tearing down (network_release): ours, as the name is. Renamed aside it
                 * goes with that namespace all the same ('+' is in no machine's interface name). */
                if (netlink_link_rename_aside(host, "ve-+") < 0)
                        (void) netlink_link_delete(host);
                r = netlink_veth_create(host, GUEST_IFNAME, pid);
        }
        if (r < 0) {
                snprintf(err, errlen, "Failed to create veth %s", host);
                return r;
        }
        if (n->point_to_point)
                r = netlink_address_add(host, n->subnet.address, 32, n->lease.address);
        else
                r = netlink_link_set_master(host, n->bridge);
        if (r >= 0)
                r = netlink_link_up(host);
        if (r < 0) {
                snprintf(err, errlen, "Failed to configure %s", host);
                (void) netlink_link_delete(host);
                return r;
        }
        if (n->n_ports > 0) {
                /* Forwards from the host's own 127.0.0.1 leave through this link. */
                set_route_localnet(n->point_to_point ? host : n->bridge);
                if (n->n_ports_added == 0 && (r = record_ports(n)) < 0) {
                        snprintf(err, errlen, "Failed to record the port forwards");
                        return r;
                }
                for (; n->n_ports_added < n->n_ports; n->n_ports_added++) {
                        const PortForward *p = &n->ports[n->n_ports_added];
                        r = nat_add_port(p, n->lease.address, err, errlen);
                        if (r == -EEXIST)
                                snprintf(err, errlen, "Port %s/%u is forwarded to another machine already",
                                         port_protocol_to_string(p->protocol), p->host_port);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int ports_file(const char *machine, char *buf, size_t n) {
        char name[96];
        snprintf(name, sizeof name, "ports-%s", machine);
        return network_file(name, buf, n);
}

void network_release(MachineNetwork *n) {
        char err[256];
        if (!n->leased)
                return;
        int lock = network_lock();
        for (size_t i = 0; i < n->n_ports_added; i++)
                (void) nat_remove_port(&n->ports[i], err, sizeof err);
        n->n_ports_added = 0;
        /* The veth pair goes with the guest's network namespace: the kernel's teardown of it (in
         * the background, once the guest's last process is reaped) deletes both ends. Deleting it
         * here would wait for the RCU grace periods of an unregistration (10-20 ms). A start under
         * the same name before the kernel is done renames it aside (network_attach); gc deletes. */
        (void) lease_release(n->machine);
        SharedRelease w = shared_to_release(n->machine, n->bridge, n->nat || n->n_ports > 0);
        n->leased = false;
        char p[PATH_MAX];
        ports_file(n->machine, p, sizeof p);
        (void) unlink(p);
        shared_release_in_background(&w, lock);
}

int network_configure_guest(const GuestNetwork *g) {
        if (!g->configure)
                return 0;
        int r = netlink_address_add(GUEST_IFNAME, g->address, g->point_to_point ? 32 : g->prefix,
                                    g->point_to_point ? g->gateway : 0);
        if (r >= 0)
                r = netlink_link_up(GUEST_IFNAME);
        if (r >= 0)
                r = netlink_route_add_default(GUEST_IFNAME, g->gateway);
        return r;
}

int network_gc(const char *machine) {
        Lease l;
        int r = lease_find(machine, &l);
        if (r < 0 && r != -ENOENT)
                return r;
        bool leased = r >= 0;
        char p[PATH_MAX];
        ports_file(machine, p, sizeof p);
        /* Without a lease (a later boot reclaimed it) there may still be forwards. */
        if (!leased && access(p, F_OK) < 0)
                return 0;
        int lock = network_lock();
        remove_ports_of(machine);
        if (leased) {
                (void) netlink_link_delete(l.ifname);
                (void) lease_release(machine);
                release_shared(machine, l.bridge, true);
        } else
                release_shared(machine, "-", true);
        if (lock >= 0)
                close(lock);
        return 1;
}

static void remove_ports_of(const char *machine) {
        char p[PATH_MAX], err[256];
        _cleanup_free_ char *text = NULL;
        ports_file(machine, p, sizeof p);
        int r = read_file_at(AT_FDCWD, p, 65536, &text);
        /* The whole file first: one that is not all record_ports()'s lines names no rule of ours. */
        PortForward pf[MACHINE_PORTS_MAX];
        size_t n = 0;
        bool bad = r < 0 || strlen(text) != (size_t) r || r >= 65536;
        for (char *line = text; !bad && *line;) {
                char *nl = strchr(line, '\n');
                if (nl)
                        *nl = 0;
                bad = !nl || n >= ELEMENTSOF(pf) || port_forward_parse_line(line, &pf[n++]) < 0;
                line = nl + 1;
        }
        for (size_t i = 0; !bad && i < n; i++)
                (void) nat_remove_port(&pf[i], err, sizeof err);
        (void) unlink(p);
}

/* Record the forwards for gc, one port_forward_format_line() each. */
static int record_ports(const MachineNetwork *n) {
        char p[PATH_MAX], buf[8192] = "";
        size_t len = 0;
        ports_file(n->machine, p, sizeof p);
        if (!n->n_ports)
                return 0;
        if (n->n_ports > MACHINE_PORTS_MAX)
                return -E2BIG;
        for (size_t i = 0; i < n->n_ports; i++) {
                int k = port_forward_format_line(&n->ports[i], buf + len, sizeof buf - len - 1);
                if (k < 0)
                        return k;
                len += (size_t) k;
                buf[len++] = '\n';
                buf[len] = 0;
        }
        /* Under the lock, as every writer of the network dir (network_lock() clears what an
         * interrupted one left). */
        int lock = network_lock();
        if (lock < 0)
                return lock;
        int r = write_file_atomic(p, buf, 0644);
        close(lock);
        return r;
}
