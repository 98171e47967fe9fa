#!/bin/bash
# The busybox guest boots with busybox init as PID 1, sees the container interface docs/reference.md describes,
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
