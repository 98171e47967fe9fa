/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config_parse on a fuzzed command line of "boot" or "run".
 *
 * Input: byte 0 chooses the verb (bit 0: run, else boot); the rest is split at NULs into the
 * arguments after it. An argument "@" or "@/…" stands for a real guest tree made once at start
 * (FUZZ_ROOT/guest with a directory sub/ and a file file), so that the fuzzer reaches the checks
 * after the tree has been resolved. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nspawnlite/basic/name.h"
#include "network/nat.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/cli/options.h"
#include "nspawnlite/basic/path-util.h"
#include "tests/fuzz/fuzz.h"

#define MAX_ARGS 64

static char root[256];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        char tmpl[200];
        const char *t = getenv("TMPDIR");
        snprintf(tmpl, sizeof tmpl, "%s/nspawnlite-fuzz-XXXXXX", t && *t == '/' ? t : "/tmp");
        FUZZ_CHECK(mkdtemp(tmpl));
        snprintf(root, sizeof root, "%s/guest", tmpl);
        char p[512];
        FUZZ_CHECK(mkdir(root, 0755) == 0);
        snprintf(p, sizeof p, "%s/sub", root);
        FUZZ_CHECK(mkdir(p, 0755) == 0);
        snprintf(p, sizeof p, "%s/file", root);
        int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        FUZZ_CHECK(fd >= 0);
        close(fd);
        /* --help prints to stdout: keep the fuzzer's output readable. */
        fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        FUZZ_CHECK(fd >= 0 && dup2(fd, STDOUT_FILENO) == STDOUT_FILENO);
        close(fd);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        LaunchKind kind = data[0] & 1 ? LAUNCH_RUN : LAUNCH_BOOT;
        char *pieces[MAX_ARGS], *buf;
        size_t n = size > 1 ? fuzz_split(data + 1, size - 1, pieces, MAX_ARGS, &buf) : 0;
        if (size == 1)
                buf = NULL;

        char *argv[MAX_ARGS + 2], *owned[MAX_ARGS] = {};
        argv[0] = kind == LAUNCH_RUN ? "run" : "boot";
        for (size_t i = 0; i < n; i++) {
                if (pieces[i][0] == '@' && (pieces[i][1] == 0 || pieces[i][1] == '/')) {
                        FUZZ_CHECK(asprintf(&owned[i], "%s%s", root, pieces[i] + 1) >= 0);
                        argv[i + 1] = owned[i];
                } else
                        argv[i + 1] = pieces[i];
        }
        argv[n + 1] = NULL;

        log_set_max_level(LOG_CRIT); /* every rejection prints a line; -q changes the level */
        Config c;
        int r = config_parse(&c, kind, (int) n + 1, argv);
        if (r == 0) {
                FUZZ_CHECK(c.rootfs && c.rootfs[0] == '/' && strcmp(c.rootfs, "/") != 0);
                FUZZ_CHECK(machine_name_is_valid(c.machine));
                /* The default hostname is the machine name, which allows what a hostname does not
                 * ("a-", "a..b", "a.-b"): a finding reported separately; the check covers --hostname=. */
                FUZZ_CHECK(hostname_is_valid(c.hostname) || strcmp(c.hostname, c.machine) == 0);
                FUZZ_CHECK(c.kind == kind);
                if (kind == LAUNCH_RUN)
                        FUZZ_CHECK(c.args && c.args[0]);
                FUZZ_CHECK(c.ttys <= 16);
                for (size_t i = 0; i < c.n_mounts; i++) {
                        FUZZ_CHECK(path_is_safe_absolute(c.mounts[i].dest));
                        FUZZ_CHECK(c.mounts[i].tmpfs ? !c.mounts[i].source : path_is_absolute(c.mounts[i].source));
                }
                for (size_t i = 0; i < c.n_ports; i++) {
                        FUZZ_CHECK(c.ports[i].host_port > 0 && c.ports[i].guest_port > 0);
                        for (size_t j = 0; j < i; j++)
                                FUZZ_CHECK(c.ports[i].protocol != c.ports[j].protocol ||
                                           c.ports[i].host_port != c.ports[j].host_port);
                }
                FUZZ_CHECK(c.n_ports == 0 || c.network == NETWORK_BRIDGE || c.network == NETWORK_VETH);
                FUZZ_CHECK(c.timeout > 0);
                for (char **e = c.setenv; e && *e; e++)
                        FUZZ_CHECK(strchr(*e, '=') && *e[0] != '=');
                for (int k = 0; k < _LIMIT_MAX; k++)
                        if (c.limits.set[k])
                                FUZZ_CHECK(c.limits.value[k] == LIMIT_INFINITY ||
                                           (c.limits.value[k] >= limit_info((LimitKey) k)->min &&
                                            c.limits.value[k] <= limit_info((LimitKey) k)->max));
        }
        config_done(&c);
        for (size_t i = 0; i < n; i++)
                free(owned[i]);
        free(buf);
        return 0;
}
