#!/bin/bash
# The busybox guest boots with busybox init as PID 1, sees the container interface nspawnlite(1) describes,
# and powers off cleanly on SIGTERM to "boot".
. "$(dirname "$0")/lib.sh"

TREE=$(guest busybox)
LOG=$WORK/console.log
boot_bg bbox "$LOG" "$TREE"
wait_log "$LOG" 'nspawnlite-guest: busybox ready' 30 && pass "busybox init ran rcS" || die "guest did not come up: $(cat "$LOG")"
wait_running bbox 10 || die "no state file with a live leader"

assert_eq "/bin/busybox" "$(in_guest bbox readlink /proc/1/exe)" "PID 1 is busybox init"
assert_eq "init" "$(in_guest bbox cat /proc/1/comm)" "PID 1's name is init"
assert_eq "bbox" "$(in_guest bbox hostname)" "hostname is the machine name"
assert_eq "0::/" "$(in_guest bbox cat /proc/1/cgroup | grep '^0::')" "the guest's cgroup is its namespace root"
assert_eq "0 1 2" "$(in_guest bbox ls /proc/1/fd | sort -n | tr '\n' ' ' | sed 's/ $//')" "PID 1 has only fds 0-2"
capbnd=$(in_guest bbox grep CapBnd /proc/1/status | awk '{print $2}')
# nspawn's 26 plus NET_ADMIN, within the host's bounding set
host_bnd=$(grep CapBnd /proc/self/status | awk '{print $2}')
expected=$(printf '%016x' $((0xfdecbfff & 0x$host_bnd)))
assert_eq "$expected" "$capbnd" "CapBnd of PID 1 is the documented mask"
assert_eq "2" "$(in_guest bbox grep Seccomp: /proc/1/status | awk '{print $2}')" "PID 1 runs under a seccomp filter"
assert_eq "container=nspawnlite" "$(in_guest bbox cat /proc/1/environ | tr '\0' '\n' | grep '^container=')" "PID 1's environment says container=nspawnlite"

kill -TERM "$BOOT_PID"
wait_exit "$BOOT_PID" 30
assert_eq 0 "$EXIT_RC" "SIGTERM to boot powers busybox off, exit 0"
assert_clean

# With NSPAWNLITE_LOG_LEVEL=debug a whole boot -> poweroff cycle names its steps, each line stamped
# with CLOCK_MONOTONIC, in order within the supervisor and within the child: where the time goes
# (tests/bench/bench-cycle.sh reads them).
cp -a "$TREE" "$WORK/instant"
printf '::sysinit:/bin/busybox poweroff -f\n' >"$WORK/instant/etc/inittab"
rc=0
NSPAWNLITE_LOG_LEVEL=debug "$NSPAWNLITE" boot -M instant --network=none --console=pipe "$WORK/instant" \
        </dev/null >"$WORK/steps.out" 2>"$WORK/steps.log" || rc=$?
assert_eq 0 "$rc" "a guest that powers off at once: boot exits 0"
[ "$rc" = 0 ] || log "its last lines: $(tail -n 5 "$WORK/steps.log")"
steps_in_order() { # LOG STEP…: one line for each step, their timestamps never decreasing
        local log=$1 prev=0 t step
        shift
        for step in "$@"; do
                t=$(grep -F "]: $step" "$log" | sed -n 's/^nspawnlite\[\([0-9]*\.[0-9]*\) .*/\1/p')
                [ "$(printf '%s' "$t" | grep -c .)" = 1 ] || { echo "not one line '$step'"; return 1; }
                awk -v a="$prev" -v b="$t" 'BEGIN { exit !(b >= a) }' || { echo "'$step' at $t, before $prev"; return 1; }
                prev=$t
        done
        echo ok
}
assert_eq ok "$(steps_in_order "$WORK/steps.log" "Launch step: starting machine" "Launch step: name locked." \
        "Launch step: cgroups made." "Launch step: machine set up." "Launch step: child cloned." \
        "Launch step: network attached" "Launch step: init ended." "Teardown step: cgroups removed." \
        "Teardown step: network released." "Teardown step: state removed.")" \
        "the supervisor's steps are logged once each, in order, with monotonic timestamps"
assert_eq ok "$(steps_in_order "$WORK/steps.log" "Launch step: machine set up." \
        "Launch step: child in its cgroups" "Launch step: root bound." "Launch step: API filesystems mounted." \
        "Launch step: /dev populated." "Launch step: run/host, console and ttys made." "Launch step: pivoted." \
        "Launch step: hostname, network and console set." "Launch step: capabilities and seccomp applied." \
        "Launch step: init ended.")" \
        "the child's steps are logged once each, in order, between the supervisor's set-up and init's end"

# Clone into the cgroup, no -U: the child sets the tree up while the supervisor makes the veth, and
# waits for its go (the sync socket's first read) only after pivot_root, before host0.
if command -v strace >/dev/null; then
        rc=0
        # LeakSanitizer cannot run under ptrace (the sanitizer lane's build): no leak check here.
        ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
                strace -f -qq -e trace=recvmsg,pivot_root -o "$WORK/go.strace" "$NSPAWNLITE" boot -M instant \
                --network=none --console=pipe "$WORK/instant" </dev/null >/dev/null 2>&1 || rc=$?
        assert_eq 0 "$rc" "the same boot under strace exits 0"
        child=$(awk '/ pivot_root\(/ { print $1; exit }' "$WORK/go.strace")
        order=$(awk -v c="$child" '$1 == c && / (recvmsg|pivot_root)\(/ { sub(/\(.*/, "", $2); print $2 }' \
                "$WORK/go.strace" | head -n 2 | tr '\n' ' ')
        assert_eq "pivot_root recvmsg " "$order" "the child waits for the supervisor's go only after pivot_root"
else
        log "no strace: the order of the child's wait is not checked"
fi
assert_clean
