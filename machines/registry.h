/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The runtime directory: $NSPAWNLITE_RUNTIME_DIR, default /run/nspawnlite. */
const char *runtime_dir(void);

typedef struct {
        char *dir;   /* RUNTIME/machines/NAME */
        int lock_fd; /* flock held for the machine's lifetime */
} MachineLock;

/* Take the name: -EBUSY when a live supervisor holds it. */
int machine_lock_acquire(const char *name, MachineLock *ret);
/* Write RUNTIME/machines/NAME/state atomically (key=value lines). */
int machine_state_write(const MachineLock *l, const char *content);
/* Release and remove what acquiring made. */
void machine_lock_release(MachineLock *l);
