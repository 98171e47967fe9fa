#!/bin/bash
# Bad input to the machine verbs: unknown and invalid machine names, bad limits
# (set-limit and boot), --wait-ready without -d, usage errors, a machine that is still starting (its
# lock held, no state file yet) and a stale state file whose leader pid now belongs to another
# process, FIFOs in place of the lock and state files, a runtime dir that others than root can
# change. Each fails at once with one clear line on stderr and a non-zero status, and changes
# nothing: a running machine keeps its limits, an unrelated process is never signalled, and only gc
# removes a dead machine's leftovers.
. "$(dirname "$0")/lib.sh"

TREE=$(guest busybox)
[ -x "$TREE/bin/busybox" ] || die "no busybox guest tree: '$TREE'"
MACHINES=$NSPAWNLITE_RUNTIME_DIR/machines
CG=/sys/fs/cgroup

SUPERVISORS=()
trap 'rc=$?; set +e; for s in "${SUPERVISORS[@]}"; do kill -KILL "$s" 2>/dev/null; done; (exit $rc); cleanup' EXIT
_no_supervisor_left() {
        local p
        for p in "${SUPERVISORS[@]}"; do
                process_alive "$p" && return 1
        done
        return 0
}

# bad WHAT REGEX ARGS…: "nspawnlite ARGS…" fails within 2 s, with nothing on stdout and exactly one
# line on stderr matching the extended regex REGEX (case-insensitive).
bad() {
        local what=$1 re=$2 rc=0 t0 ms
        shift 2
        t0=$(date +%s%N)
        timeout 10 "$NSPAWNLITE" "$@" </dev/null >"$WORK/out" 2>"$WORK/err" || rc=$?
        ms=$((($(date +%s%N) - t0) / 1000000))
        local err
        err=$(cat "$WORK/err")
        if [ "$rc" = 0 ] || [ "$rc" = 124 ]; then
                fail "$what: exit status $rc (stderr: $err)"
        elif [ -s "$WORK/out" ]; then
                fail "$what: printed on stdout: $(head -c 200 "$WORK/out")"
        elif [ "$(grep -c . "$WORK/err")" != 1 ]; then
                fail "$what: expected one line on stderr, got: $(tr '\n' '|' <"$WORK/err")"
        elif ! grep -qiE "$re" "$WORK/err"; then
                fail "$what: '$err' does not match /$re/"
        elif [ "$ms" -ge 2000 ]; then
                fail "$what: took $ms ms"
        else
                pass "$what: $err"
        fi
}

# --- 1. unknown machine: every verb ----------------------------------------------------------------
VERBS=(status console login shell poweroff reboot terminate kill freeze thaw)
for v in "${VERBS[@]}"; do
        bad "$v of an unknown machine" 'no machine named nosuch' "$v" nosuch
done
bad "status --json of an unknown machine" 'no machine named nosuch' status nosuch --json
bad "kill --signal=SIGUSR2 of an unknown machine" 'no machine named nosuch' kill nosuch --signal=SIGUSR2
bad "set-limit of an unknown machine" 'no machine named nosuch' set-limit nosuch pids-max=100

# Exit statuses of the machine verbs (one mapping, in the verbs): 2 for a usage error, 1 for a
# machine that cannot be had, 0 after --help.
for v in status console poweroff reboot terminate kill freeze thaw; do
        rc=0
        "$NSPAWNLITE" "$v" </dev/null >/dev/null 2>&1 || rc=$?
        assert_eq 2 "$rc" "$v without NAME exits 2"
        rc=0
        "$NSPAWNLITE" "$v" nosuch extra </dev/null >/dev/null 2>&1 || rc=$?
        assert_eq 2 "$rc" "$v with an extra argument exits 2"
        rc=0
        "$NSPAWNLITE" "$v" nosuch </dev/null >/dev/null 2>&1 || rc=$?
        assert_eq 1 "$rc" "$v of an unknown machine exits 1"
        rc=0
        "$NSPAWNLITE" "$v" --help </dev/null >"$WORK/help" 2>&1 || rc=$?
        assert_eq 0 "$rc" "$v --help exits 0"
        grep -q "^nspawnlite $v" "$WORK/help" && pass "$v --help prints its usage" || fail "$v --help: $(head -c 200 "$WORK/help")"
