#!/bin/bash
# The control socket and the limits: every request to a stopped supervisor ends
# within its deadline with one line naming the machine and its supervisor, and is not carried out
# later; set-limit with a full runtime dir changes neither the cgroup nor the state; limit errors
# name the limit, the value and why; --pids-max below what an init needs is refused; login without
# a terminal is refused; --port over a port the host listens on warns, naming the listener (its
# terminal escapes as ?).
. "$(dirname "$0")/lib.sh"

TREE=$(guest busybox)
[ -x "$TREE/bin/busybox" ] || die "no busybox guest tree: '$TREE'"
SUPERVISORS=()
trap 'rc=$?; set +e; for s in "${SUPERVISORS[@]}"; do kill -CONT "$s" 2>/dev/null; kill -KILL "$s" 2>/dev/null; done; (exit $rc); cleanup' EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# bounded WHAT REGEX CMD…: CMD (within timeout 30) exits non-zero in under 15 s with one line on
# stderr ($WORK/e) matching REGEX.
bounded() {
        local what=$1 re=$2 rc=0 t0 ms
        shift 2
        t0=$(now_ms)
        : >"$WORK/e"
        timeout 30 "$@" </dev/null >"$WORK/o" 2>>"$WORK/e" || rc=$?
        ms=$(($(now_ms) - t0))
        if [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$ms" -lt 15000 ] && [ "$(grep -c . "$WORK/e")" = 1 ] &&
                grep -qE -- "$re" "$WORK/e"; then
                pass "$what: status $rc after $ms ms: $(cat "$WORK/e")"
        else
                fail "$what: status $rc after $ms ms: $(cat "$WORK/o" "$WORK/e" | head -c 400)"
        fi
}

# --- 1. a stopped supervisor: every request has a deadline ------------------------------------------
M=stopped
if up "$M" "$TREE"; then
        S=$(machine_state "$M" supervisor)
        L=$(leader "$M")
        kill -STOP "$S"
        RE="Machine $M's supervisor \(pid $S\) did not answer within [0-9]+ s; is it stopped\?"
        bounded "kill of a stopped supervisor" "$RE" "$NSPAWNLITE" kill "$M"
        bounded "set-limit of a stopped supervisor" "$RE" "$NSPAWNLITE" set-limit "$M" pids-max=100
        bounded "freeze of a stopped supervisor" "$RE" "$NSPAWNLITE" freeze "$M"
        bounded "poweroff --timeout=2 of a stopped supervisor" "$RE" "$NSPAWNLITE" poweroff "$M" --timeout=2
        bounded "console of a stopped supervisor" "$RE" "$NSPAWNLITE" console "$M"
        # login wants a terminal: script(1) gives it one; its stderr goes to $WORK/e all the same
        bounded "login of a stopped supervisor" "$RE" script -qec "$NSPAWNLITE login $M 2>>$WORK/e" /dev/null
        kill -CONT "$S"
        # What the clients above gave up on is not done behind their backs once it runs again.
        sleep 1
        assert_eq "running $L" "$(machine_state "$M" state) $(leader "$M")" \
                "$M: after SIGCONT, the abandoned kill, freeze and poweroff were not carried out"
        assert_match 'Limits: none' "$("$NSPAWNLITE" status "$M" 2>&1)" "$M: the abandoned set-limit was not carried out"
        down "$M"
fi

# --- 1b. a supervisor stopped after it answered: poweroff's wait is bounded by its --timeout ------
# The guest ignores its --kill-signal, so the machine lives until the supervisor kills it at the
# timeout; stopped before that, the supervisor never says it ended.
M=deaf
if up "$M" --kill-signal=SIGWINCH "$TREE"; then
        S=$(machine_state "$M" supervisor)
        t0=$(now_ms)
        timeout 60 "$NSPAWNLITE" poweroff "$M" --timeout=3 </dev/null >"$WORK/o" 2>"$WORK/e" &
        P=$!
        STARTED_PIDS+=("$P")
        sleep 1
        kill -STOP "$S"
        wait_exit "$P" 40
        forget "$P"
        ms=$(($(now_ms) - t0))
        [ "$EXIT_RC" != 0 ] && [ "$EXIT_RC" != 124 ] && [ "$ms" -lt 20000 ] && [ "$(grep -c . "$WORK/e")" = 1 ] &&
                grep -qE "Machine $M did not end within 13 s; is its supervisor \(pid $S\) stopped\?" "$WORK/e" &&
                pass "poweroff --timeout=3, supervisor stopped after its answer: status $EXIT_RC after $ms ms: $(cat "$WORK/e")" ||
                fail "poweroff --timeout=3, supervisor stopped after its answer: status $EXIT_RC after $ms ms: $(cat "$WORK/o" "$WORK/e")"
        kill -CONT "$S"
        # Its deadline passed while it was stopped: it kills the machine now.
        if wait_for 30 eval "! process_alive $S"; then
                forget "$S"
                pass "$M: once resumed, the supervisor kills the machine whose timeout passed"
        else
                fail "$M: the supervisor still runs 30 s after SIGCONT"
        fi
        assert_clean "$M: nothing left behind"
fi

# --- 2. set-limit and freeze when the state file cannot be written ---------------------------------
# The runtime dir on a small tmpfs of our own (this mount namespace is the test's), filled up.
RT=$NSPAWNLITE_RUNTIME_DIR
mount -t tmpfs -o size=4M,mode=0755 nspawnlite-test-rt "$RT" || die "cannot mount a tmpfs on $RT"
trap 'rc=$?; set +e; for s in "${SUPERVISORS[@]}"; do kill -CONT "$s" 2>/dev/null; kill -KILL "$s" 2>/dev/null; done; umount -l "$RT" 2>/dev/null; (exit $rc); cleanup' EXIT
# cg_file CONTROLLER FILE: the file of machine M's scope (hybrid: in the v1 hierarchy; unified).
cg_file() {
        local f
        for f in "/sys/fs/cgroup/$1/$NSPAWNLITE_CGROUP_PARENT/machine-$M.scope/$2" \
                "/sys/fs/cgroup/$NSPAWNLITE_CGROUP_PARENT/machine-$M.scope/$2"; do
                [ -e "$f" ] && { cat "$f"; return 0; }
        done
        echo "no $2"
}
M=full
if up "$M" "$TREE"; then
        pids_before=$(cg_file pids pids.max)
        dd if=/dev/zero of="$RT/fill" bs=64k 2>/dev/null || true
        rc=0
        timeout 30 "$NSPAWNLITE" set-limit "$M" pids-max=100 >"$WORK/o" 2>"$WORK/e" || rc=$?
        [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$(grep -c . "$WORK/e")" = 1 ] &&
                grep -q "Failed to record the new limits of machine $M .*No space left on device; its limits are unchanged" "$WORK/e" &&
                pass "set-limit with a full runtime dir fails clearly (status $rc): $(cat "$WORK/e")" ||
                fail "set-limit with a full runtime dir: status $rc: $(cat "$WORK/o" "$WORK/e")"
        assert_eq "$pids_before" "$(cg_file pids pids.max)" "$M: pids.max is unchanged after the failed set-limit"
        assert_match 'Limits: none' "$("$NSPAWNLITE" status "$M" 2>&1)" "$M: status shows no limits"
        rc=0
        timeout 30 "$NSPAWNLITE" freeze "$M" >"$WORK/o" 2>"$WORK/e" || rc=$?
        [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$(grep -c . "$WORK/e")" = 1 ] &&
                grep -q "Failed to record the state of machine $M .*No space left on device; it stays running" "$WORK/e" &&
                pass "freeze with a full runtime dir fails clearly (status $rc): $(cat "$WORK/e")" ||
                fail "freeze with a full runtime dir: status $rc: $(cat "$WORK/o" "$WORK/e")"
        if [ -e "/sys/fs/cgroup/freezer/$NSPAWNLITE_CGROUP_PARENT/machine-$M.scope" ]; then
                assert_eq THAWED "$(cg_file freezer freezer.state)" "$M: not frozen after the failed freeze"
        fi
        rm -f "$RT/fill"
        rc=0
        timeout 30 "$NSPAWNLITE" set-limit "$M" pids-max=100 >"$WORK/o" 2>&1 || rc=$?
        assert_eq "0 100" "$rc $(cg_file pids pids.max)" "$M: set-limit works again once there is room"
        assert_match 'Limits: pids-max=100' "$("$NSPAWNLITE" status "$M" 2>&1)" "$M: status shows the new limit"
        down "$M"
fi
umount "$RT" || fail "cannot unmount the test's tmpfs from $RT"

# --- 3. limits: which one, what value, and why -------------------------------------------------------
# refused WHAT REGEX ARGS…: nspawnlite ARGS fails (bounded) with one line matching REGEX.
refused() {
        local what=$1 re=$2
        shift 2
        bounded "$what" "$re" "$NSPAWNLITE" "$@"
}
refused "boot --memory-max=4096 (below what the machine uses)" \
        '--memory-max=4096: below the memory the machine uses already \([^)]*[0-9]+ bytes\)' \
        boot -d -M lim --network=none --memory-max=4096 "$TREE"
refused "boot --memory-max=1" 'Invalid --memory-max=1: below the minimum of 4096 bytes' \
        boot -d -M lim --network=none --memory-max=1 "$TREE"
refused "boot --pids-max=1" 'Invalid --pids-max=1: below the minimum of 16 \(fewer tasks than a guest.s init needs' \
        boot -d -M lim --network=none --pids-max=1 "$TREE"
if [ -d /sys/fs/cgroup/blkio ] && [ ! -e /sys/fs/cgroup/blkio/blkio.weight ]; then
        refused "boot --io-weight=100 (no blkio.weight here)" \
                '--io-weight=100: this host.s cgroup v1 blkio controller does not offer blkio.weight' \
                boot -d -M lim --network=none --io-weight=100 "$TREE"
fi
assert_clean "the refused boots left nothing behind"
M=lim
if up "$M" "$TREE"; then
        refused "set-limit pids-max=8" "Invalid limit 'pids-max=8': below the minimum of 16" set-limit "$M" pids-max=8
        refused "set-limit memory-max=1" "Invalid limit 'memory-max=1': below the minimum of 4096 bytes" \
                set-limit "$M" memory-max=1
        refused "set-limit memory-max=4096 (below what the machine uses)" \
                'memory-max=4096: below the memory the machine uses already \([^)]*[0-9]+ bytes\)' \
                set-limit "$M" memory-max=4096
        if [ -d /sys/fs/cgroup/blkio ] && [ ! -e /sys/fs/cgroup/blkio/blkio.weight ]; then
                refused "set-limit io-weight=100 (no blkio.weight here)" \
                        'io-weight=100: this host.s cgroup v1 blkio controller does not offer blkio.weight' \
                        set-limit "$M" io-weight=100
                # One refused limit of several: none of them is set.
                refused "set-limit pids-max=50 io-weight=100" 'io-weight=100: ' set-limit "$M" pids-max=50 io-weight=100
                assert_eq max "$(cg_file pids pids.max)" "$M: pids-max of the refused set-limit was undone"
        fi
        assert_match 'Limits: none' "$("$NSPAWNLITE" status "$M" 2>&1)" "$M: status shows no limits after the refusals"

        # --- 4. login without a terminal
        refused "login with stdin not a terminal" "nspawnlite login needs a terminal on stdin" login "$M"
        down "$M"
fi

# --- 5. --port over a port the host listens on: a warning naming it and its listener -------------
python3 -c 'import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 18080)); s.listen(); time.sleep(120)' &
LISTENER=$!
STARTED_PIDS+=("$LISTENER")
wait_for 10 sh -c "ss -Hltn 'sport = :18080' | grep -q ." || fail "no listener on port 18080"
M=port
if boot_detached "$M" -p 18080:80 -p 18081:80 "$TREE"; then
        SUPERVISORS+=("$(machine_state "$M" supervisor)")
        w=$(grep -c 'has a listener on the host' "$WORK/boot-$M.log" || true)
        assert_match "Port tcp/18080 has a listener on the host already \(python3, pid $LISTENER\): the --port forward of machine $M takes its connections over" \
                "$(cat "$WORK/boot-$M.log")" "boot --port=18080 warns of the host's listener"
        assert_eq 1 "$w" "one warning, for 18080 only (18081 is free)"
else
        fail "$M: boot -d -p 18080:80: status $EXIT_RC: $(boot_log "$M")"
fi
kill "$LISTENER"
wait_exit "$LISTENER" 5
forget "$LISTENER"
if [ -n "$(machine_state "$M" supervisor)" ]; then down "$M"; fi

# A listener whose name (any user sets their own) holds terminal escapes: shown as '?', never raw.
python3 -c 'import socket, time
open("/proc/self/comm", "w").write("\x1b[8m\x1b]2;x\x07\x9b")
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 18082)); s.listen(); time.sleep(120)' &
LISTENER=$!
STARTED_PIDS+=("$LISTENER")
wait_for 10 sh -c "ss -Hltn 'sport = :18082' | grep -q ." || fail "no listener on port 18082"
M=portesc
if boot_detached "$M" -p 18082:80 "$TREE"; then
        SUPERVISORS+=("$(machine_state "$M" supervisor)")
        assert_match "Port tcp/18082 has a listener on the host already \(\?\[8m\?\]2;x\?\?\?, pid $LISTENER\)" \
                "$(cat "$WORK/boot-$M.log")" "boot --port=18082 names the listener with its escapes as '?'"
        assert_eq 0 "$(LC_ALL=C grep -c $'\e' "$WORK/boot-$M.log" || true)" "the boot log holds no ESC byte"
else
        fail "$M: boot -d -p 18082:80: status $EXIT_RC: $(boot_log "$M")"
fi
kill "$LISTENER"
wait_exit "$LISTENER" 5
forget "$LISTENER"
if [ -n "$(machine_state "$M" supervisor)" ]; then down "$M"; fi
