#!/bin/bash
# The machine verbs on detached machines: ten busybox machines at once (list,
# list --json, status, parallel poweroff), one name booted twice, one tree under two names, the
# Debian systemd guest through --wait-ready, reboot and poweroff, the console (a writer and a
# read-only second client), kill --signal=SIGUSR2 and terminate.
. "$(dirname "$0")/lib.sh"

TREE=$(guest busybox)
[ -x "$TREE/bin/busybox" ] || die "no busybox guest tree: '$TREE'"
MACHINES=$NSPAWNLITE_RUNTIME_DIR/machines
# No network traffic at all: every machine gets a network namespace with only lo.

# Supervisors of detached machines are not our children: they are reparented to the host's init,
# which may reap them late, so "gone" means no such process or a zombie. They are killed on exit
# if the test dies (their guests die with them; the cleanup then clears the cgroups).
SUPERVISORS=()
trap 'rc=$?; set +e; for s in "${SUPERVISORS[@]}"; do kill -KILL "$s" 2>/dev/null; done; (exit $rc); cleanup' EXIT
# track NAME: remember the machine's supervisor.
track() {
        local s
        s=$(machine_state "$1" supervisor) || true
        [ -n "$s" ] && SUPERVISORS+=("$s")
        return 0
}
_no_supervisor_left() {
        local p
        for p in "${SUPERVISORS[@]}"; do
                process_alive "$p" && return 1
        done
        return 0
}
# clean WHAT: every supervisor ended (bounded), then nothing left behind.
clean() {
        if wait_for 10 _no_supervisor_left; then
                pass "$1: every supervisor exited"
        else
                fail "$1: supervisors still running: $(for p in "${SUPERVISORS[@]}"; do process_alive "$p" && echo "$p"; done | tr '\n' ' ')"
        fi
        assert_clean "$1: nothing left behind"
}

# up NAME ARGS…: boot -d --wait-ready, bounded; output in $WORK/boot-NAME.log.
up() {
        local name=$1 rc=0
        shift
        boot_detached "$name" --network=none "$@" || rc=1
        track "$name"
        [ "$rc" = 0 ] && return 0
        fail "$name: boot -d --wait-ready: status $EXIT_RC: $(boot_log "$name")"
        return 1
}

