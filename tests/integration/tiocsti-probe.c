/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The TIOCSTI probe of the login and shell tests: pushes "ARG\n" into the input of its stdin's
 * terminal, one byte at a time, and says how many bytes the kernel took and the last error. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
int main(int argc, char **argv) {
        char line[512];
        snprintf(line, sizeof line, "%s\n", argc > 1 ? argv[1] : "echo INJECTED");
        int ok = 0, err = 0;
        for (size_t i = 0; i < strlen(line); i++) {
                if (ioctl(0, TIOCSTI, &line[i]) == 0)
                        ok++;
                else
                        err = errno;
        }
        printf("TIOCSTI-PUSHED:%d %s\n", ok, err ? strerrorname_np(err) : "none");
        return 0;
}
