/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* enable|disable NAME (systemd hosts). argv[0] is the verb; returns the exit status. */
int verb_enable(int argc, char **argv);
int verb_disable(int argc, char **argv);
