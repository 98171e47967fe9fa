/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/systemd-scope.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "nspawnlite/basic/dlopen-util.h"
#include "nspawnlite/basic/macro.h"

bool systemd_booted(void) {
        return access("/run/systemd/system/", F_OK) >= 0;
}

/* The sd-bus calls used here, looked up in libsystemd.so.0 when needed. */
typedef struct {
        void *handle;
        typeof(&sd_bus_open_system) sd_bus_open_system;
        typeof(&sd_bus_flush_close_unref) sd_bus_flush_close_unref;
        typeof(&sd_bus_message_new_method_call) sd_bus_message_new_method_call;
        typeof(&sd_bus_message_append) sd_bus_message_append;
        typeof(&sd_bus_message_append_array) sd_bus_message_append_array;
        typeof(&sd_bus_message_open_container) sd_bus_message_open_container;
        typeof(&sd_bus_message_close_container) sd_bus_message_close_container;
        typeof(&sd_bus_message_read) sd_bus_message_read;
        typeof(&sd_bus_message_unref) sd_bus_message_unref;
        typeof(&sd_bus_call) sd_bus_call;
        typeof(&sd_bus_error_free) sd_bus_error_free;
        typeof(&sd_bus_error_has_name) sd_bus_error_has_name;
        typeof(&sd_bus_match_signal) sd_bus_match_signal;
        typeof(&sd_bus_process) sd_bus_process;
        typeof(&sd_bus_wait) sd_bus_wait;
        typeof(&sd_bus_slot_unref) sd_bus_slot_unref;
        typeof(&sd_bus_get_property_string) sd_bus_get_property_string;
        typeof(&sd_bus_match_signal_async) sd_bus_match_signal_async;
        typeof(&sd_bus_call_async) sd_bus_call_async;
        typeof(&sd_bus_message_get_error) sd_bus_message_get_error;
        typeof(&sd_bus_message_get_errno) sd_bus_message_get_errno;
        typeof(&sd_bus_message_get_sender) sd_bus_message_get_sender;
        typeof(&sd_bus_get_unique_name) sd_bus_get_unique_name;
        typeof(&sd_bus_path_encode) sd_bus_path_encode;
        typeof(&sd_bus_get_fd) sd_bus_get_fd;
        typeof(&sd_bus_get_events) sd_bus_get_events;
        typeof(&sd_bus_get_timeout) sd_bus_get_timeout;
} BusApi;

/* The loaded library and the connection. Between systemd_bus_hold() and systemd_bus_release() they
 * stay open for the next call (a machine's start makes two or three), and while we control a
 * scope (watch below); otherwise each call closes them, so that a supervisor keeps nothing of
 * libsystemd mapped. */
static struct {
        BusApi api;
        sd_bus *bus;
        bool hold;
} session;

/* The call to machined in flight between machined_*_send() and machined_*_finish(). */
static struct {
        sd_bus_slot *slot;
        bool done;
        int error;         /* -errno from the reply; -EHOSTDOWN: machined is not on the bus */
        char message[256]; /* the bus's message with it */
        char name[65];
} pending;

/* The scope we control: the match of its RequestStop, and whether one came. */
static struct {
        sd_bus_slot *slot;
        bool stop_requested;
        char systemd[64];    /* systemd's unique name on the bus, as last asked */
        uint64_t asked_usec; /* when it was asked (CLOCK_MONOTONIC) */
} watch;

static void session_close(void) {
        if (!session.api.handle)
                return;
        watch.slot = session.api.sd_bus_slot_unref(watch.slot);
        watch.stop_requested = false;
        pending.slot = session.api.sd_bus_slot_unref(pending.slot); /* its bus goes */
        session.api.sd_bus_flush_close_unref(session.bus);
        dlclose(session.api.handle);
        session = (typeof(session)){ .hold = session.hold };
}

void systemd_bus_hold(void) {
        session.hold = true;
}