done

# --- 2. invalid names --------------------------------------------------------------------------
for v in "${VERBS[@]}"; do
        bad "$v ../x" "invalid machine name '\.\./x'" "$v" ../x
done
bad "set-limit ../x" "invalid machine name '\.\./x'" set-limit ../x pids-max=10
long=$(printf 'a%.0s' $(seq 65))
for n in . .. a/b 'x y' .hidden "$long" 'x;y'; do
        bad "status '$n'" "invalid machine name" status "$n"
done
[ ! -e "$MACHINES" ] || [ -z "$(ls -A "$MACHINES")" ] && pass "no machine directory was made for a bad name" ||
        fail "machine directories appeared: $(ls -A "$MACHINES")"

# --- 3. usage errors -------------------------------------------------------------------------------
bad "status without a name" 'no machine name' status
bad "list with an argument" "unexpected argument 'x'" list x
bad "gc with an argument" "unexpected argument 'x'" gc x
bad "status with an unknown option" "unknown option.*--bogus" status nosuch --bogus
bad "poweroff --timeout=abc" "invalid --timeout" poweroff nosuch --timeout=abc
bad "kill --signal=SIGFOO" "invalid --signal" kill nosuch --signal=SIGFOO
bad "set-limit without a limit" 'no limit given' set-limit nosuch

# --- 4. bad limits and options at boot ---------------------------------------------------------
bad "boot --memory-max=abc" 'memory-max.*abc|abc.*memory-max' boot -M bl --network=none --memory-max=abc "$TREE"
bad "boot -d --cpu-quota=50" 'cpu-quota' boot -d -M bl --network=none --cpu-quota=50 "$TREE"
bad "boot -d --pids-max=0" 'pids-max' boot -d -M bl --network=none --pids-max=0 "$TREE"
bad "boot --wait-ready without -d" 'wait-ready.*(-d|detach)' boot -M bl --network=none --wait-ready "$TREE"
assert_clean "bad boots leave nothing"

# --- 5. bad limits on a running machine ------------------------------------------------------------
"$NSPAWNLITE" boot -d --wait-ready --timeout=30 --network=none -M lim --pids-max=77 --memory-max=96M "$TREE" \
        </dev/null >"$WORK/boot-lim.log" 2>&1 || fail "boot lim: $(cat "$WORK/boot-lim.log")"
S=$(machine_state lim supervisor) || true
[ -n "$S" ] && SUPERVISORS+=("$S")
SCOPE=$NSPAWNLITE_CGROUP_PARENT/machine-lim.scope
limits_now() {
        echo "$(cat "$CG/pids/$SCOPE/pids.max" "$CG/memory/$SCOPE/memory.limit_in_bytes" \
                "$CG/cpu/$SCOPE/cpu.shares" "$CG/cpu/$SCOPE/cpu.cfs_quota_us" 2>&1 | tr '\n' ' ')" \
                "$(grep '^limit\.' "$MACHINES/lim/state" 2>&1 | tr '\n' ' ')"
}
if _leader_alive lim; then
        before=$(limits_now)
        L=$(leader lim) || true
        for a in memory-max=abc memory-max=-1 memory-max=99999999T memory-max=1.5.5G memory-max= \
                cpu-weight=0 cpu-weight=10001 cpu-weight=abc cpu-quota=50 cpu-quota=abc% cpu-quota=% \
                pids-max=0 pids-max=-5 pids-max=1x io-weight=0 bogus=1 memory-max =5 pids-max; do
                bad "set-limit lim '$a'" "invalid limit '$a'|'$a'" set-limit lim "$a"
        done
        bad "set-limit lim: one bad limit among good ones" "invalid limit 'memory-max=abc'" \
                set-limit lim pids-max=50 memory-max=abc
        assert_eq "$before" "$(limits_now)" "no bad set-limit changed a cgroup file or the state file"
        bad "poweroff lim --timeout=0" "invalid --timeout" poweroff lim --timeout=0
        bad "kill lim --signal=SIGBOGUS" "invalid --signal" kill lim --signal=SIGBOGUS
        bad "set-limit lim io-weight=100 (no v1 weight here)" "io-weight.*(not|support|offer)" set-limit lim io-weight=100
        assert_eq "$before" "$(limits_now)" "the failed io-weight changed nothing"
        assert_eq "$L running" "$(leader lim) $(machine_state lim state)" "lim still runs, same leader"
        rc=0
        "$NSPAWNLITE" poweroff lim || rc=$?
        assert_eq 0 "$rc" "poweroff lim exits 0"
