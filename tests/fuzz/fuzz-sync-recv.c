/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sync_recv / sync_expect on a SOCK_SEQPACKET pair fed with arbitrary datagrams, some carrying fds.
 * Checks: no crash, received fds are valid and reported, and no fd is leaked whatever the result.
 *
 * Input: byte 0: how many fds to attach (mod SYNC_FDS_MAX + 4, so more than the receiver takes);
 *        byte 1: bit 0 call sync_expect instead of sync_recv, bits 1-2 the step expected,
 *                bit 3 pass no fd array, bit 4 close the sender after sending (EOF next),
 *                bit 5 send the payload as two datagrams (split at byte 2's value);
 *        byte 2: split point; the rest: the datagram(s). */
#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/sync.h"
#include "tests/fuzz/fuzz.h"

/* How many fds the process has open (a leaked fd may sit above a hole, so the lowest free fd number
 * would not show it). */
static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        FUZZ_CHECK(d);
        int n = 0;
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

static int send_datagram(int fd, const uint8_t *p, size_t n, size_t n_fds) {
        int fds[SYNC_FDS_MAX + 4];
        for (size_t i = 0; i < n_fds; i++)
                FUZZ_CHECK((fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0);
        ssize_t k = send_with_fds(fd, p, n, fds, n_fds, MSG_NOSIGNAL | MSG_DONTWAIT);
        for (size_t i = 0; i < n_fds; i++)
                close(fds[i]); /* in flight now, or not sent at all */
        return k < 0 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 3)
                return 0;
        size_t n_fds = data[0] % (SYNC_FDS_MAX + 4);
        uint8_t flags = data[1];
        size_t split = data[2];
        const uint8_t *payload = data + 3;
        size_t len = size - 3;
        if (len > 4 * sizeof(SyncMessage))
                len = 4 * sizeof(SyncMessage);

        int before = count_fds();
        int pair[2];
        FUZZ_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
        bool sent = false;
        if (flags & 0x20 && split < len) {
                sent = send_datagram(pair[1], payload, split, n_fds) == 0;
                (void) send_datagram(pair[1], payload + split, len - split, 0);
        } else
                sent = send_datagram(pair[1], payload, len, n_fds) == 0;
        if (flags & 0x10)
                pair[1] = safe_close(pair[1]);
        if (!sent && pair[1] >= 0)
                pair[1] = safe_close(pair[1]); /* nothing to read: EOF, not a hang */

        /* The same two reads the supervisor and the child do, then whatever is left. */
        for (int round = 0; round < 2; round++) {
                SyncMessage m;
                memset(&m, 0xaa, sizeof m);
                int fds[SYNC_FDS_MAX];
                for (size_t i = 0; i < SYNC_FDS_MAX; i++)
                        fds[i] = -1;
                size_t got = 12345;
                bool no_fds = flags & 0x08;
                int r;
                if (pair[1] >= 0) {
                        /* Never block: with the sender still open an empty queue would wait. */
                        int pending = 0;
                        if (recv(pair[0], &pending, sizeof pending, MSG_PEEK | MSG_DONTWAIT) < 0)
                                break;
                }
                if (flags & 0x01) {
                        SyncStep step = (SyncStep) ((flags >> 1) & 3);
                        r = sync_expect(pair[0], step, &m, no_fds ? NULL : fds, no_fds ? NULL : &got);
                        if (r >= 0) {
                                FUZZ_CHECK(m.step == (uint32_t) step);
                                FUZZ_CHECK(no_fds || got <= SYNC_FDS_MAX);
                                FUZZ_CHECK(memchr(m.message, 0, sizeof m.message));
                                for (size_t i = 0; !no_fds && i < got; i++) {
                                        FUZZ_CHECK(fcntl(fds[i], F_GETFD) == FD_CLOEXEC);
                                        close(fds[i]);
                                }
                        }
                        /* On failure nothing is handed over: a leak shows in the fd check below. */
                        if (r < 0)
                                break;
                } else {
                        r = sync_recv(pair[0], &m, no_fds ? NULL : fds, no_fds ? NULL : &got);
                        if (r == 1) {
                                FUZZ_CHECK(memchr(m.message, 0, sizeof m.message));
                                FUZZ_CHECK(no_fds || got <= SYNC_FDS_MAX);
                                for (size_t i = 0; !no_fds && i < got; i++) {
                                        FUZZ_CHECK(fcntl(fds[i], F_GETFD) == FD_CLOEXEC);
                                        close(fds[i]);
                                }
                        } else if (r < 0)
                                FUZZ_CHECK(no_fds || got == 0);
                        /* r == 0 (EOF): the callers take no fds from it; see the check below. */
                        if (r <= 0)
                                break;
                }
        }
        safe_close(pair[0]);
        safe_close(pair[1]);
        int after = count_fds();
        if (after != before)
                fprintf(stderr, "fd leak: %d fds open before, %d after\n", before, after);
        FUZZ_CHECK(after == before);
        return 0;
}
