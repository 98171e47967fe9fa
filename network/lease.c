/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "network/lease.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nspawnlite/basic/name.h"
#include "nspawnlite/basic/runtime-dir.h"
#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/macro.h"

#define LEASES_MAX 4096

/* The four fields, each validated, one space between them, nothing else on the line: nothing in
 * a lease can make another line or another field. */
static MachineAliveFn machine_alive = NULL;

void network_set_liveness(MachineAliveFn fn) {
        machine_alive = fn;
}

bool network_machine_alive(const char *name) {
        return !machine_alive || machine_alive(name);
}

static bool lease_fields_valid(const char *machine, const char *ifname, const char *bridge) {
        return machine_name_is_valid(machine) && ifname_is_valid(ifname) &&
               (strcmp(bridge, "-") == 0 || ifname_is_valid(bridge));
}

int lease_parse_line(const char *line, Lease *ret) {
        char buf[128], *field[4];
        size_t len = strlen(line);
        if (len >= sizeof buf)
                return -EINVAL;
        memcpy(buf, line, len + 1);
        char *p = buf;
        for (size_t i = 0; i < ELEMENTSOF(field); i++) {
                field[i] = p;
                size_t k = strcspn(p, " ");
                if (k == 0 || (i < 3 && p[k] != ' ') || (i == 3 && p[k] != 0))
                        return -EINVAL;
                p[k] = 0;
                p += k + 1;
        }
        Lease l = {};
        if (!lease_fields_valid(field[0], field[2], field[3]) || ipv4_parse(field[1], &l.address) < 0)
                return -EINVAL;
        snprintf(l.machine, sizeof l.machine, "%s", field[0]);
        snprintf(l.ifname, sizeof l.ifname, "%s", field[2]);
        snprintf(l.bridge, sizeof l.bridge, "%s", field[3]);
        *ret = l;
        return 0;
}

int lease_format_line(const Lease *l, char *buf, size_t n) {
        char a[16];
        if (!lease_fields_valid(l->machine, l->ifname, l->bridge))
                return -EINVAL; /* never written: it could not be read back */
        ipv4_format(l->address, a, sizeof a);
        int k = snprintf(buf, n, "%s %s %s %s\n", l->machine, a, l->ifname, l->bridge);
        return k < 0 || (size_t) k >= n ? -ENOBUFS : k;
}

typedef struct {
        int lock_fd;
        Lease *leases;
        size_t n;
} LeaseDb;

static void lease_db_done(LeaseDb *db) {
        free(db->leases);
        db->leases = NULL;
        db->lock_fd = safe_close(db->lock_fd);
}

static int db_path(const char *file, char *buf, size_t n) {
        int k = snprintf(buf, n, "%s/network/%s", runtime_dir(), file);
        return k < 0 || (size_t) k >= n ? -ENAMETOOLONG : 0;
}

/* Lock and read the database. A file that is not entirely what lease_db_commit() writes (a
 * malformed line, a machine twice, a NUL) is refused with -EBADMSG: dropping a line of it could
 * hand a live machine's address to another. */
static int lease_db_open(LeaseDb *db) {
        char p[PATH_MAX];
        *db = (LeaseDb){ .lock_fd = -EBADF };
        (void) mkdir(runtime_dir(), 0755);
        int r = db_path("", p, sizeof p);
        if (r < 0)
                return r;
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                return -errno;
        db_path("leases.lock", p, sizeof p);
        db->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (db->lock_fd < 0)
                return -errno;
        if (flock(db->lock_fd, LOCK_EX) < 0) {
                r = -errno;
                lease_db_done(db);
                return r;
        }
        db->leases = calloc(LEASES_MAX, sizeof(Lease));
        if (!db->leases) {
                lease_db_done(db);
                return -ENOMEM;
        }
        _cleanup_free_ char *text = NULL;
        db_path("leases", p, sizeof p);
        r = read_file_at(AT_FDCWD, p, 1 << 20, &text);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                lease_db_done(db);
                return r;
        }
        bool bad = strlen(text) != (size_t) r || (size_t) r >= (1 << 20);
        for (char *line = text; !bad && line && *line;) {
                char *nl = strchr(line, '\n');
                if (nl)
                        *nl = 0;
                bad = !nl || db->n >= LEASES_MAX || lease_parse_line(line, &db->leases[db->n]) < 0;
                for (size_t i = 0; !bad && i < db->n; i++)
                        bad = strcmp(db->leases[i].machine, db->leases[db->n].machine) == 0;
                db->n++;
                line = nl + 1;
        }
        if (bad) {
                lease_db_done(db);
                return -EBADMSG;
        }
        return 0;
}

