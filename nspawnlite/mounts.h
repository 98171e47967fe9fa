/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --bind, --bind-ro, --tmpfs: one extra mount of the machine. */
typedef struct {
        char *source; /* host path, NULL for tmpfs */
        char *dest;   /* path inside the guest */
        bool read_only;
        bool tmpfs;
} CustomMount;

/* The size of the machine's tmpfs mounts (/tmp, /run, /dev/shm, --tmpfs): tmpfs pins what is
 * written there beyond the OOM killer's reach, so each is capped (systemd-nspawn's caps). */
#define TMPFS_SIZE_DEFAULT "10%"
#define TMPFS_SIZE_MIN     (UINT64_C(1) << 20)

typedef enum {
        MOUNT_FS,           /* mount a fresh filesystem */
        MOUNT_BIND_SELF,    /* bind a path onto itself (to keep it writable under a read-only parent) */
        MOUNT_BIND_SELF_RO, /* bind a path onto itself, recursively, and make it read-only */
        MOUNT_INACCESSIBLE, /* cover a file with an empty, mode 0000, read-only file */
        MOUNT_MAKE_INACCESSIBLE_SOURCE, /* create the file the entries above use */
} MountOp;

enum {
        MOUNT_OPTIONAL = 1 << 0,   /* skip when the target does not exist (e.g. /proc/acpi) */
        MOUNT_NETNS_ONLY = 1 << 1, /* only with a private network namespace */
        MOUNT_NO_MKDIR = 1 << 2,   /* never create the target */
        /* Under -U, made from outside the user namespace (mounts_apply_table's MOUNT_PHASE_OUTER),
         * so that the guest gets them locked (MNT_LOCKED): it can neither unmount these masks nor
         * mount a proc or sysfs without them (the kernel finds such a mount "too revealing"). */
        MOUNT_OUTER = 1 << 3,
        MOUNT_SIZED = 1 << 4, /* a tmpfs capped at --tmpfs-size= (TMPFS_SIZE_DEFAULT) */
        /* A tmpfs the guest fills (/dev, /run, /tmp…): under -U made from outside too, so that
         * its nosuid/nodev come locked, owned by the guest's root (uid=, gid=). */
        MOUNT_GUEST_TMPFS = 1 << 5,
};

typedef enum {
        MOUNT_PHASE_ALL,   /* no user namespace: everything, from the child */
        MOUNT_PHASE_INNER, /* -U, the child: everything but MOUNT_OUTER and MOUNT_GUEST_TMPFS */
        MOUNT_PHASE_OUTER, /* -U, a helper of the supervisor: only those */
} MountPhase;

typedef struct {
        MountOp op;
        const char *what;
        const char *where;
        const char *type;
        unsigned long flags;
        const char *options;
        unsigned mode;
} MountEntry;

/* The API filesystems every machine gets, in order. */
extern const MountEntry mount_table[];
extern const size_t mount_table_size;

/* Where the source of MOUNT_INACCESSIBLE entries lives inside the guest. */
#define INACCESSIBLE_FILE "/run/host/inaccessible"

/* What a pass over the table needs besides the tree. */
typedef struct {
        MountPhase phase;
        bool own_netns;
        int inaccessible; /* the source of MOUNT_INACCESSIBLE entries, an O_PATH fd, or -EBADF
                           * for INACCESSIBLE_FILE in the tree (made by the table itself) */
        const char
                *tmpfs_size; /* the size= of MOUNT_SIZED entries (the spec's); NULL or "" for the default */
        uint32_t uid_shift;  /* MOUNT_PHASE_OUTER: the host uid (and gid) of the guest's root */
} MountTableArgs;

/* Apply the table (the entries of one phase) under the tree at rootfd (a mount point, still
 * reachable from the host). */
int mounts_apply_table(int rootfd, const MountTableArgs *a, char *err, size_t errlen);

/* Detached copies of the bind sources (open_tree, read-only ones made so), made by the supervisor
 * as the host's root before each clone: fds[i] for m[i], -EBADF for a tmpfs. The child inherits
 * them and only has to attach them, which works even from a user namespace that could not open
 * the sources. Per boot: they are used up by the attach. */
typedef struct {
        int *fds;
        size_t n;
} MountSources;
int mounts_open_sources(const CustomMount *m, size_t n, MountSources *ret, char *err, size_t errlen);
void mounts_close_sources(MountSources *s);

/* --bind, --bind-ro, --tmpfs. staged: NULL to attach the sources' detached copies (src), or under
 * -U the directory the supervisor attached them in (m[i] at staged/i, userns-mounts.h), to bind
 * from: the copies there carry their flags locked. */
int mounts_apply_custom(int rootfd, const CustomMount *m, size_t n, const MountSources *src,
                        const char *staged, const char *tmpfs_size, char *err, size_t errlen);

/* The host's os-release file, or NULL when it has none. */
const char *mounts_host_os_release(void);

/* Make the mount at fd (path resolved freshly) read-only, keeping nosuid/nodev/noexec. */
int mount_remount_read_only(const char *path);
