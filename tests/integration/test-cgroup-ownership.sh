#!/bin/bash
# nspawnlite acts only on cgroups it made: the cgroup parent is shared with others
# (systemd-machined puts systemd-nspawn's containers in machine.slice; several runtime dirs may
# share a parent). A foreign PARENT/machine-X.scope with a process in it survives gc, and boot -M X
# refuses it with one clear line; a live machine of another runtime dir survives gc; leftovers of
# nspawnlite's own dead machines still go, with gc and with the next boot of the name. Also: a
# frozen guest dies with its SIGKILLed supervisor (cgroup v1's frozen tasks ignore SIGKILL);
# terminate and kill --signal=KILL work while the supervisor is stopped; an empty
# NSPAWNLITE_CGROUP_PARENT is refused.
. "$(dirname "$0")/lib.sh"

TREE=$(guest busybox)
[ -x "$TREE/bin/busybox" ] || die "no busybox guest tree: '$TREE'"
MACHINES=$NSPAWNLITE_RUNTIME_DIR/machines
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then UNIFIED=/sys/fs/cgroup; else UNIFIED=/sys/fs/cgroup/unified; fi
RT_B=$WORK/runtime-b
mkdir -p "$RT_B" && chmod 0755 "$RT_B"

SUPERVISORS=()
FOREIGN_PIDS=()
trap 'rc=$?; set +e; for s in "${SUPERVISORS[@]}"; do kill -CONT "$s"; kill -KILL "$s"; done 2>/dev/null; (exit $rc); cleanup' EXIT

# the pids in a machine's scope (unified hierarchy), one line
scope_pids() { find "$UNIFIED/$NSPAWNLITE_CGROUP_PARENT/machine-$1.scope" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' '; }
# none of the pids given is alive
all_gone() {
        local p
        for p in "$@"; do process_alive "$p" && return 1; done
        return 0
}
scope_exists() { [ -d "$UNIFIED/$NSPAWNLITE_CGROUP_PARENT/machine-$1.scope" ]; }
# a scope in any hierarchy
scope_anywhere() {
        local root
        for root in $(cgroup_roots); do [ -d "$root/$NSPAWNLITE_CGROUP_PARENT/machine-$1.scope" ] && return 0; done
        return 1
}
gc() { "$NSPAWNLITE" gc >"$WORK/gc.out" 2>&1; }
gc_out() { tr '\n' ' ' <"$WORK/gc.out"; }