fi
wait_for 10 _no_supervisor_left || fail "the supervisor of lim still runs"
assert_clean "bad limits on a running machine"

# --- 6. a machine that is still starting: lock held, no state file -------------------------------
mkdir -p "$MACHINES/starting"
: >"$MACHINES/starting/lock"
# one process (flock(1) on an fd, then exec) holds it, so that killing it frees the lock
(
        exec 9>"$MACHINES/starting/lock"
        flock -x 9
        exec sleep 60
) </dev/null >/dev/null 2>&1 &
HOLDER=$!
STARTED_PIDS+=("$HOLDER")
wait_for 5 eval '! flock -n -s "$MACHINES/starting/lock" true' || fail "flock did not take the lock"
for v in status console login shell poweroff reboot terminate kill freeze thaw; do
        bad "$v of a machine still starting" 'still starting' "$v" starting
done
bad "set-limit of a machine still starting" 'still starting' set-limit starting pids-max=100
out=$("$NSPAWNLITE" list --json 2>&1) || fail "list --json failed: $out"
assert_eq "[]" "$out" "list does not show a machine still starting"
bad "boot of a name still starting" 'already running|starting' boot -d -M starting --network=none "$TREE"
rc=0
"$NSPAWNLITE" gc >"$WORK/gc.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "gc exits 0 with a machine still starting"
[ -e "$MACHINES/starting/lock" ] && pass "gc leaves a machine still starting alone" ||
        fail "gc removed the directory of a machine still starting"
kill "$HOLDER"
wait_exit "$HOLDER" 5
bad "status once the starter died (lock free, no state)" 'not running' status starting
"$NSPAWNLITE" gc >"$WORK/gc.out" 2>&1 || fail "gc failed: $(cat "$WORK/gc.out")"
[ ! -e "$MACHINES/starting" ] && pass "gc removes what a dead starter left" ||
        fail "gc left $(ls -A "$MACHINES/starting" 2>&1)"
bad "status after gc" 'no machine named starting' status starting

# --- 7. a stale state file whose leader pid belongs to another process now -----------------------
sleep 60 </dev/null >/dev/null 2>&1 &
VICTIM=$!
STARTED_PIDS+=("$VICTIM")
starttime=$(sed 's/.*) //' "/proc/$VICTIM/stat" | cut -d' ' -f20)
write_state() { # NAME LEADER STARTTIME
        mkdir -p "$MACHINES/$1"
        : >"$MACHINES/$1/lock"
        cat >"$MACHINES/$1/state" <<EOF
name=$1
state=running
init=busybox
leader=$2
leader_starttime=$3
supervisor=$2
since=1700000000000000
rootfs=$TREE
uuid=00000000-0000-4000-8000-000000000000
cgroup=$NSPAWNLITE_CGROUP_PARENT/machine-$1.scope
detached=1
EOF
}
write_state stale "$VICTIM" $((starttime + 12345))   # pid reused: start time differs
write_state unlocked "$VICTIM" "$starttime"          # right start time, but nobody holds the lock
mkdir -p "$MACHINES/garbage"                          # a state file that does not parse
: >"$MACHINES/garbage/lock"
printf 'leader=oops\nno equals sign\n' >"$MACHINES/garbage/state"
mkdir -p "$MACHINES/fifo"                             # FIFOs where the lock and state files go:
mkfifo "$MACHINES/fifo/lock" "$MACHINES/fifo/state"   # opening one for reading blocked for ever