void systemd_bus_release(void) {
        session.hold = false;
        if (!watch.slot)
                session_close();
}

static int session_open(char *err, size_t errlen) {
        if (session.api.handle)
                return 0;
        BusApi *a = &session.api;
        const DlSymbol symbols[] = {
                DL_FIELD(a, sd_bus_open_system),
                DL_FIELD(a, sd_bus_flush_close_unref),
                DL_FIELD(a, sd_bus_message_new_method_call),
                DL_FIELD(a, sd_bus_message_append),
                DL_FIELD(a, sd_bus_message_append_array),
                DL_FIELD(a, sd_bus_message_open_container),
                DL_FIELD(a, sd_bus_message_close_container),
                DL_FIELD(a, sd_bus_message_read),
                DL_FIELD(a, sd_bus_message_unref),
                DL_FIELD(a, sd_bus_call),
                DL_FIELD(a, sd_bus_error_free),
                DL_FIELD(a, sd_bus_error_has_name),
                DL_FIELD(a, sd_bus_match_signal),
                DL_FIELD(a, sd_bus_process),
                DL_FIELD(a, sd_bus_wait),
                DL_FIELD(a, sd_bus_slot_unref),
                DL_FIELD(a, sd_bus_get_property_string),
                DL_FIELD(a, sd_bus_match_signal_async),
                DL_FIELD(a, sd_bus_call_async),
                DL_FIELD(a, sd_bus_message_get_error),
                DL_FIELD(a, sd_bus_message_get_errno),
                DL_FIELD(a, sd_bus_message_get_sender),
                DL_FIELD(a, sd_bus_get_unique_name),
                DL_FIELD(a, sd_bus_path_encode),
                DL_FIELD(a, sd_bus_get_fd),
                DL_FIELD(a, sd_bus_get_events),
                DL_FIELD(a, sd_bus_get_timeout),
        };
        if (dlopen_symbols(&a->handle, SONAME_SYSTEMD, symbols, ELEMENTSOF(symbols)) < 0) {
                const char *e = dlerror();
                snprintf(err, errlen, "Failed to load libsystemd: %s", e ? e : "a symbol is missing");
                return -ENOPKG;
        }
        int r = session.api.sd_bus_open_system(&session.bus);
        if (r < 0) {
                snprintf(err, errlen, "Failed to connect to the system bus: %s", strerror(-r));
                session.bus = NULL;
                session_close();
        }
        return r;
}

/* One call over the session: its messages and error. */
typedef struct {
        BusApi api;
        sd_bus *bus;
        sd_bus_message *msg, *reply;
        sd_bus_error error;
} BusCall;

static void bus_call_done(BusCall *c) {
        if (!c->api.handle)
                return;
        c->api.sd_bus_error_free(&c->error);
        c->api.sd_bus_message_unref(c->msg);
        c->api.sd_bus_message_unref(c->reply);
        *c = (BusCall){ .error = SD_BUS_ERROR_NULL };
        if (!session.hold && !watch.slot)
                session_close();
}

static int bus_call_open(BusCall *c, char *err, size_t errlen) {
        *c = (BusCall){ .error = SD_BUS_ERROR_NULL };
        int r = session_open(err, errlen);
        if (r < 0)
                return r;
        c->api = session.api;
        c->bus = session.bus;
        return 0;
}

#define SYSTEMD_DEST \
        "org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager"
#define MACHINED_DEST \
        "org.freedesktop.machine1", "/org/freedesktop/machine1", "org.freedesktop.machine1.Manager"
#define BUS_TIMEOUT_USEC (25ULL * 1000 * 1000)

/* Send c->msg; on failure err says what and why ("WHAT: the bus's message"). */
static int bus_call_send(BusCall *c, const char *what, char *err, size_t errlen) {
        int r = c->api.sd_bus_call(c->bus, c->msg, BUS_TIMEOUT_USEC, &c->error, &c->reply);
        if (r < 0)
                snprintf(err, errlen, "%s: %s", what, c->error.message ?: strerror(-r));
        return r;
}

