/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* port_forward_parse, and that its canonical form parses back to the same forward. */
#include "network/nat.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_string(data, size);
        PortForward p;
        if (port_forward_parse(s, &p) >= 0) {
                FUZZ_CHECK(p.protocol == PORT_TCP || p.protocol == PORT_UDP);
                FUZZ_CHECK(p.host_port >= 1 && p.guest_port >= 1);
                char buf[64];
                snprintf(buf, sizeof buf, "%s:%u:%u", port_protocol_to_string(p.protocol), p.host_port, p.guest_port);
                PortForward q;
                FUZZ_CHECK(port_forward_parse(buf, &q) >= 0);
                FUZZ_CHECK(q.protocol == p.protocol && q.host_port == p.host_port && q.guest_port == p.guest_port);
        }
        free(s);
        return 0;
}
