/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The layout of boot's and run's --help; the options and their texts are the rows of
 * launch_options[] (options.c), which the man page test compares with nspawnlite(1). */
#include "nspawnlite/cli/help.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define HELP_COLUMN 28 /* where descriptions start */
#define HELP_WIDTH  79

/* text from column HELP_COLUMN on, wrapped at spaces to HELP_WIDTH. */
static void help_wrap(FILE *f, const char *text) {
        size_t width = HELP_WIDTH - HELP_COLUMN;
        while (*text) {
                size_t n = strlen(text);
                if (n > width) {
                        n = width;
                        while (n > 0 && text[n] != ' ')
                                n--;
                        if (n == 0) /* one word longer than the line: as it is */
                                n = strcspn(text, " ");
                }
                fprintf(f, "%.*s\n", (int) n, text);
                text += n;
                text += strspn(text, " ");
                if (*text)
                        fprintf(f, "%*s", HELP_COLUMN, "");
        }
}

void help_option(FILE *f, char short_name, const char *long_name, int has_arg, const char *arg,
                 const char *text) {
        char synopsis[128];
        int n = snprintf(synopsis, sizeof synopsis, "  %c%c %s%s", short_name ? '-' : ' ', short_name ?: ' ',
                         long_name ? "--" : "", long_name ?: "");
        if (arg && (size_t) n < sizeof synopsis)
                n += snprintf(synopsis + n, sizeof synopsis - n,
                              has_arg == optional_argument ? "[=%s]" : "=%s", arg);
        if (n >= HELP_COLUMN) /* too long: the description goes below */
                fprintf(f, "%s\n%*s", synopsis, HELP_COLUMN, "");
        else
                fprintf(f, "%-*s", HELP_COLUMN, synopsis);
        help_wrap(f, text);
}

void help_launch_header(FILE *f, bool run) {
        if (run)
                fputs("nspawnlite run [OPTIONS] ROOTFS|--image=PATH|-M NAME [--] CMD [ARGS…]\n\n"
                      "Run one command in a fresh container; a tiny stub init is PID 1.\n"
                      "The exit status is the command's (128+N when it was killed by signal N).\n"
                      "The console defaults to 'pipe' unless standard input and output are terminals.\n\n",
                      f);
        else
                fputs("nspawnlite boot [OPTIONS] ROOTFS|--image=PATH|-M NAME [INIT-ARGS…]\n\n"
                      "Boot the OS tree ROOTFS as a container: its own init runs as PID 1.\n\n",
                      f);
}

void help_launch_footer(FILE *f, bool run) {
        if (!run)
                fputs("\nCtrl-] three times within a second kills the machine.\n", f);
        fputs("\nWithout user namespaces, root in the guest is root on the host kernel: like\n"
              "systemd-nspawn, this is a boundary against accidents, not against a hostile\n"
              "guest. With -U it is meant to be a boundary: the guest's root has no privilege\n"
              "on the host. See nspawnlite(1).\n",
              f);
}
