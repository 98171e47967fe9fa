#!/bin/bash
# The Debian sysvinit guest boots to its default runlevel with sysvinit's init as PID 1, its gettys
# do not spin, and SIGTERM to "boot" shuts it down cleanly: nspawnlite asks init for runlevel 0
# through /run/initctl, the shutdown scripts run, init halts, boot exits 0.
. "$(dirname "$0")/lib.sh"

runlevel_is() { [ "$(in_guest "$1" runlevel 2>/dev/null)" = "$2" ]; }

sysv_boot debian-sysvinit deb-sysv # sets TREE, M, LOG, BOOT_PID, start (lib.sh)
if wait_for 30 runlevel_is "$M" "N 2"; then
        pass "runlevel reaches 'N 2'"
else
        fail "runlevel is '$(in_guest "$M" runlevel 2>&1)', not 'N 2': $(tail -n 20 "$LOG" | tr '\n' ' ')"
fi
log "runlevel 2 after $((SECONDS - start)) s"

exe=$(in_guest "$M" readlink /proc/1/exe) || true
assert_match '^(/usr)?/sbin/init$' "$exe" "PID 1 runs /sbin/init"
assert_match '^sysvinit-core: ' "$(in_guest "$M" dpkg -S /sbin/init 2>&1)" "/sbin/init is sysvinit's"
assert_match '^init \[2\]' "$(in_guest "$M" cat /proc/1/cmdline | tr '\0' ' ')" "PID 1 shows 'init [2]'"
assert_eq sysvinit "$(machine_state "$M" init)" "the state file says init=sysvinit"
assert_eq "$M" "$(in_guest "$M" hostname)" "hostname is the machine name"
wait_log "$LOG" 'INIT: version [0-9.]+ booting' 5 && pass "console shows sysvinit booting" ||
        fail "console does not show 'INIT: version … booting': $(head -n 3 "$LOG" | tr '\n' ' ')"
wait_log "$LOG" 'INIT: Entering runlevel: 2' 5 && pass "console shows runlevel 2 entered" ||
        fail "console does not show 'INIT: Entering runlevel: 2' ($(stat -c %s "$LOG") bytes so far)"

# Respawning gettys: the console's agetty runs and stays the same process; nothing respawns too fast.
getty_pids() { in_guest "$M" pgrep -f '^/sbin/agetty .* console( |$)' 2>/dev/null | sort | tr '\n' ' '; }
wait_for 10 test -n "$(getty_pids)" || true
first=$(getty_pids)
if [ -n "$first" ]; then pass "an agetty runs on the console ($first)"; else fail "no agetty on the console"; fi
sleep 3
assert_eq "$first" "$(getty_pids)" "the console getty is not respawned"
if grep -q 'respawning too fast' "$LOG"; then
        fail "getty respawn storm: $(grep -m1 'respawning too fast' "$LOG")"
else
        pass "no 'respawning too fast' on the console"
fi
inits=$(in_guest "$M" ps -e -o args= | grep -c '^/sbin/nspawnlite-getty\|^/sbin/agetty') || true
log "getty processes: $inits"

# With concurrent (makefile) boot, halt must come after sendsigs in the stop order, or it races it.
if grep -qE '^halt:.*(sendsigs|umountnfs\.sh|umountroot)' "$TREE/etc/init.d/.depend.stop" 2>/dev/null; then
        pass "insserv orders halt after sendsigs"
else
        fail "insserv does not order halt after sendsigs: $(tr '\n' '|' <"$TREE/etc/init.d/.depend.stop" 2>&1)"
fi

# SIGTERM to boot (lib.sh): boot exits 0, init was asked through /run/initctl, the machine was not
# killed, and the console shows each message below.
# The shutdown as init and the rc scripts print it on the console. (Not "INIT: Switching to
# runlevel: 0": init tcflush()es the console right after printing it, in console_stty(), so it is
# lost whenever init wins the race against any reader, on a serial line as on a pty.)
# sendsigs and halt run in that order only if insserv orders halt after sendsigs/umountnfs.sh.
sysv_shutdown "SIGTERM to boot shuts sysvinit down, exit 0" \
        'INIT: Sending processes configured via /etc/inittab the TERM signal' \
        'Using makefile-style concurrent boot in runlevel 0' \
        'Asking all remaining processes to terminate' 'Will now halt'
