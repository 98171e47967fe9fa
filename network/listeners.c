/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "network/listeners.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/macro.h"

/* The socket states of /proc/net/tcp (include/net/tcp_states.h). */
#define TCP_STATE_LISTEN 0x0A
#define TCP_STATE_CLOSE  0x07 /* also an unconnected UDP socket */

int proc_net_find_port(const char *text, uint16_t port, bool tcp, uint64_t *ret_inode, char *ret_addr,
                       size_t n) {
        /* "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
         */
        const char *line = strchr(text, '\n'); /* past the header */
        while (line && *++line) {
                char local[64], remote[64];
                unsigned st, lport;
                unsigned long long inode;
                if (sscanf(line, " %*u: %63s %63s %x %*s %*s %*s %*u %*u %llu", local, remote, &st, &inode) ==
                    4) {
                        const char *colon = strrchr(local, ':');
                        bool unconnected = strspn(remote, "0:") == strlen(remote);
                        if (colon && sscanf(colon + 1, "%x", &lport) == 1 && lport == port &&
                            (tcp ? st == TCP_STATE_LISTEN : st == TCP_STATE_CLOSE && unconnected)) {
                                if (ret_addr)
                                        snprintf(ret_addr, n, "%.*s", (int) (colon - local), local);
                                *ret_inode = inode;
                                return 1;
                        }
                }
                line = strchr(line, '\n');
        }
        return 0;
}

/* The first process with socket inode open, as "COMM, pid N"; nothing found leaves desc alone. */
static void describe_owner(uint64_t inode, char *desc, size_t n) {
        char want[64];
        snprintf(want, sizeof want, "socket:[%" PRIu64 "]", inode);
        DIR *proc = opendir("/proc");
        if (!proc)
                return;
        for (struct dirent *de; (de = readdir(proc));) {
                if (!strchr("123456789", de->d_name[0]))
                        continue;
                char p[300];
                snprintf(p, sizeof p, "/proc/%s/fd", de->d_name);
                DIR *fds = opendir(p);
                if (!fds)
                        continue;
                bool found = false;
                for (struct dirent *f; !found && (f = readdir(fds));) {
                        char link[300], target[64];
                        snprintf(link, sizeof link, "/proc/%s/fd/%s", de->d_name, f->d_name);
                        ssize_t k = readlink(link, target, sizeof target - 1);
                        found = k > 0 && (target[k] = 0, strcmp(target, want) == 0);
                }
                closedir(fds);
                if (!found)
                        continue;
                _cleanup_free_ char *comm = NULL;
                snprintf(p, sizeof p, "/proc/%s/comm", de->d_name);
                if (read_file_at(-EBADF, p, 64, &comm) >= 0) {
                        comm[strcspn(comm, "\n")] = 0;
                        /* Any user names its processes: no terminal escapes into our warning. */
                        for (char *c = comm; *c; c++)
                                if (*c < 0x20 || *c > 0x7e)
                                        *c = '?';
                }
                snprintf(desc, n, "%s, pid %s", comm ? comm : "?", de->d_name);
                break;
        }
        closedir(proc);
}

int port_find_listener(const PortForward *p, char *desc, size_t n) {
        bool tcp = p->protocol == PORT_TCP;
        const char *files[] = { tcp ? "/proc/net/tcp" : "/proc/net/udp",
                                tcp ? "/proc/net/tcp6" : "/proc/net/udp6" };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *text = NULL;
                uint64_t inode;
                if (read_file_at(-EBADF, files[i], 4 << 20, &text) < 0)
                        continue;
                if (proc_net_find_port(text, p->host_port, tcp, &inode, NULL, 0) <= 0)
                        continue;
                snprintf(desc, n, "owner unknown");
                describe_owner(inode, desc, n);
                return 1;
        }
        return 0;
}
