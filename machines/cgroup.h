/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "machines/cgroup-limits.h"

/* A machine's cgroup: PARENT/machine-NAME.scope with the guest in …/payload, which becomes the root
 * of the guest's cgroup namespace. PARENT is "machine.slice" unless $NSPAWNLITE_CGROUP_PARENT says
 * otherwise (tests use their own). Two backends behind one interface, chosen at run time:
 *   unified: a pure cgroup2 host, controllers enabled down the path;
 *   hybrid:  v1 controller hierarchies plus cgroup2 at /sys/fs/cgroup/unified (no controllers). */

typedef enum {
        CGROUP_LAYOUT_UNIFIED,
        CGROUP_LAYOUT_HYBRID,
} CgroupLayout;

typedef struct MachineCgroup MachineCgroup;

/* Who makes the scope: we (a host without systemd), or systemd (machine_cgroup_use_systemd()). */
typedef enum {
        CGROUP_UNIT_NONE,
        CGROUP_UNIT_TRANSIENT, /* a transient unit machine-NAME.scope, Delegate=yes */
        CGROUP_UNIT_KEEP,      /* --keep-unit: the unit the supervisor runs in */
} CgroupUnitMode;

typedef struct {
        const char *name;
        /* Find the hierarchies (reads only). */
        int (*init)(MachineCgroup *cg);
        /* Create the cgroup in every hierarchy of the backend. */
        int (*create)(MachineCgroup *cg);
        /* Open, for writing, the files through which a process joins payload in the hierarchies
         * that clone3(CLONE_INTO_CGROUP) does not cover (cg->join_fds); NULL when there are none. */
        int (*open_join)(MachineCgroup *cg);
        /* Restrict device access to the machine's nodes; -EOPNOTSUPP if this backend cannot. */
        int (*restrict_devices)(MachineCgroup *cg);
        /* Remove the cgroup everywhere (the processes must be gone or going). */
        int (*destroy)(MachineCgroup *cg);
        /* Limits go on the scope, out of the guest's reach (its namespace root is payload). */
        int (*set_limit)(MachineCgroup *cg, LimitKey key, uint64_t value);
        int (*read_stats)(MachineCgroup *cg, CgroupStats *ret);
        int (*freeze)(MachineCgroup *cg, bool frozen);
        /* SIGKILL every process of the machine. */
        int (*kill_all)(MachineCgroup *cg);
        /* cgroup v1's freezer: a frozen task does not die of SIGKILL, not even of the
         * PR_SET_PDEATHSIG that ties the guest to its supervisor (see machine_cgroup_watch_start()). */
        bool frozen_survives_sigkill;
} CgroupBackend;

#define CGROUP_V1_MAX 16

struct MachineCgroup {
        const CgroupBackend *backend;
        char *name;
        char *parent;       /* "machine.slice", relative to each hierarchy's root */
        char *scope;        /* "machine.slice/machine-NAME.scope" */
        char *payload;      /* "machine.slice/machine-NAME.scope/payload" */
        char *unified_root; /* where cgroup2 is mounted on the host */
        char *v1_roots[CGROUP_V1_MAX];
        size_t n_v1;
        bool created_parent;
        /* Proved to be this runtime dir's (made by us, or carrying our marker): only then may it
         * be killed or removed (machine_cgroup_claim()). */
        bool owned;
        bool devices_restricted;
        int payload_fd;              /* the unified payload directory, for CLONE_INTO_CGROUP */
        int join_fds[CGROUP_V1_MAX]; /* v1: payload's "tasks", see machine_cgroup_join_self() */
        size_t n_join_fds;
        char *supervisor_origin; /* unified: where the supervisor was before it moved to …/supervisor */
        CgroupUnitMode unit_mode;
        char *unit;                /* the scope's unit on systemd hosts */
        char *slice;               /* where a transient unit goes */
        const Limits *unit_limits; /* unit properties at creation */
        char unit_error[512];      /* why systemd did not make the unit (create failed) */
        int unit_fallback;         /* -errno: systemd could not be asked, the cgroups were made directly */
};