# --- 1. an empty NSPAWNLITE_CGROUP_PARENT is refused, not taken for machine.slice ------------------
for v in "run $TREE /bin/true" "gc"; do
        rc=0
        # shellcheck disable=SC2086 # the words of v
        NSPAWNLITE_CGROUP_PARENT= timeout 20 "$NSPAWNLITE" $v </dev/null >"$WORK/out" 2>"$WORK/err" || rc=$?
        if [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$(grep -c . "$WORK/err")" = 1 ] &&
                grep -q 'NSPAWNLITE_CGROUP_PARENT is set but empty' "$WORK/err"; then
                pass "${v%% *} with an empty NSPAWNLITE_CGROUP_PARENT fails: $(cat "$WORK/err")"
        else
                fail "${v%% *} with an empty NSPAWNLITE_CGROUP_PARENT: status $rc, stderr '$(tr '\n' '|' <"$WORK/err")'"
        fi
done
[ ! -e "$MACHINES/${TREE##*/}" ] && pass "the refused run left no machine directory" ||
        fail "the refused run left $MACHINES/${TREE##*/}"

# --- 2. a foreign machine-X.scope with a process in it --------------------------------------------
FOREIGN=$UNIFIED/$NSPAWNLITE_CGROUP_PARENT/machine-alien.scope
mkdir -p "$FOREIGN" "/sys/fs/cgroup/pids/$NSPAWNLITE_CGROUP_PARENT/machine-alien.scope" 2>/dev/null || mkdir -p "$FOREIGN"
sleep 1000 &
ALIEN=$!
STARTED_PIDS+=("$ALIEN")
echo "$ALIEN" >"$FOREIGN/cgroup.procs" || die "cannot put a process in $FOREIGN"
rc=0
NSPAWNLITE_LOG_LEVEL=debug gc || rc=$?
assert_eq 0 "$rc" "gc with a foreign scope exits 0 ($(gc_out))"
process_alive "$ALIEN" && pass "gc left the foreign scope's process alive" || fail "gc killed the foreign scope's process"
[ -d "$FOREIGN" ] && pass "gc left the foreign scope" || fail "gc removed the foreign scope $FOREIGN"
grep -q "Leaving cgroup .*machine-alien.scope alone" "$WORK/gc.out" && pass "gc says (debug) it leaves the foreign scope alone" ||
        fail "no debug line about the foreign scope: $(gc_out)"

rc=0
timeout 60 "$NSPAWNLITE" boot -d --network=none -M alien "$TREE" </dev/null >"$WORK/out" 2>"$WORK/err" || rc=$?
err=$(tr '\n' '|' <"$WORK/err")
if [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$(grep -c . "$WORK/err")" = 1 ] &&
        grep -qE "Cgroup .*machine-alien.scope exists and was not made by nspawnlite .*pick another name or remove it" "$WORK/err"; then
        pass "boot -M alien refuses the foreign scope: $err"
else
        fail "boot -M alien over a foreign scope: status $rc, stderr '$err'"
fi
process_alive "$ALIEN" && pass "boot -M alien killed nothing" || fail "boot -M alien killed the foreign scope's process"
[ -d "$FOREIGN" ] && [ "$(cat "$FOREIGN/cgroup.procs")" = "$ALIEN" ] && pass "the foreign scope is as it was" ||
        fail "the foreign scope changed: $(ls "$FOREIGN" 2>&1 | head -3 | tr '\n' ' ')"
[ ! -e "$MACHINES/alien" ] && pass "the refused boot left no machine directory" || fail "the refused boot left $MACHINES/alien"
kill -KILL "$ALIEN"
wait "$ALIEN" 2>/dev/null || true
forget "$ALIEN"
rmdir "$FOREIGN" "/sys/fs/cgroup/pids/$NSPAWNLITE_CGROUP_PARENT/machine-alien.scope" 2>/dev/null || rmdir "$FOREIGN"

# --- 3. two runtime dirs sharing one cgroup parent ------------------------------------------------
NSPAWNLITE_RUNTIME_DIR=$RT_B up_quiet shared "$TREE" && pass "runtime dir B: machine shared boots"
LB=$(NSPAWNLITE_RUNTIME_DIR=$RT_B leader shared)
rc=0
gc || rc=$?
assert_eq 0 "$rc" "gc of runtime dir A exits 0 ($(gc_out))"
[ -n "$LB" ] && process_alive "$LB" && pass "gc of runtime dir A left B's live machine running" ||
        fail "gc of runtime dir A killed B's machine (leader '$LB')"
scope_exists shared && pass "gc of runtime dir A left B's scope" || fail "gc of runtime dir A removed B's scope"
rc=0
timeout 60 "$NSPAWNLITE" boot -d --network=none -M shared "$TREE" </dev/null >"$WORK/out" 2>"$WORK/err" || rc=$?
if [ "$rc" != 0 ] && grep -qE "exists and was not made by nspawnlite of $NSPAWNLITE_RUNTIME_DIR \(made by the nspawnlite of runtime dir $RT_B\)" "$WORK/err"; then
        pass "runtime dir A refuses the name B uses: $(cat "$WORK/err")"
else
        fail "boot -M shared in runtime dir A: status $rc, stderr '$(tr '\n' '|' <"$WORK/err")'"
fi
process_alive "$LB" && pass "A's refused boot left B's machine running" || fail "A's refused boot killed B's machine"
# B's machine dies with a SIGKILLed supervisor: its leftovers are B's, not A's, to remove.
SB=$(NSPAWNLITE_RUNTIME_DIR=$RT_B machine_state shared supervisor)
kill -KILL "$SB"
wait_for 10 eval "! process_alive $LB" && pass "B's guest died with its supervisor" || fail "B's guest outlived its supervisor"
gc
scope_exists shared && pass "gc of A leaves the dead machine of B to B" || fail "gc of A removed B's scope"
rc=0
NSPAWNLITE_RUNTIME_DIR=$RT_B "$NSPAWNLITE" gc >"$WORK/gc.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "gc of runtime dir B exits 0 ($(gc_out))"
! scope_anywhere shared && pass "gc of B removed its dead machine's cgroup" || fail "gc of B left machine-shared.scope"
[ ! -e "$RT_B/machines/shared" ] && pass "gc of B removed its dead machine's files" || fail "gc of B left $RT_B/machines/shared"

# --- 4. leftovers of our own dead machines --------------------------------------------------------
up_quiet dead "$TREE" && pass "machine dead boots"
L=$(leader dead)
kill -KILL "$(machine_state dead supervisor)"
wait_for 10 eval "! process_alive $L" || fail "dead's guest outlived its supervisor"
scope_exists dead && pass "a SIGKILLed supervisor leaves its scope" || fail "no scope left to test with"
up_quiet dead "$TREE" && pass "the next boot of dead clears its leftovers and boots"
down dead

up_quiet dead2 "$TREE" || true
L=$(leader dead2)
kill -KILL "$(machine_state dead2 supervisor)"
wait_for 10 eval "! process_alive $L" || fail "dead2's guest outlived its supervisor"
rc=0
gc || rc=$?
assert_eq 0 "$rc" "gc exits 0 ($(gc_out))"
! scope_anywhere dead2 && pass "gc removed the cgroup of our dead machine" || fail "gc left machine-dead2.scope"
grep -q "Removed the leftovers of machine dead2" "$WORK/gc.out" && pass "gc says it removed dead2" || fail "gc: $(gc_out)"

# A supervisor killed between the mkdir of its scope and the marking: the record it keeps meanwhile
# in its machine directory makes the empty, unmarked scope its own (test-chaos hits this by chance).
mkdir -p "$MACHINES/ghost" "$UNIFIED/$NSPAWNLITE_CGROUP_PARENT/machine-ghost.scope"
: >"$MACHINES/ghost/lock"
: >"$MACHINES/ghost/cgroup-creating"
rc=0
gc || rc=$?
assert_eq 0 "$rc" "gc exits 0 ($(gc_out))"
! scope_anywhere ghost && pass "gc removed the unmarked scope its machine was creating" || fail "gc left machine-ghost.scope"
[ ! -e "$MACHINES/ghost" ] && pass "gc removed the files of that machine" || fail "gc left $(ls -A "$MACHINES/ghost" | tr '\n' ' ')"
# Killed before its mkdir: the record names no scope, and gc removes it with the rest.
mkdir -p "$MACHINES/ghost2"
: >"$MACHINES/ghost2/lock"
: >"$MACHINES/ghost2/cgroup-creating"
rc=0
gc || rc=$?
assert_eq 0 "$rc" "gc exits 0 ($(gc_out))"
[ ! -e "$MACHINES/ghost2" ] && pass "gc removed the files of a machine killed before its scope existed" ||
        fail "gc left $(ls -A "$MACHINES/ghost2" | tr '\n' ' ')"

# --- 5. a frozen guest dies with its SIGKILLed supervisor -----------------------------------------
up_quiet frz "$TREE" && pass "machine frz boots"
S=$(machine_state frz supervisor)
# shellcheck disable=SC2207 # pids
PIDS=($(scope_pids frz))
[ "${#PIDS[@]}" -gt 0 ] || fail "no processes in frz's scope"
watchers() { pgrep -P "$S" -x nspawnlite-wdog | tr '\n' ' '; }
assert_eq "" "$(watchers)" "a running machine has no watcher process"
timeout 20 "$NSPAWNLITE" freeze frz && pass "freeze frz exits 0" || fail "freeze frz failed"
[ -n "$(watchers)" ] && pass "a frozen machine has a watcher" || fail "no watcher while frz is frozen"
timeout 20 "$NSPAWNLITE" thaw frz && pass "thaw frz exits 0" || fail "thaw frz failed"
wait_for 5 eval '[ -z "$(watchers)" ]' && pass "the watcher is gone after thaw" || fail "watcher left after thaw: $(watchers)"
timeout 20 "$NSPAWNLITE" freeze frz || fail "freeze frz (again) failed"
kill -KILL "$S"
t0=$SECONDS
if wait_for 5 all_gone "${PIDS[@]}"; then
        pass "the frozen guest died within $((SECONDS - t0)) s of its supervisor, without gc"
else
        fail "the frozen guest outlived its supervisor: alive: $(for p in "${PIDS[@]}"; do process_alive "$p" && echo -n "$p "; done)"
fi
gc || fail "gc after frz: $(gc_out)"

# A fatal signal to the supervisor's process group (SIGQUIT from its terminal, kill -USR1 -PGID;
# here SIGUSR1, as a background job ignores SIGQUIT) killed the watcher with it: the frozen guest
# was left frozen for ever. The watcher keeps to itself now, and ends the guest.
up_quiet frz2 "$TREE" && pass "machine frz2 boots"
S=$(machine_state frz2 supervisor)
# shellcheck disable=SC2207 # pids
PIDS=($(scope_pids frz2))
timeout 20 "$NSPAWNLITE" freeze frz2 || fail "freeze frz2 failed"
PG=$(ps -o pgid= -p "$S" | tr -d ' ')
[ -n "$PG" ] && [ "$PG" != "$(ps -o pgid= -p $$ | tr -d ' ')" ] || die "frz2's supervisor shares our process group"
kill -USR1 -- "-$PG"
t0=$SECONDS
if wait_for 5 all_gone "${PIDS[@]}"; then
        pass "the frozen guest died within $((SECONDS - t0)) s of a SIGUSR1 to its supervisor's process group"
else
        fail "the frozen guest outlived SIGUSR1 to its supervisor's group: alive: $(for p in "${PIDS[@]}"; do process_alive "$p" && echo -n "$p "; done)"
fi
gc || fail "gc after frz2: $(gc_out)"

# --- 6. terminate and kill --signal=KILL with the supervisor stopped ------------------------------
for how in terminate "kill --signal=KILL"; do
        up_quiet stp "$TREE" || continue
        S=$(machine_state stp supervisor)
        # shellcheck disable=SC2207 # pids
        PIDS=($(scope_pids stp))
        kill -STOP "$S"
        t0=$SECONDS
        rc=0
        # shellcheck disable=SC2086 # the words of how
        timeout 20 "$NSPAWNLITE" $how stp </dev/null >"$WORK/out" 2>"$WORK/err" || rc=$?
        assert_eq 0 "$rc" "$how of a machine whose supervisor is stopped exits 0 in $((SECONDS - t0)) s ($(tr '\n' ' ' <"$WORK/err"))"
        wait_for 5 all_gone "${PIDS[@]}" && pass "$how: the guest's processes are gone" ||
                fail "$how: alive: $(for p in "${PIDS[@]}"; do process_alive "$p" && echo -n "$p "; done)"
        kill -CONT "$S"
        wait_for 20 eval "! process_alive $S" && forget "$S" && pass "$how: the supervisor ends once continued" ||
                fail "$how: the supervisor did not end after SIGCONT"
        assert_clean "$how: nothing left behind"
done

# --- 7. v1 hierarchies: the machine has a cgroup where a controller limits, accounts, freezes or
# filters it (and systemd's named one), none in the others: a first cpuset cgroup below the root
# makes the kernel patch its static keys at every start and stop. -----------------------------------
if [ -d /sys/fs/cgroup/memory ] && [ "$(stat -f -c %T /sys/fs/cgroup/memory)" = cgroupfs ]; then
        if up_quiet v1 "$TREE"; then
                L=$(leader v1)
                for c in memory pids freezer devices; do
                        [ -d "/sys/fs/cgroup/$c" ] || continue
                        assert_match "^[0-9]+:$c:/$NSPAWNLITE_CGROUP_PARENT/machine-v1.scope/payload\$" \
                                "$(grep -E "^[0-9]+:$c:" "/proc/$L/cgroup")" "v1 $c: the guest is in its machine's cgroup"
                done
                if [ -d /sys/fs/cgroup/cpuset ]; then
                        [ ! -e "/sys/fs/cgroup/cpuset/$NSPAWNLITE_CGROUP_PARENT/machine-v1.scope" ] &&
                                pass "v1 cpuset: no cgroup of the machine's" ||
                                fail "v1 cpuset: the machine has a cgroup there"
                fi
                down v1
        fi
fi

assert_clean
