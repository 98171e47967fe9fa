#!/bin/bash
# The control socket and the limits (DESIGN.md §4): every request to a stopped supervisor ends
# within its deadline with one line naming the machine and its supervisor, and is not carried out
# later; set-limit with a full runtime dir changes neither the cgroup nor the state; limit errors
# name the limit, the value and why; --pids-max below what an init needs is refused; login without
# a terminal is refused; --port over a port the host listens on warns.
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