static const struct {
        const char *property;
        uint64_t scale; /* the value times this, infinity stays */
} unit_properties[_LIMIT_MAX] = {
        [LIMIT_MEMORY_MAX] = { "MemoryMax", 1 },
        [LIMIT_CPU_WEIGHT] = { "CPUWeight", 1 },
        [LIMIT_CPU_QUOTA] = { "CPUQuotaPerSecUSec", 10000 }, /* percent of a CPU → µs per s */
        [LIMIT_PIDS_MAX] = { "TasksMax", 1 },
        [LIMIT_IO_WEIGHT] = { "IOWeight", 1 },
};

const char *limit_unit_property(LimitKey k) {
        return k >= 0 && k < _LIMIT_MAX ? unit_properties[k].property : NULL;
}

uint64_t limit_unit_value(LimitKey k, uint64_t v) {
        return v == LIMIT_INFINITY ? UINT64_MAX : v * unit_properties[k].scale;
}

static int append_limits(BusCall *c, const Limits *l) {
        int r = 0;
        for (int k = 0; l && r >= 0 && k < _LIMIT_MAX; k++)
                if (l->set[k])
                        r = c->api.sd_bus_message_append(c->msg, "(sv)", limit_unit_property(k), "t",
                                                         limit_unit_value(k, l->value[k]));
        return r;
}

typedef struct {
        const BusApi *api;
        const char *job; /* set once the call has returned it */
        char result[32];
        bool done;
} JobWait;

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        JobWait *w = userdata;
        const char *path, *unit, *result;
        uint32_t id;
        if (!w->job || w->api->sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (strcmp(path, w->job) == 0) {
                snprintf(w->result, sizeof w->result, "%s", result);
                w->done = true;
        }
        return 0;
}

/* Whether systemd itself sent m: a signal may come from any peer of the bus (the bus's policy lets
 * anyone send one), and a stop is for systemd alone to ask. systemd's name is asked again when a
 * signal comes from another (its connection is a new one after a daemon-reexec), but at most once
 * a second: a flood of forged signals costs one round trip a second, not one each. */
