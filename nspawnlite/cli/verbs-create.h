/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* "create NAME [OPTIONS]": argv with the verb as argv[0]; returns the exit status. */
int verb_create(int argc, char **argv);
