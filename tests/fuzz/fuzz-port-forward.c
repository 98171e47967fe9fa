/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* port_forward_parse (the --port= value) and the ports file's lines: what either accepts has a
 * canonical line that parses back the same, and the line parser accepts nothing but canonical
 * lines. */
#include <errno.h>

#include "network/nat.h"
#include "tests/fuzz/fuzz.h"

static void check_line(const PortForward *p) {
        char buf[64];
        int r = port_forward_format_line(p, buf, sizeof buf);
        FUZZ_CHECK(r > 0 && (size_t) r == strlen(buf) && !strchr(buf, '\n'));
        FUZZ_CHECK(port_forward_format_line(p, buf, (size_t) r) < 0);
        FUZZ_CHECK(port_forward_format_line(p, buf, sizeof buf) == r);
        PortForward q;
        FUZZ_CHECK(port_forward_parse_line(buf, &q) >= 0);
        FUZZ_CHECK(q.protocol == p->protocol && q.host_port == p->host_port && q.guest_port == p->guest_port);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_string(data, size);
        PortForward p;
        if (port_forward_parse(s, &p) >= 0) {
                FUZZ_CHECK(p.protocol == PORT_TCP || p.protocol == PORT_UDP);
                FUZZ_CHECK(p.host_port >= 1 && p.guest_port >= 1);
                check_line(&p);
        }
        if (port_forward_parse_line(s, &p) >= 0) {
                char buf[64];
                FUZZ_CHECK(port_forward_format_line(&p, buf, sizeof buf) > 0 && strcmp(buf, s) == 0);
                check_line(&p);
        }
        /* Any forward, from the raw bytes: formatted and read back, or refused (a port 0). */
        if (size >= 5) {
                PortForward a = { .protocol = data[0] & 1 ? PORT_UDP : PORT_TCP,
                                  .host_port = (uint16_t) (data[1] << 8 | data[2]),
                                  .guest_port = (uint16_t) (data[3] << 8 | data[4]) };
                char buf[64];
                if (a.host_port && a.guest_port)
                        check_line(&a);
                else
                        FUZZ_CHECK(port_forward_format_line(&a, buf, sizeof buf) == -EINVAL);
        }
        free(s);
        return 0;
}