rc=0
out=$(timeout 10 "$NSPAWNLITE" list 2>&1) || rc=$?
assert_eq 0 "$rc" "list exits 0 (not stuck on the FIFOs of fifo) $out"
grep -qE '^(stale|unlocked|garbage|fifo) ' <<<"$out" && fail "list shows a dead machine: $out" ||
        pass "list shows none of the dead machines"
assert_match '0 machines listed' "$out" "list counts 0 machines"
assert_eq "[]" "$("$NSPAWNLITE" list --json 2>&1)" "list --json is empty"
for n in stale unlocked garbage; do
        bad "status of dead machine $n" 'not running' status "$n"
        bad "status --json of dead machine $n" 'not running' status "$n" --json
done
for v in poweroff terminate kill freeze reboot; do
        bad "$v of the stale machine" 'not running' "$v" stale
done
bad "kill --signal=SIGKILL of the unlocked machine" 'not running' kill unlocked --signal=SIGKILL
for v in status terminate shell; do
        bad "$v of a machine whose lock and state are FIFOs" 'did not write' "$v" fifo
done
process_alive "$VICTIM" && pass "the process that reused the leader pid was not signalled" ||
        fail "the process that reused the leader pid is gone"
rc=0
"$NSPAWNLITE" gc >"$WORK/gc.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "gc exits 0 $(tr '\n' ' ' <"$WORK/gc.out")"
for n in stale unlocked garbage fifo; do
        [ ! -e "$MACHINES/$n" ] && pass "gc removed the leftovers of $n" || fail "gc left $MACHINES/$n: $(ls -A "$MACHINES/$n")"
done
process_alive "$VICTIM" && pass "gc did not touch the process that reused the leader pid" ||
        fail "gc killed the process that reused the leader pid"
bad "status after gc" 'no machine named stale' status stale

# --- 8. a runtime dir another user can change: root's verbs refuse it -----------------------------
# Nobody's directory, its machines/x a symlink to a directory of root's: gc removed root's files
# there (state, lock, control…) as a dead machine's leftovers.
VICTIM_DIR=$WORK/victim
mkdir -p "$VICTIM_DIR"
touch "$VICTIM_DIR/state" "$VICTIM_DIR/lock" "$VICTIM_DIR/control"
EVIL=$WORK/evil-rt
mkdir -p "$EVIL/machines"
ln -s "$VICTIM_DIR" "$EVIL/machines/x"
chown -R -h nobody "$EVIL"
chmod 0755 "$WORK"
for v in gc list "status x" "terminate x"; do
        # shellcheck disable=SC2086 # the verb and its argument
        NSPAWNLITE_RUNTIME_DIR=$EVIL bad "$v in a runtime dir of nobody's" "runtime directory .*evil-rt.* can be changed by others than root" $v
done
ln -s "$EVIL" "$WORK/link-to-evil"
NSPAWNLITE_RUNTIME_DIR=$WORK/link-to-evil/machines bad "gc through root's symlink to nobody's dir" \
        "evil-rt can be changed by others than root" gc
setpriv --reuid=nobody --regid=nogroup --clear-groups ln -s "$NSPAWNLITE_RUNTIME_DIR" "$EVIL/rt-link"
NSPAWNLITE_RUNTIME_DIR=$EVIL/rt-link bad "gc through nobody's symlink to root's runtime dir" \
        "evil-rt can be changed by others than root" gc
assert_eq "control lock state" "$(ls "$VICTIM_DIR" | tr '\n' ' ' | sed 's/ $//')" "root's files behind the symlink are all there"
kill "$VICTIM"
wait_exit "$VICTIM" 5
assert_clean "dead machines: nothing left after gc"