static bool sent_by_systemd(sd_bus_message *m) {
        const BusApi *a = &session.api;
        const char *sender = a->sd_bus_message_get_sender(m);
        if (!sender)
                return false;
        if (strcmp(sender, watch.systemd) == 0)
                return true;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t now = (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
        if (watch.asked_usec && now - watch.asked_usec < 1000000u)
                return false;
        watch.asked_usec = now;

        sd_bus_message *call = NULL, *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *owner = NULL;
        int r = a->sd_bus_message_new_method_call(session.bus, &call, "org.freedesktop.DBus",
                                                  "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                                  "GetNameOwner");
        if (r >= 0)
                r = a->sd_bus_message_append(call, "s", "org.freedesktop.systemd1");
        if (r >= 0)
                r = a->sd_bus_call(session.bus, call, BUS_TIMEOUT_USEC, &e, &reply);
        if (r >= 0)
                r = a->sd_bus_message_read(reply, "s", &owner);
        if (r >= 0 && owner)
                snprintf(watch.systemd, sizeof watch.systemd, "%s", owner);
        bool ours = r >= 0 && owner && strcmp(sender, owner) == 0;
        a->sd_bus_error_free(&e);
        a->sd_bus_message_unref(call);
        a->sd_bus_message_unref(reply);
        return ours;
}

static int on_request_stop(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        if (sent_by_systemd(m))
                watch.stop_requested = true;
        return 0;
}

int systemd_scope_watch_fd(short *ret_events, uint64_t *ret_deadline_usec) {
        if (!watch.slot)
                return -EBADF;
        int fd = session.api.sd_bus_get_fd(session.bus);
        int events = session.api.sd_bus_get_events(session.bus);
        uint64_t deadline = UINT64_MAX;
        if (fd < 0 || events < 0)
                return fd < 0 ? fd : events;
        /* Messages sd-bus has read already (while a registration's reply was awaited) make the
         * deadline now; so does a request seen then. */
        if (watch.stop_requested || session.api.sd_bus_get_timeout(session.bus, &deadline) < 0)
                deadline = 0;
        *ret_events = (short) events;
        *ret_deadline_usec = deadline;
        return fd;
}

int systemd_scope_watch_process(void) {
        if (!watch.slot)
                return 0;
        /* A bounded number a wakeup: what is left makes the next deadline now (watch_fd), so a
         * flood of messages cannot keep the supervisor from its other duties. */
        int r = 1;
        for (unsigned i = 0; i < 64 && r > 0; i++)
                r = session.api.sd_bus_process(session.bus, NULL);
        if (r < 0) {
                systemd_scope_unwatch();
                return r;
        }
        bool stop = watch.stop_requested;
        watch.stop_requested = false;
        return stop;
}

void systemd_scope_unwatch(void) {
        if (!watch.slot)
                return;
        watch.slot = session.api.sd_bus_slot_unref(watch.slot);
        watch.stop_requested = false;
        if (!session.hold)
                session_close();
}

/* Before the unit exists: a stop right after its start finds the match in place. */
static int watch_stop_requests(BusCall *c, const char *unit, sd_bus_slot **ret_slot, char *err,
                               size_t errlen) {
        char *path = NULL;
        int r = c->api.sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path);
        if (r >= 0)
                r = c->api.sd_bus_match_signal_async(c->bus, ret_slot, "org.freedesktop.systemd1", path,
                                                     "org.freedesktop.systemd1.Scope", "RequestStop",
                                                     on_request_stop, NULL, NULL);
        free(path);
        if (r < 0)
                snprintf(err, errlen, "Failed to watch unit %s for stop requests: %s", unit, strerror(-r));
        return r;
}

int systemd_scope_start(const ScopeUnitSpec *u, char *err, size_t errlen) {
        BusCall c;
        int r = bus_call_open(&c, err, errlen);
        if (r < 0)
                return r;
        JobWait wait = { .api = &c.api };
        sd_bus_slot *slot = NULL, *stop_slot = NULL;
        const char *controller = NULL;
        if (u->controller && (r = c.api.sd_bus_get_unique_name(c.bus, &controller)) < 0) {
                snprintf(err, errlen, "Failed to get our name on the system bus: %s", strerror(-r));
                goto out;
        }
        if (u->controller && (r = watch_stop_requests(&c, u->unit, &stop_slot, err, errlen)) < 0)
                goto out;
        /* Before the call: a JobRemoved that comes with its reply is queued, not lost. Without
         * waiting for the match's own reply: the bus applies a connection's messages in order, so
         * it is in place before systemd sees the call (a failed match closes the connection, and
         * the wait below ends with that). */
        r = c.api.sd_bus_match_signal_async(c.bus, &slot, "org.freedesktop.systemd1",
                                            "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                            "JobRemoved", on_job_removed, NULL, &wait);
        if (r < 0) {
                snprintf(err, errlen, "Failed to watch systemd's jobs: %s", strerror(-r));
                goto out;
        }
        r = c.api.sd_bus_message_new_method_call(c.bus, &c.msg, SYSTEMD_DEST, "StartTransientUnit");
        if (r >= 0)
                r = c.api.sd_bus_message_append(c.msg, "ss", u->unit, "fail");
        if (r >= 0)
                r = c.api.sd_bus_message_open_container(c.msg, 'a', "(sv)");
        if (r >= 0)
                r = c.api.sd_bus_message_append(c.msg, "(sv)(sv)(sv)(sv)(sv)", "Description", "s",
                                                u->description, "Slice", "s", u->slice, "Delegate", "b", 1,
                                                "CollectMode", "s", "inactive-or-failed", "PIDs", "au", 1,
                                                (uint32_t) u->pid);
        if (r >= 0 && controller)
                r = c.api.sd_bus_message_append(c.msg, "(sv)", "Controller", "s", controller);
        if (r >= 0)
                r = append_limits(&c, u->limits);
        if (r >= 0)
                r = c.api.sd_bus_message_close_container(c.msg);
        if (r >= 0)
                r = c.api.sd_bus_message_append(c.msg, "a(sa(sv))", 0);
        if (r < 0) {
                snprintf(err, errlen, "Failed to build the request for unit %s: %s", u->unit, strerror(-r));
                goto out;
        }
        char what[256];
        snprintf(what, sizeof what, "Failed to start unit %s in %s", u->unit, u->slice);
        r = bus_call_send(&c, what, err, errlen);
        if (r < 0) {
                if (c.api.sd_bus_error_has_name(&c.error, "org.freedesktop.systemd1.UnitExists"))
                        r = -EEXIST;
                goto out;
        }
        const char *job;
        r = c.api.sd_bus_message_read(c.reply, "o", &job);
        if (r < 0) {
                snprintf(err, errlen, "%s: unexpected reply from systemd", what);
                goto out;
        }
        wait.job = job;
        /* Bounded: a scope's job only moves the pid and makes the cgroup. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t now = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000,
                 end = now + BUS_TIMEOUT_USEC;
        while (!wait.done && now < end) {
                r = c.api.sd_bus_process(c.bus, NULL);
                if (r < 0)
                        break;
                if (r == 0 && (r = c.api.sd_bus_wait(c.bus, end - now)) < 0)
                        break;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                now = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
        }
        if (!wait.done) {
                r = r < 0 ? r : -ETIMEDOUT;
                snprintf(err, errlen, "%s: no end of its job %s (%s)", what, job, strerror(-r));
        } else if (strcmp(wait.result, "done") != 0) {
                r = -EIO;
                snprintf(err, errlen, "%s: its job ended with '%s' (see journalctl -u %s)", what, wait.result,
                         u->unit);
        } else
                r = 0;
out:
        c.api.sd_bus_slot_unref(slot); /* its userdata is on this stack */
        if (r >= 0 && stop_slot)       /* before bus_call_done(): the connection stays for it */
                watch.slot = TAKE_PTR(stop_slot);
        c.api.sd_bus_slot_unref(stop_slot);
        bus_call_done(&c);
        return r;
}

int systemd_unit_set_limit(const char *unit, LimitKey k, uint64_t v, char *err, size_t errlen) {
        BusCall c;
        int r = bus_call_open(&c, err, errlen);
        if (r < 0)
                return r;
        r = c.api.sd_bus_message_new_method_call(c.bus, &c.msg, SYSTEMD_DEST, "SetUnitProperties");
        if (r >= 0)
                r = c.api.sd_bus_message_append(c.msg, "sba(sv)", unit, 1, 1, limit_unit_property(k), "t",
                                                limit_unit_value(k, v));
        if (r < 0)
                snprintf(err, errlen, "Failed to build the request for unit %s: %s", unit, strerror(-r));
        else {
                char what[256];
                snprintf(what, sizeof what, "Failed to set %s of unit %s", limit_unit_property(k), unit);
                r = bus_call_send(&c, what, err, errlen);
        }
        bus_call_done(&c);
        return r;
}

/* c's request: machined's METHOD with the machine's NAME as its first argument; what an earlier
 * call on c left is dropped. */
static int machined_call_new(BusCall *c, const char *method, const char *name) {
        c->msg = c->api.sd_bus_message_unref(c->msg);
        c->reply = c->api.sd_bus_message_unref(c->reply);
        int r = c->api.sd_bus_message_new_method_call(c->bus, &c->msg, MACHINED_DEST, method);
        return r < 0 ? r : c->api.sd_bus_message_append(c->msg, "s", name);
}

/* Whether an error says machined is not there to ask: not on the bus, or its bus activation
 * refused because the unit is masked or missing (systemctl mask systemd-machined). */
static bool machined_absent(const BusApi *a, const sd_bus_error *e) {
        static const char *const names[] = {
                "org.freedesktop.DBus.Error.ServiceUnknown",
                "org.freedesktop.DBus.Error.NameHasNoOwner",
                "org.freedesktop.systemd1.UnitMasked",
                "org.freedesktop.systemd1.NoSuchUnit",
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (a->sd_bus_error_has_name(e, names[i]))
                        return true;
        return false;
}

static int on_pending_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const BusApi *a = &session.api;
        const sd_bus_error *e = a->sd_bus_message_get_error(m);
        pending.done = true;
        if (!e)
                return 0;
        pending.error = a->sd_bus_message_get_errno(m) > 0 ? -a->sd_bus_message_get_errno(m) : -EIO;
        if (machined_absent(a, e))
                pending.error = -EHOSTDOWN;
        snprintf(pending.message, sizeof pending.message, "%s", e->message ?: strerror(-pending.error));
        return 0;
}

int machined_register_send(const MachineRegistration *m, char *err, size_t errlen) {
        if (!session.hold)
                return -EINVAL; /* the reply comes on this connection: it must stay open */
        BusCall c;
        int r = bus_call_open(&c, err, errlen);
        if (r < 0)
                return r;
        pending.slot = c.api.sd_bus_slot_unref(pending.slot);
        pending.done = false;
        pending.error = 0;
        pending.message[0] = 0;
        snprintf(pending.name, sizeof pending.name, "%s", m->name);
        r = machined_call_new(&c, "RegisterMachineWithNetwork", m->name);
        if (r >= 0)
                r = c.api.sd_bus_message_append_array(c.msg, 'y', m->uuid, 16);
        if (r >= 0)
                r = c.api.sd_bus_message_append(c.msg, "ssus", "nspawnlite", "container",
                                                (uint32_t) m->leader, m->root_directory);
        if (r >= 0)
                r = c.api.sd_bus_message_append_array(c.msg, 'i', m->ifindices, m->n_ifindices * sizeof(int));
        if (r < 0)
                snprintf(err, errlen, "Failed to build the registration of %s: %s", m->name, strerror(-r));
        else if ((r = c.api.sd_bus_call_async(c.bus, &pending.slot, c.msg, on_pending_reply, NULL,
                                              BUS_TIMEOUT_USEC)) < 0)
                snprintf(err, errlen, "Failed to register machine %s with systemd-machined: %s", m->name,
                         strerror(-r));
        bus_call_done(&c);
        return r;
}

static int pending_finish(const char *what, char *err, size_t errlen) {
        if (!pending.slot || !session.bus)
                return -EINVAL;
        int r = 0;
        /* Bounded: sd-bus answers a call that timed out with an error reply of its own. */
        while (!pending.done) {
                r = session.api.sd_bus_process(session.bus, NULL);
                if (r == 0)
                        r = session.api.sd_bus_wait(session.bus, UINT64_MAX);
                if (r < 0)
                        break;
        }
        pending.slot = session.api.sd_bus_slot_unref(pending.slot);
        if (!pending.done) {
                snprintf(err, errlen, "Failed to %s machine %s with systemd-machined: %s", what, pending.name,
                         strerror(-r));
                return r;
        }
        if (pending.error < 0)
                snprintf(err, errlen, "Failed to %s machine %s with systemd-machined: %s", what, pending.name,
                         pending.message);
        return pending.error;
}

int machined_register_finish(char *err, size_t errlen) {
        return pending_finish("register", err, errlen);
}

int machined_unregister_send(const char *name) {
        if (!session.hold)
                return -EINVAL;
        BusCall c;
        char err[256];
        int r = bus_call_open(&c, err, sizeof err);
        if (r < 0)
                return r;
        pending = (typeof(pending)){ .slot = c.api.sd_bus_slot_unref(pending.slot) };
        snprintf(pending.name, sizeof pending.name, "%s", name);
        r = machined_call_new(&c, "UnregisterMachine", name);
        if (r >= 0)
                r = c.api.sd_bus_call_async(c.bus, &pending.slot, c.msg, on_pending_reply, NULL,
                                            BUS_TIMEOUT_USEC);
        bus_call_done(&c);
        return r;
}

int machined_unregister_finish(void) {
        char err[256];
        return pending_finish("unregister", err, sizeof err);
}

int machined_unregister(const char *name) {
        BusCall c;
        char err[256];
        int r = bus_call_open(&c, err, sizeof err);
        if (r < 0)
                return r;
        r = machined_call_new(&c, "UnregisterMachine", name);
        if (r >= 0)
                r = bus_call_send(&c, "unregister", err, sizeof err);
        bus_call_done(&c);
        return r;
}

int machined_forget(const char *name, const char *unit) {
        BusCall c;
        char err[256];
        int r = bus_call_open(&c, err, sizeof err);
        if (r < 0)
                return r;
        r = machined_call_new(&c, "GetMachine", name);
        if (r >= 0 && (r = bus_call_send(&c, "get", err, sizeof err)) < 0 &&
            (c.api.sd_bus_error_has_name(&c.error, "org.freedesktop.machine1.NoSuchMachine") ||
             machined_absent(&c.api, &c.error))) {
                bus_call_done(&c);
                return 0;
        }
        const char *path = NULL;
        if (r >= 0)
                r = c.api.sd_bus_message_read(c.reply, "o", &path);
        char *u = NULL;
        if (r >= 0)
                r = c.api.sd_bus_get_property_string(c.bus, "org.freedesktop.machine1", path,
                                                     "org.freedesktop.machine1.Machine", "Unit", NULL, &u);
        /* Another machine of that name, in another unit, is not ours to end. */
        bool ours = r >= 0 && u && strcmp(u, unit) == 0;
        free(u);
        if (ours) {
                r = machined_call_new(&c, "UnregisterMachine", name);
                if (r >= 0)
                        r = bus_call_send(&c, "unregister", err, sizeof err);
        }
        bus_call_done(&c);
        return r < 0 ? r : ours;
}

int systemd_unit_files_enable(const char *const *units, bool enable, char *err, size_t errlen) {
        BusCall c;
        int r = bus_call_open(&c, err, errlen);
        if (r < 0)
                return r;
        r = c.api.sd_bus_message_new_method_call(c.bus, &c.msg, SYSTEMD_DEST,
                                                 enable ? "EnableUnitFiles" : "DisableUnitFiles");
        if (r >= 0)
                r = c.api.sd_bus_message_open_container(c.msg, 'a', "s");
        for (const char *const *u = units; r >= 0 && *u; u++)
                r = c.api.sd_bus_message_append(c.msg, "s", *u);
        if (r >= 0)
                r = c.api.sd_bus_message_close_container(c.msg);
        if (r >= 0)
                r = enable ? c.api.sd_bus_message_append(c.msg, "bb", 0, 0)
                           : c.api.sd_bus_message_append(c.msg, "b", 0);
        if (r < 0) {
                snprintf(err, errlen, "Failed to build the request for %s: %s", units[0], strerror(-r));
                goto out;
        }
        char what[256];
        snprintf(what, sizeof what, "Failed to %s %s", enable ? "enable" : "disable", units[0]);
        r = bus_call_send(&c, what, err, errlen);
        if (r < 0)
                goto out;
        /* Like systemctl: the manager reads the changed symlinks now. */
        c.api.sd_bus_message_unref(c.msg);
        c.api.sd_bus_message_unref(c.reply);
        c.msg = c.reply = NULL;
        r = c.api.sd_bus_message_new_method_call(c.bus, &c.msg, SYSTEMD_DEST, "Reload");
        if (r >= 0)
                r = bus_call_send(&c, "Failed to reload systemd", err, errlen);
out:
        bus_call_done(&c);
        return r;
}
