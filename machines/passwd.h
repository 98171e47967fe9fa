/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* A user of a guest, from the guest's own /etc/passwd text. We parse it ourselves: NSS would load
 * the guest's modules into a privileged host process. */
typedef struct {
        char name[64];
        uid_t uid;
        gid_t gid;
        char home[256];
        char shell[256];
} GuestUser;

/* Find user (a name, or a number) in passwd text. -ESRCH when absent, -EINVAL for a bad user
 * argument. A numeric user absent from the file is accepted as uid=gid=N, home "/", shell /bin/sh. */
int passwd_find(const char *text, const char *user, GuestUser *ret);