# gone NAME [SUPERVISOR]: no runtime directory and no supervisor left for the machine.
gone() {
        [ ! -e "$MACHINES/$1" ] || return 1
        [ -z "${2:-}" ] || ! process_alive "$2"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

json() { # PYTHON-EXPRESSION on d (the parsed stdin)
        python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# --- 1. ten machines at once -----------------------------------------------------------------------
NAMES=()
for i in $(seq 0 9); do NAMES+=("multi$i"); done
declare -A BOOTP
start=$(now_ms)
for n in "${NAMES[@]}"; do
        "$NSPAWNLITE" boot -d --wait-ready --timeout=60 --network=none -M "$n" "$TREE" </dev/null >"$WORK/boot-$n.log" 2>&1 &
        BOOTP[$n]=$!
        STARTED_PIDS+=("$!")
done
up_ok=0
for n in "${NAMES[@]}"; do
        wait_exit "${BOOTP[$n]}" 120
        track "$n"
        if [ "$EXIT_RC" = 0 ] && _leader_alive "$n"; then
                up_ok=$((up_ok + 1))
        else
                fail "$n: boot -d --wait-ready: status $EXIT_RC: $(tr '\r\n' '  ' <"$WORK/boot-$n.log" | head -c 300)"
        fi
done
log "10 parallel boots took $(($(now_ms) - start)) ms"
assert_eq 10 "$up_ok" "10 machines booted detached at once, each boot -d --wait-ready exits 0"

out=$("$NSPAWNLITE" list 2>&1) || fail "list failed: $out"
listed=0
for n in "${NAMES[@]}"; do
        grep -qE "^$n +running +busybox " <<<"$out" && listed=$((listed + 1))
done
assert_eq 10 "$listed" "list shows the 10 machines running busybox"
assert_match '10 machines listed' "$out" "list counts 10 machines"

js=$("$NSPAWNLITE" list --json 2>&1) || fail "list --json failed: $js"
assert_eq 10 "$(json 'len(d)' <<<"$js" 2>&1)" "list --json parses and has 10 entries"
assert_eq 10 "$(json 'len({m["name"] for m in d})' <<<"$js" 2>&1)" "list --json: 10 distinct names"
assert_eq 10 "$(json 'len({m["leader"] for m in d})' <<<"$js" 2>&1)" "list --json: 10 distinct leaders"
want=$(for n in "${NAMES[@]}"; do echo "$n $(leader "$n")"; done | sort | tr '\n' ' ')
got=$(json '" ".join(sorted("%s %d" % (m["name"], m["leader"]) for m in d))' <<<"$js" 2>&1)
assert_eq "$want" "$got " "list --json: each leader is the one of the machine's state file"

st_ok=0
for n in "${NAMES[@]}"; do
        if txt=$("$NSPAWNLITE" status "$n" 2>&1) && [ "$(head -n 1 <<<"$txt")" = "$n" ] &&
                grep -q "Leader: $(leader "$n") (busybox)" <<<"$txt" &&
                js=$("$NSPAWNLITE" status "$n" --json 2>&1) &&
                [ "$(json '"%s %s %d %s" % (d["name"], d["state"], d["leader"], d["tasks"] > 0)' <<<"$js" 2>&1)" = \
                        "$n running $(leader "$n") True" ]; then
                st_ok=$((st_ok + 1))
        else
                fail "status $n: $txt / $js"
        fi
done
assert_eq 10 "$st_ok" "status and status --json work for each of the 10 (name, running, leader, tasks)"

declare -A POFFP
start=$(now_ms)
for n in "${NAMES[@]}"; do
        "$NSPAWNLITE" poweroff "$n" --timeout=30 </dev/null >"$WORK/poweroff-$n.log" 2>&1 &
        POFFP[$n]=$!
        STARTED_PIDS+=("$!")
done
off_ok=0
for n in "${NAMES[@]}"; do
        wait_exit "${POFFP[$n]}" 60
        if [ "$EXIT_RC" = 0 ]; then
                off_ok=$((off_ok + 1))
        else
                fail "poweroff $n: status $EXIT_RC: $(cat "$WORK/poweroff-$n.log")"
        fi
done
log "10 parallel poweroffs took $(($(now_ms) - start)) ms"
assert_eq 10 "$off_ok" "10 parallel poweroffs each exit 0"
assert_eq "" "$("$NSPAWNLITE" list --json 2>&1 | json '" ".join(m["name"] for m in d)' 2>&1)" "list is empty after the poweroffs"
clean "10 machines"

# --- 2. one name booted twice ----------------------------------------------------------------------
if up dup "$TREE"; then
        L=$(leader dup) || true
        S=$(machine_state dup supervisor) || true
        logsize=$(stat -c %s "$MACHINES/dup/console.log")
        t0=$(date +%s%N)
        rc=0
        timeout 20 "$NSPAWNLITE" boot -d --wait-ready --timeout=30 --network=none -M dup "$TREE" </dev/null >"$WORK/dup2.out" 2>"$WORK/dup2.err" || rc=$?
        ms=$((($(date +%s%N) - t0) / 1000000))
        if [ "$rc" != 0 ] && [ "$rc" != 124 ]; then
                pass "second boot -d of the same name fails (status $rc)"
        else
                fail "second boot -d of the same name: status $rc"
        fi
        [ "$ms" -lt 2000 ] && pass "… at once (${ms} ms)" || fail "second boot took ${ms} ms to fail"
        assert_eq 1 "$(grep -c . "$WORK/dup2.err")" "… with one line on stderr"
        assert_match 'dup.*already running' "$(cat "$WORK/dup2.err")" "… saying the name is already running"
        # the foreground boot too
        rc=0
        timeout 20 "$NSPAWNLITE" boot --network=none -M dup "$TREE" </dev/null >"$WORK/dup3.out" 2>"$WORK/dup3.err" || rc=$?
        [ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q 'already running' "$WORK/dup3.err" &&
                pass "second foreground boot of the same name fails too" ||
                fail "second foreground boot: status $rc: $(cat "$WORK/dup3.err")"
        assert_eq "$L" "$(leader dup)" "the first machine keeps its leader"
        assert_eq "$S" "$(machine_state dup supervisor)" "the first machine keeps its supervisor"
        [ "$(stat -c %s "$MACHINES/dup/console.log" 2>/dev/null || echo 0)" -ge "$logsize" ] &&
                pass "the first machine's console.log was not truncated" || fail "the first machine's console.log shrank"
        kill -0 "$L" 2>/dev/null && process_alive "$S" && pass "the first machine still runs" ||
                fail "the first machine died"
        assert_eq "dup running" "$("$NSPAWNLITE" status dup --json 2>&1 | json 'd["name"] + " " + d["state"]' 2>&1)" \
                "status of the first machine still works"
        assert_eq "dup" "$(in_guest dup hostname 2>&1)" "the first machine still answers inside"
        rc=0
        "$NSPAWNLITE" poweroff dup || rc=$?
        assert_eq 0 "$rc" "poweroff of the first machine exits 0"
fi
clean "one name twice"

# --- 3. one tree, two names ------------------------------------------------------------------------
"$NSPAWNLITE" boot -d --wait-ready --timeout=60 --network=none -M same-a "$TREE" </dev/null >"$WORK/boot-same-a.log" 2>&1 &
pa=$!
"$NSPAWNLITE" boot -d --wait-ready --timeout=60 --network=none -M same-b "$TREE" </dev/null >"$WORK/boot-same-b.log" 2>&1 &
pb=$!
STARTED_PIDS+=("$pa" "$pb")
wait_exit "$pa" 60
ra=$EXIT_RC
wait_exit "$pb" 60
rb=$EXIT_RC
track same-a
track same-b
assert_eq "0 0" "$ra $rb" "two machines boot the same tree under different names"
if [ -n "$(leader same-a)" ] && [ "$(leader same-a)" != "$(leader same-b)" ]; then
        pass "… with different leaders"
else
        fail "… leaders '$(leader same-a)' and '$(leader same-b)'"
fi
assert_eq "same-a same-b" "$(in_guest same-a hostname 2>&1) $(in_guest same-b hostname 2>&1)" "… each with its own hostname"
assert_eq "$TREE $TREE" "$(machine_state same-a rootfs) $(machine_state same-b rootfs)" "… and the same rootfs"
ra=0 rb=0
"$NSPAWNLITE" poweroff same-a || ra=$?
"$NSPAWNLITE" poweroff same-b || rb=$?
assert_eq "0 0" "$ra $rb" "both power off with exit 0"
clean "one tree, two names"

# --- 4. the Debian systemd guest -------------------------------------------------------------------
DEB=$(guest debian-systemd) || true
if [ -z "$DEB" ] || [ ! -e "$DEB/usr/lib/systemd/systemd" ]; then
        fail "no debian-systemd guest tree: '$DEB'"
else
        start=$(now_ms)
        if up deb "$DEB"; then
                log "debian: boot -d --wait-ready returned after $(($(now_ms) - start)) ms"
                pass "debian: boot -d --wait-ready returns with a live leader"
                assert_eq systemd "$(machine_state deb init)" "debian: the state file says init=systemd"
                state=$(systemd_state deb)
                assert_eq running "$state" "debian: systemctl is-system-running --wait"
                [ "$state" = running ] || log "failed units: $(in_guest deb systemctl --failed --no-legend 2>&1 | tr '\n' ' ')"
                L=$(leader deb) || true
                S=$(machine_state deb supervisor) || true
                rc=0
                "$NSPAWNLITE" reboot deb 2>"$WORK/reboot.err" || rc=$?
                assert_eq 0 "$rc" "debian: reboot exits 0 $(cat "$WORK/reboot.err")"
                start=$(now_ms)
                new_leader() { local p; p=$(leader deb) || true; [ -n "$p" ] && [ "$p" != "$L" ] && kill -0 "$p" 2>/dev/null; }
                if wait_for 60 new_leader; then
                        pass "debian: back under the same name with a new leader ($L → $(leader deb))"
                else
                        fail "debian: no new leader after reboot: $(tr '\n' ' ' <"$MACHINES/deb/state" 2>&1)"
                fi
                state=$(systemd_state deb)
                assert_eq running "$state" "debian: running again after reboot"
                log "debian: reboot to running took $(($(now_ms) - start)) ms"
                assert_eq "$S running" "$(machine_state deb supervisor) $(machine_state deb state)" \
                        "debian: same supervisor, state running after the reboot"
                t0=$(date +%s%N)
                rc=0
                "$NSPAWNLITE" poweroff deb --timeout=30 2>"$WORK/poweroff-deb.err" || rc=$?
                ms=$((($(date +%s%N) - t0) / 1000000))
                assert_eq 0 "$rc" "debian: poweroff exits 0 $(cat "$WORK/poweroff-deb.err")"
                log "debian: poweroff took $ms ms"
                [ "$ms" -lt 10000 ] && pass "debian: poweroff within a few seconds (${ms} ms)" ||
                        fail "debian: poweroff took ${ms} ms"
                wait_for 5 gone deb "$S" && pass "debian: machine gone after poweroff" ||
                        fail "debian: still there after poweroff: $(ls "$MACHINES/deb" 2>&1)"
        fi
fi
clean "debian systemd guest"

# --- 5. console: a writer and a read-only second client --------------------------------------------
# con_start N: "console con" reading the fifo $WORK/in-N (held open read-write on fd 6+N, so it
# never blocks nor sees EOF), output to $WORK/out-N and $WORK/err-N; sets CONP[N].
declare -A CONP
con_start() {
        local n=$1
        mkfifo "$WORK/in-$n"
        "$NSPAWNLITE" console con <"$WORK/in-$n" >"$WORK/out-$n" 2>"$WORK/err-$n" &
        CONP[$n]=$!
        STARTED_PIDS+=("$!")
        eval "exec $((6 + n))<>\"\$WORK/in-$n\""
        wait_log "$WORK/err-$n" 'Connected to the console' 5 || fail "console $n did not connect: $(cat "$WORK/err-$n")"
}
con_send() { # N TEXT
        printf '%s' "$2" >&"$((6 + $1))"
}
con_detach() { # N
        con_send "$1" $'\035\035\035'
        wait_exit "${CONP[$1]}" 5
        assert_eq 0 "$EXIT_RC" "console $1 detaches on Ctrl-] ×3 with exit 0"
        eval "exec $((6 + $1))>&-"
}

if up con "$TREE"; then
        CLOG=$MACHINES/con/console.log
        con_start 1
        grep -q 'read-only' "$WORK/err-1" && fail "first console is read-only: $(cat "$WORK/err-1")" ||
                pass "first console is the writer"
        con_send 1 $'root\n'
        wait_log "$WORK/out-1" 'Password:' 10 && pass "console: login asks for the password" ||
                fail "console: no password prompt: $(tr '\r\n' '  ' <"$WORK/out-1")"
        con_send 1 $'root\n'
        wait_log "$WORK/out-1" '# ' 10 || log "no shell prompt seen: $(tr '\r\n' '  ' <"$WORK/out-1")"
        # The guest computes the number: the echo of the typed line itself does not match.
        con_send 1 "echo marker-$$-\$((6*7))"$'\n'
        wait_log "$WORK/out-1" "marker-$$-42" 10 && pass "console: the guest's shell answered through the console" ||
                fail "console: marker not echoed: $(tr '\r\n' '  ' <"$WORK/out-1")"

        con_start 2
        assert_match 'read-only' "$(cat "$WORK/err-2")" "a second console at the same time says it is read-only"
        con_send 2 "echo romarker-$$-\$((6*8))"$'\n'
        sleep 1
        # Through the writer: shows that the guest would have had the time, and reaches both clients.
        con_send 1 "echo sync-$$-\$((7*7))"$'\n'
        wait_log "$CLOG" "sync-$$-49" 10 && pass "console.log shows the writer's later command" ||
                fail "console.log lacks the sync marker: $(tail -c 300 "$CLOG" | tr '\r\n' '  ')"
        wait_log "$WORK/out-2" "sync-$$-49" 5 && pass "the read-only console receives the output" ||
                fail "the read-only console received: $(tr '\r\n' '  ' <"$WORK/out-2")"
        if grep -q "romarker-$$" "$CLOG" "$WORK/out-1" "$WORK/out-2"; then
                fail "the read-only console's input reached the guest: $(grep -h "romarker-$$" "$CLOG" | head -n 2 | tr '\r\n' '  ')"
        else
                pass "the read-only console's input is not delivered"
        fi
        con_detach 2
        con_detach 1
        con_start 3
        grep -q 'read-only' "$WORK/err-3" && fail "console after the writer left is read-only: $(cat "$WORK/err-3")" ||
                pass "once the writer detached, a new console writes"
        con_send 3 "echo third-$$-\$((8*8))"$'\n'
        wait_log "$WORK/out-3" "third-$$-64" 10 && pass "… and its input is delivered" ||
                fail "third console: $(tr '\r\n' '  ' <"$WORK/out-3")"
        _leader_alive con && pass "the machine still runs after the consoles detached" || fail "con died"
        # console 3 stays attached through the poweroff: it hears of the end and exits by itself
        rc=0
        "$NSPAWNLITE" poweroff con || rc=$?
        assert_eq 0 "$rc" "poweroff con exits 0"
        wait_exit "${CONP[3]}" 5
        assert_eq 0 "$EXIT_RC" "a console attached during poweroff exits 0 by itself"
        assert_match 'ended' "$(tail -n 1 "$WORK/err-3")" "… saying the machine ended"
        exec 9>&-
fi
clean "console"

# --- 6. kill --signal=SIGUSR2 powers busybox off ---------------------------------------------------
if up sig "$TREE"; then
        S=$(machine_state sig supervisor) || true
        rc=0
        "$NSPAWNLITE" kill sig --signal=SIGUSR2 || rc=$?
        assert_eq 0 "$rc" "kill --signal=SIGUSR2 exits 0"
        wait_for 15 gone sig "$S" && pass "SIGUSR2 to busybox init powered the machine off" ||
                fail "machine sig still there 15 s after SIGUSR2"
        grep -q 'was killed' "$WORK/boot-sig.log" && fail "sig was killed rather than powered off" || true
fi
clean "kill --signal=SIGUSR2"

# --- 7. terminate ends a machine at once -----------------------------------------------------------
# Three rounds, each checking right after terminate returns that the machine is gone: terminate and
# poweroff "wait until the machine is gone", so a script may reuse the name or check at once.
left_after=0
for round in 1 2 3; do
        up term "$TREE" || break
        L=$(leader term) || true
        S=$(machine_state term supervisor) || true
        t0=$(date +%s%N)
        rc=0
        "$NSPAWNLITE" terminate term || rc=$?
        # no fork before looking: the window is short
        if [ -e "$MACHINES/term" ] || [ -e "/sys/fs/cgroup/unified/$NSPAWNLITE_CGROUP_PARENT/machine-term.scope" ]; then
                left_after=$((left_after + 1))
        fi
        ms=$((($(date +%s%N) - t0) / 1000000))
        if [ "$round" = 1 ]; then
                assert_eq 0 "$rc" "terminate exits 0"
                # busybox init takes 2 s to power off: terminate must not ask it, but kill
                [ "$ms" -lt 1500 ] && pass "terminate returns at once (${ms} ms)" || fail "terminate took ${ms} ms"
                process_alive "$L" && fail "the leader survived terminate" || pass "the leader is gone"
        fi
        wait_for 5 gone term "$S" || fail "term still there 5 s after terminate"
done
assert_eq 0 "$left_after" "right after terminate returns, no runtime dir or cgroup is left (rounds with leftovers)"
clean "terminate"
