#!/bin/bash
# The check of the host's limits before a machine starts (README.md "Many machines"): one line
# naming the sysctl and a value to set; and the error when no address is left to lease. kernel.pid_max is per pid namespace (Linux 6.14 and
# later), so the test lowers it in a pid namespace of its own, where nothing else runs, and fills
# it with its own sleepers: nothing global changes.
source "$(dirname "$0")/lib.sh"

BUSYBOX=$(guest busybox) || die "no busybox guest"

# In the test's pid namespace: pid_max=400; $1 sleepers; then one run. Prints the run's stderr,
# then "rc=N". The sleepers die with the namespace's init (this bash) at the end.
in_pidns() {
        unshare --pid --fork --mount-proc -- bash -c '
                echo 400 >/proc/sys/kernel/pid_max || { echo "rc=pid_max-unwritable"; exit 0; }
                for ((i = 0; i < $1; i++)); do sleep 60 & done
                rc=0
                "$2" run -q --network=none "$3" /bin/true 2>&1 >/dev/null || rc=$?
                echo "rc=$rc"
                kill $(jobs -p) 2>/dev/null
                wait 2>/dev/null
                exit 0' bash "$1" "$NSPAWNLITE" "$BUSYBOX"
}

out=$(in_pidns 0)
[[ $out == *rc=pid_max-unwritable* ]] && skip "kernel.pid_max is not per pid namespace here (Linux < 6.14)"
assert_eq "rc=0" "$out" "pid_max=400 with the namespace nearly empty: the run succeeds without a word"

out=$(in_pidns 360)
assert_match '^nspawnlite: Warning: [0-9]+ of kernel\.pid_max=400 pids are taken and the machine needs about 4 more: forks may fail, in it and on the host; set sysctl kernel\.pid_max=4194304\.$' \
        "$(echo "$out" | grep -v '^rc=')" "pid_max=400 with 360 pids taken: one line naming the sysctl and the value to set"
assert_eq "1" "$(echo "$out" | grep -vc '^rc=')" "one line only"
assert_eq "rc=0" "$(echo "$out" | tail -n 1)" "a warning: the run still succeeds"
assert_clean "the warned run leaves nothing"

# --- leases: a subnet with room for one guest; the second machine is refused in one line that
# says what to do, and leaves nothing (bridge and NAT are the test's own network namespace's).
export NSPAWNLITE_BRIDGE_SUBNET=10.213.0.1/30
"$NSPAWNLITE" boot -q -d --wait-ready --timeout=20 -M lease-a --network=bridge "$BUSYBOX" </dev/null >"$WORK/a.log" 2>&1 ||
        die "lease-a did not start: $(cat "$WORK/a.log")"
rc=0
"$NSPAWNLITE" run -q -M lease-b --network=bridge "$BUSYBOX" /bin/true </dev/null >"$WORK/b.out" 2>"$WORK/b.err" || rc=$?
assert_eq 1 "$(wc -l <"$WORK/b.err")" "no lease left: one line"
assert_match '^nspawnlite: .*No free address left in 10\.213\.0\.1/30 for machine lease-b: power off another machine, or set NSPAWNLITE_BRIDGE_SUBNET to a larger subnet' \
        "$(cat "$WORK/b.err")" "no lease left: the line names the subnet and what to do"
[ "$rc" != 0 ] && pass "no lease left: run fails (status $rc)" || fail "no lease left: run succeeded"
[ ! -e "$NSPAWNLITE_RUNTIME_DIR/machines/lease-b" ] && pass "no lease left: no state of lease-b" ||
        fail "no lease left: lease-b left $(ls "$NSPAWNLITE_RUNTIME_DIR/machines/lease-b")"
timeout 60 "$NSPAWNLITE" poweroff lease-a --timeout=20 >/dev/null 2>&1 && pass "lease-a: poweroff exits 0" ||
        fail "lease-a: poweroff failed"
assert_clean "the lease check leaves nothing"
