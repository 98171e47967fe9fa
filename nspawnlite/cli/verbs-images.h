/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The verbs of the image store, with machinectl's names. Each takes argv with the verb as argv[0]
 * and returns the process exit status. */
int verb_list_images(int argc, char **argv);
int verb_image_status(int argc, char **argv);
int verb_clone(int argc, char **argv);
int verb_rename(int argc, char **argv);
int verb_remove(int argc, char **argv);
int verb_read_only(int argc, char **argv);
int verb_import_fs(int argc, char **argv);
