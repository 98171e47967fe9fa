#!/bin/bash
# The Debian systemd guest boots to "running" with no failed unit, sees the container interface of
# nspawnlite(1) (cgroup2 view it can manage, capability set, hostname), powers off from inside
# (boot exits 0), and reboots from inside (the supervisor starts it again; SIGTERM then powers it off).
. "$(dirname "$0")/lib.sh"

TREE=$(guest debian-systemd) || die "no debian-systemd guest tree (tests/guests/build.sh debian-systemd)"
M=deb-systemd

# Count the lines of FILE matching the extended regex (0 when none).
count_log() { grep -cE "$2" "$1" || true; }
# new_leader NAME OLD: the state file names a live leader other than OLD.
new_leader() {
        local p
        p=$(leader "$1")
        [ -n "$p" ] && [ "$p" != "$2" ] && kill -0 "$p" 2>/dev/null
}
# boots_at_least FILE N: the console log shows N boots of systemd.
boots_at_least() { [ "$(count_log "$1" 'Welcome to ')" -ge "$2" ]; }

# The guest's view of itself, once it is up.
check_running() { # NAME WHAT
        local state
        state=$(systemd_state "$1")
        assert_eq running "$state" "$2: systemctl is-system-running --wait"
        if [ "$state" != running ]; then
                log "failed units: $(in_guest "$1" systemctl --failed --plain --no-legend 2>&1 | tr '\n' ';')"
                log "jobs: $(in_guest "$1" systemctl list-jobs --plain --no-legend 2>&1 | tr '\n' ';')"
        fi
}

# --- first boot: checks, then poweroff from inside ---------------------------------------------
LOG=$WORK/console-1.log
start=$SECONDS
boot_bg "$M" "$LOG" "$TREE"
wait_running "$M" 20 || die "no state file with a live leader: $(cat "$LOG")"
check_running "$M" "first boot"
log "booted to running in $((SECONDS - start)) s"
# The console is relayed while the guest runs, not only when it ends: systemd opens and closes
# /dev/console around each message, so the relay must keep reading across those hang-ups.
MULTI_USER='Reached target .*(multi-user\.target|Multi-User System)'
wait_log "$LOG" "$MULTI_USER" 5 && pass "console log shows the boot live (multi-user.target reached)" ||
        fail "console log does not show multi-user.target while the guest runs ($(stat -c %s "$LOG") bytes so far)"

assert_empty_ok "no failed unit" in_guest "$M" systemctl --failed --plain --no-legend
assert_eq /usr/lib/systemd/systemd "$(in_guest "$M" readlink /proc/1/exe)" "PID 1 is systemd"
virt=$(in_guest "$M" systemd-detect-virt -c 2>&1) || true
if [ -n "$virt" ] && [ "$virt" != none ]; then
        pass "systemd-detect-virt -c sees a container ($virt)"
else
        fail "systemd-detect-virt -c sees no container: '$virt'"
fi
assert_eq "$M" "$(in_guest "$M" hostname)" "hostname is the machine name"
assert_eq "$M" "$(in_guest "$M" cat /proc/sys/kernel/hostname)" "kernel hostname is the machine name"

capbnd=$(in_guest "$M" grep CapBnd /proc/1/status | awk '{print $2}')
# nspawn's 26 plus NET_ADMIN (own network), within the host's bounding set
host_bnd=$(grep CapBnd /proc/self/status | awk '{print $2}')
expected=$(printf '%016x' $((0xfdecbfff & 0x$host_bnd)))
assert_eq "$expected" "$capbnd" "CapBnd of PID 1 is the documented mask"