int cgroup_detect_layout(CgroupLayout *ret);

/* Fill in paths for a validated machine name and pick the backend. Touches nothing: also how a
 * machine whose supervisor is gone is found again (gc). */
int machine_cgroup_init(MachineCgroup *cg, const char *name);
/* The same for a machine whose state file recorded its scope (a --slice=, or the unit it kept) and
 * unit: what gc acts on. Refuses (-EINVAL) a recorded path that is not a plain relative one. */
int machine_cgroup_init_recorded(MachineCgroup *cg, const char *name, const char *scope, const char *unit,
                                 bool kept);
int machine_cgroup_create(MachineCgroup *cg);
/* On a host where systemd is PID 1 (and $NSPAWNLITE_CGROUP_PARENT is unset, which asks for a
 * cgroup path of its own), with a cgroup2-only tree: let create ask systemd for the scope, a
 * transient unit in slice (NULL: machine.slice) with limits as its properties, or with keep_unit
 * use the unit we run in. Returns whether it did; otherwise create works as without systemd. */
int machine_cgroup_use_systemd(MachineCgroup *cg, const char *slice, bool keep_unit, const Limits *limits);
/* Put pid in the unified payload: only needed where clone3(CLONE_INTO_CGROUP) failed. */
int machine_cgroup_attach_unified(MachineCgroup *cg, pid_t pid);
/* Joining the v1 hierarchies is done by the joining process itself, single-threaded, by writing
 * "0" to each "tasks" file: moving only the calling thread skips the global threadgroup lock whose
 * writer side waits for an RCU grace period (~10 ms, the bulk of a short "run"), which writing a
 * pid to cgroup.procs takes. The files are opened by the supervisor (open_join) before the clone,
 * so that the check on the opener's credentials holds in a fresh user namespace too. */
int machine_cgroup_open_join(MachineCgroup *cg);
int machine_cgroup_join_self(const MachineCgroup *cg);
void machine_cgroup_close_join(MachineCgroup *cg);
/* Recreate the unified payload, empty, before a guest starts again in it (reboot). */
int machine_cgroup_reset_payload(MachineCgroup *cg);
/* SIGKILL whatever is left in the machine's cgroup (nothing to do when it is empty). Both this and
 * destroy refuse (-EPERM) a cgroup not proved ours (cg->owned). */
int machine_cgroup_kill_all(MachineCgroup *cg);
int machine_cgroup_destroy(MachineCgroup *cg);
void machine_cgroup_done(MachineCgroup *cg);
/* What the machine verbs and the supervisor do to a cgroup: the backend's operations, -EOPNOTSUPP
 * where no backend was found. Nobody outside machines/ reaches the backend itself. */
int machine_cgroup_freeze(MachineCgroup *cg, bool frozen);
int machine_cgroup_set_limit(MachineCgroup *cg, LimitKey key, uint64_t value);
int machine_cgroup_read_stats(MachineCgroup *cg, CgroupStats *ret);
bool machine_cgroup_is_unified(const MachineCgroup *cg);
/* gc: add to *names the machines that have a scope under the parent in any hierarchy (a v1 one
 * may outlive the unified one), and remove the parent slices once nothing lives there. */
int machine_cgroup_list_scopes(const MachineCgroup *cg, char ***names);
void machine_cgroup_remove_parent(const MachineCgroup *cg);
/* Hand the unified payload to uid (the guest's root under -U), so its init can manage it. */
int machine_cgroup_delegate(MachineCgroup *cg, uid_t uid);

/* Ownership. PARENT is shared with others (systemd-machined puts systemd-nspawn's containers in
 * machine.slice too, and several runtime dirs may share one parent), so nspawnlite acts only on a
 * scope it can prove it made: each scope directory it makes carries the xattr CGROUP_OWNER_XATTR,
 * "ID RUNTIME_DIR", ID being the runtime dir's own random id (RUNTIME/id). */