static int lease_db_commit(LeaseDb *db) {
        char p[PATH_MAX];
        size_t cap = db->n * 128 + 1;
        _cleanup_free_ char *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        size_t len = 0;
        buf[0] = 0;
        for (size_t i = 0; i < db->n; i++) {
                int k = lease_format_line(&db->leases[i], buf + len, cap - len);
                if (k < 0)
                        return k;
                len += (size_t) k;
        }
        db_path("leases", p, sizeof p);
        if (db->n == 0)
                return unlink(p) < 0 && errno != ENOENT ? -errno : 0;
        return write_file_atomic(p, buf, 0644);
}

static void db_remove(LeaseDb *db, size_t i) {
        db->leases[i] = db->leases[--db->n];
}

/* Leases of machines that are gone (no supervisor holds their name) are free again. */
static void db_reclaim(LeaseDb *db, const char *keep) {
        for (size_t i = db->n; i-- > 0;)
                if (strcmp(db->leases[i].machine, keep) != 0 && !network_machine_alive(db->leases[i].machine))
                        db_remove(db, i);
}

static uint32_t name_index(const char *s, uint32_t n) {
        uint32_t h = 2166136261u;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                h = (h ^ *p) * 16777619u;
        return n ? h % n : 0;
}

int lease_acquire(const char *machine, const char *bridge, const Ipv4Subnet *subnet, Lease *ret) {
        LeaseDb db;
        int r = lease_db_open(&db);
        if (r < 0)
                return r;
        db_reclaim(&db, machine);
        for (size_t i = db.n; i-- > 0;)
                if (strcmp(db.leases[i].machine, machine) == 0)
                        db_remove(&db, i); /* ours, from a boot that did not clean up: start afresh */

        uint32_t count = ipv4_subnet_guest_count(subnet), start = name_index(machine, count);
        Lease l = {};
        snprintf(l.machine, sizeof l.machine, "%s", machine);
        snprintf(l.bridge, sizeof l.bridge, "%s", bridge);
        bool found = false;
        for (uint32_t k = 0; k < count && !found; k++) {
                uint32_t a = ipv4_subnet_guest_address(subnet, (start + k) % count);
                found = true;
                for (size_t i = 0; i < db.n; i++)
                        if (db.leases[i].address == a)
                                found = false;
                l.address = a;
        }
        if (!found || db.n >= LEASES_MAX) {
                lease_db_done(&db);
                return -EADDRNOTAVAIL;
        }
        for (unsigned attempt = 0;; attempt++) {
                veth_host_ifname(machine, attempt, l.ifname);
                bool taken = false;
                for (size_t i = 0; i < db.n; i++)
                        if (strcmp(db.leases[i].ifname, l.ifname) == 0)
                                taken = true;
                if (!taken)
                        break;
        }
        db.leases[db.n++] = l;
        r = lease_db_commit(&db);
        lease_db_done(&db);
        if (r < 0)
                return r;
        *ret = l;
        return 0;
}

int lease_release(const char *machine) {
        LeaseDb db;
        int r = lease_db_open(&db);
        if (r < 0)
                return r;
        for (size_t i = db.n; i-- > 0;)
                if (strcmp(db.leases[i].machine, machine) == 0)
                        db_remove(&db, i);
        r = lease_db_commit(&db);
        lease_db_done(&db);
        return r;
}

int lease_count_others(const char *bridge, const char *machine) {
        LeaseDb db;
        int r = lease_db_open(&db);
        if (r < 0)
                return r;
        int n = 0;
        for (size_t i = 0; i < db.n; i++)
                if (strcmp(db.leases[i].bridge, bridge) == 0 && strcmp(db.leases[i].machine, machine) != 0 &&
                    network_machine_alive(db.leases[i].machine))
                        n++;
        lease_db_done(&db);
        return n;
}

int lease_find(const char *machine, Lease *ret) {
        LeaseDb db;
        int r = lease_db_open(&db);
        if (r < 0)
                return r;
        r = -ENOENT;
        for (size_t i = 0; i < db.n; i++)
                if (strcmp(db.leases[i].machine, machine) == 0) {
                        *ret = db.leases[i];
                        r = 0;
                }
        lease_db_done(&db);
        return r;
}