# systemd moved itself out of the namespace root into init.scope, and made its own slices: the
# cgroup2 view is a cgroup2 mount, writable by the guest.
assert_eq "0::/init.scope" "$(in_guest "$M" cat /proc/1/cgroup | grep '^0::')" "PID 1 sits in /init.scope"
assert_eq cgroup2fs "$(in_guest "$M" stat -f -c %T /sys/fs/cgroup)" "/sys/fs/cgroup is cgroup2 in the guest"
cg_opts=$(in_guest "$M" findmnt -n -o OPTIONS /sys/fs/cgroup 2>&1) || true
assert_match '^rw(,|$)' "$cg_opts" "/sys/fs/cgroup is mounted read-write"
for d in init.scope system.slice; do
        if in_guest "$M" test -d "/sys/fs/cgroup/$d"; then
                pass "systemd created /sys/fs/cgroup/$d"
        else
                fail "no /sys/fs/cgroup/$d in the guest: $(in_guest "$M" ls /sys/fs/cgroup 2>&1 | tr '\n' ' ')"
        fi
done
journald_cg=$(in_guest "$M" sh -c 'cat /proc/$(pidof systemd-journald)/cgroup' 2>&1 | grep '^0::') || true
assert_eq "0::/system.slice/systemd-journald.service" "$journald_cg" "services run in their own cgroups"
# and the guest can write there itself
if in_guest "$M" sh -c 'mkdir /sys/fs/cgroup/nspawnlite-probe && rmdir /sys/fs/cgroup/nspawnlite-probe'; then
        pass "the guest can create and remove cgroups"
else
        fail "the guest cannot create a cgroup under /sys/fs/cgroup"
fi

in_guest "$M" systemctl poweroff || fail "systemctl poweroff failed"
start=$SECONDS
wait_exit "$BOOT_PID" 30
assert_eq 0 "$EXIT_RC" "systemctl poweroff inside: boot exits 0"
log "powered off in $((SECONDS - start)) s"
wait_log "$LOG" 'System Power Off|Power-Off|Powering off' 1 && pass "console shows the power-off" ||
        fail "console does not show the power-off: $(tail -n 5 "$LOG" | tr '\n' ' ')"
assert_clean "after poweroff from inside"

# --- second boot: reboot from inside, then SIGTERM ---------------------------------------------
LOG=$WORK/console-2.log
boot_bg "$M" "$LOG" "$TREE"
wait_running "$M" 20 || die "second boot: no state file with a live leader: $(cat "$LOG")"
check_running "$M" "second boot"
old_leader=$(leader "$M")
wait_for 5 boots_at_least "$LOG" 1 && pass "console shows the first boot" || fail "console shows no boot"

in_guest "$M" systemctl reboot || fail "systemctl reboot failed"
start=$SECONDS
# The old leader goes, a new one comes, and it boots a second time.
if wait_for 30 new_leader "$M" "$old_leader"; then
        pass "the machine came back with a new leader ($old_leader → $(leader "$M"))"
else
        fail "no new leader after reboot (state: $(tr '\n' ' ' <"$NSPAWNLITE_RUNTIME_DIR/machines/$M/state" 2>&1))"
fi
if kill -0 "$BOOT_PID" 2>/dev/null; then
        pass "boot keeps running across the reboot"
else
        wait_exit "$BOOT_PID" 1
        fail "boot exited on reboot (status $EXIT_RC): $(tail -n 5 "$LOG" | tr '\n' ' ')"
fi
wait_for 30 boots_at_least "$LOG" 2 &&
        pass "console shows a second boot" || fail "console shows $(count_log "$LOG" 'Welcome to ') boot(s)"
check_running "$M" "after reboot"
log "rebooted to running in $((SECONDS - start)) s"
assert_eq "$M" "$(in_guest "$M" hostname)" "hostname is kept across the reboot"
assert_eq "0::/init.scope" "$(in_guest "$M" cat /proc/1/cgroup | grep '^0::')" "PID 1 sits in /init.scope after reboot"

kill -TERM "$BOOT_PID"
start=$SECONDS
wait_exit "$BOOT_PID" 30
assert_eq 0 "$EXIT_RC" "SIGTERM to boot powers systemd off after a reboot, exit 0"
log "SIGTERM to exit in $((SECONDS - start)) s"
assert_clean "after reboot and SIGTERM"