#define CGROUP_OWNER_XATTR "trusted.nspawnlite.owner"

/* This runtime dir's id (32 hex digits), made on first use when create is set; -ENOENT without. */
int runtime_id(bool create, char ret[static 33]);

/* Whether the machine's scope may be acted on: 0 when it exists nowhere, 1 when it exists and is
 * this runtime dir's in every hierarchy (cg->owned is then set); -EEXIST when it is someone
 * else's, with ret_path the scope directory in question and ret_why a short reason ("no
 * nspawnlite marker", "made by the nspawnlite of runtime dir X"). */
int machine_cgroup_claim(MachineCgroup *cg, char *ret_path, size_t path_len, char *ret_why, size_t why_len);
/* The same check for one hierarchy: 0 absent, 1 ours, -EEXIST not. */
int cgroup_scope_claim_at(const MachineCgroup *cg, const char *root, char *ret_why, size_t why_len);
/* Around the making of the scope directories (see cgroup-owner.c). */
int cgroup_creating_begin(const MachineCgroup *cg);
void cgroup_creating_end(const MachineCgroup *cg);
/* Make ROOT/scope and mark it ours, or accept it when it is ours already; -EEXIST when someone
 * else's is there. Then ROOT/payload. ret_created_parent as cgroup_mkdir_p()'s. */
int cgroup_create_scope(MachineCgroup *cg, const char *root, bool *ret_created_parent);
/* Mark ROOT/scope ours: one systemd made for us. */
int cgroup_mark_scope(const MachineCgroup *cg, const char *root);

/* Kill machine NAME through its cgroup alone, after the ownership check: for when its supervisor
 * does not answer (stopped, hung). -ESRCH when it has no cgroup, -EEXIST (ret_why as above) when
 * the cgroup is not this runtime dir's. */
int machine_cgroup_kill_by_name(const char *name, char *ret_why, size_t why_len);

/* While a machine is frozen on a backend whose frozen tasks survive SIGKILL, a small watcher
 * process holds the read end of a pipe whose write end (*ret_fd) only the supervisor has: when the
 * supervisor dies (EOF), the watcher thaws and kills the machine, so that the guest dies with its
 * supervisor even then. machine_cgroup_watch_stop() (at thaw) sends it away with one byte. The
 * watcher acts through directory fds opened now, so it can never reach a later machine of the same
 * name. *ret_fd is -EBADF where no watcher is needed. */
int machine_cgroup_watch_start(MachineCgroup *cg, int *ret_fd);
void machine_cgroup_watch_stop(int *fd);

/* Validate and normalise a cgroup parent path like "machine.slice" or "a/b". -EINVAL for an
 * invalid one, -ENODATA for a set but empty $NSPAWNLITE_CGROUP_PARENT. */
int cgroup_parent_from_env(char **ret);
/* The one line to print for an error of cgroup_parent_from_env() (via machine_cgroup_init()). */
const char *cgroup_parent_error(int r);

/* Helpers shared by the backends. */
int cgroup_mkdir_p(const char *root, const char *path, bool *ret_created_first, const char *first);
int cgroup_write(const char *root, const char *path, const char *file, const char *value);
int cgroup_rmdir_retry(const char *root, const char *path);
/* Whether the parent slice may go when it is empty: always, unless systemd runs the host and owns
 * it; then only if we made it. */
bool cgroup_parent_removable(const MachineCgroup *cg);
int cgroup_read_u64(const char *root, const char *path, const char *file, uint64_t *ret);
/* SIGKILL every pid listed in ROOT/PATH (and below), a few rounds until none are left. */
int cgroup_kill_procs(const char *root, const char *path);
/* The same in the cgroup directory dfd (at most rounds rounds); -EBUSY when some are left. */
int cgroup_kill_procs_at(int dfd, int rounds);

extern const CgroupBackend cgroup_backend_unified;
extern const CgroupBackend cgroup_backend_hybrid;
