#!/bin/bash
# The Debian OpenRC guest (sysvinit's init as PID 1, OpenRC as the rc system) reaches OpenRC's
# default runlevel with no crashed or failed service, and SIGTERM to "boot" shuts it down cleanly
# (runlevel 0 through /run/initctl), boot exiting 0.
. "$(dirname "$0")/lib.sh"

openrc_runlevel_is() { [ "$(in_guest "$1" rc-status --runlevel 2>/dev/null)" = "$2" ]; }

sysv_boot debian-openrc deb-openrc # sets TREE, M, LOG, BOOT_PID, start (lib.sh)
if wait_for 30 openrc_runlevel_is "$M" default; then
        pass "OpenRC reaches the default runlevel"
else
        fail "rc-status --runlevel is '$(in_guest "$M" rc-status --runlevel 2>&1)', not default: $(tail -n 20 "$LOG" | tr '\n' ' ')"
fi
log "default runlevel after $((SECONDS - start)) s"
if wait_for 10 test "$(in_guest "$M" runlevel 2>/dev/null)" = "N 2"; then
        pass "sysvinit's runlevel is 'N 2'"
else
        fail "sysvinit's runlevel is '$(in_guest "$M" runlevel 2>&1)', not 'N 2'"
fi

exe=$(in_guest "$M" readlink /proc/1/exe) || true
assert_match '^(/usr)?/sbin/init$' "$exe" "PID 1 runs /sbin/init"
assert_match '^sysvinit-core: ' "$(in_guest "$M" dpkg -S /sbin/init 2>&1)" "/sbin/init is sysvinit's"
assert_eq sysvinit "$(machine_state "$M" init)" "the state file says init=sysvinit"
assert_eq "$M" "$(in_guest "$M" hostname)" "hostname is the machine name"
wait_log "$LOG" 'OpenRC .*is starting up' 5 && pass "console shows OpenRC starting" ||
        fail "console does not show 'OpenRC … is starting up': $(head -n 5 "$LOG" | tr '\n' ' ')"
# OpenRC detected the container (rc_sys), so it skips what the manager does
assert_eq SYSTEMD-NSPAWN "$(in_guest "$M" openrc --sys 2>&1)" "OpenRC runs in its container mode (openrc --sys)"

# No crashed daemon: rc-status --crashed lists them and exits 1 when there is none.
crashed_rc=0
crashed=$(in_guest "$M" rc-status --crashed 2>&1) || crashed_rc=$?
assert_eq "|1" "$crashed|$crashed_rc" "rc-status --crashed lists nothing (exit 1: none crashed)"
# No service in the failed state, and every service of the default runlevel started.
all=$(in_guest "$M" rc-status --all --nocolor 2>&1) || true
if grep -qE '\[ *(failed|crashed) *\]' <<<"$all"; then
        fail "services failed: $(grep -E '\[ *(failed|crashed) *\]' <<<"$all" | tr -s ' ' | tr '\n' ';')"
else
        pass "no failed service in rc-status --all"
fi
default=$(in_guest "$M" rc-status default --nocolor 2>&1 | grep -v '^Runlevel:') || true
if [ -n "$default" ] && ! grep -qvE '\[ *started *\]' <<<"$default"; then
        pass "every service of the default runlevel is started ($(awk '{print $1}' <<<"$default" | tr '\n' ' '))"
else
        fail "default runlevel not all started: $(tr -s ' ' <<<"$default" | tr '\n' ';')"
fi
if grep -q 'respawning too fast' "$LOG"; then
        fail "getty respawn storm: $(grep -m1 'respawning too fast' "$LOG")"
else
        pass "no 'respawning too fast' on the console"
fi

# SIGTERM to boot (lib.sh): boot exits 0, init was asked through /run/initctl, the machine was not
# killed, and the console shows each message below.
sysv_shutdown "SIGTERM to boot shuts the OpenRC guest down, exit 0" \
        'Asking all remaining processes to terminate' 'Will now halt'
