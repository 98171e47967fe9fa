/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The store's transfer verbs: import-tar, import-raw, export-tar, export-raw, pull-tar, pull-raw.
 * Each takes argv with the verb as argv[0] and returns the process exit status. */
int verb_import_tar(int argc, char **argv);
int verb_import_raw(int argc, char **argv);
int verb_export_tar(int argc, char **argv);
int verb_export_raw(int argc, char **argv);
int verb_pull_tar(int argc, char **argv);
int verb_pull_raw(int argc, char **argv);
