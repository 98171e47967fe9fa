#!/bin/bash
# Shared by the security tests (tests/integration/security/test-sec-*.sh): the harness of
# tests/integration/lib.sh (root, own net+mount namespace, runtime dir, cgroup parent, cleanup), the
# static probe nlsec-probe (built once per test into $WORK), detached machines whose supervisors are
# tracked, and small assertions. Source it first thing:  . "$(dirname "$0")/sec-lib.sh"
SEC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
. "$SEC_DIR/../lib.sh"

command -v gcc >/dev/null || die "needs gcc with a static libc (libc6-dev) for the probe"
PROBE=$WORK/nlsec-probe
gcc -static -O1 -o "$PROBE" "$SEC_DIR/nlsec-probe.c" 2>"$WORK/probe-build.log" ||
        die "cannot build the static probe: $(head -c 600 "$WORK/probe-build.log")"
chmod 0755 "$WORK" "$PROBE" # -U guests run it as an unprivileged host id
PTY=$SEC_DIR/nlsec-pty.py
command -v python3 >/dev/null || die "needs python3 for the terminal harness"
# The probe inside a machine: bound read-only at /nlsec-probe.
PROBE_BIND=--bind-ro=$PROBE:/nlsec-probe

# Supervisors of detached machines are not our children: killed if the test dies.
SUPERVISORS=()
trap 'rc=$?; set +e; for s in "${SUPERVISORS[@]}"; do kill -KILL "$s" 2>/dev/null; done; (exit $rc); cleanup' EXIT
_no_supervisor_left() {
        local p
        for p in "${SUPERVISORS[@]}"; do
                process_alive "$p" && return 1
        done
        return 0
}
# clean WHAT: every supervisor ended (bounded), then nothing left behind.
clean() {
        wait_for 15 _no_supervisor_left || fail "$1: supervisors still running"
        assert_clean "$1: nothing left behind"
}

# up NAME ARGS…: boot -d --wait-ready (no network unless ARGS say so), bounded; 0 when it runs.
up() { up_quiet "$@"; }

# down NAME: terminate, bounded.
down() {
        timeout 30 "$NSPAWNLITE" terminate "$1" >/dev/null 2>&1 || true
        wait_for 15 _gone "$1" || fail "$1: still registered after terminate"
}
_gone() { [ ! -e "$NSPAWNLITE_RUNTIME_DIR/machines/$1" ]; }

# sh_in NAME CMD…: CMD through "nspawnlite shell" (pipes, bounded): under the machine's
# capabilities, seccomp filter and cgroup, unlike in_guest (a plain nsenter from the test).
sh_in() {
        local name=$1
        shift
        timeout 30 "$NSPAWNLITE" shell "$name" -- "$@" </dev/null
}

# pty_run TRANSCRIPT TIMEOUT SCRIPT CMDLINE: CMDLINE run by "bash -c" as the session leader of a
# fresh terminal (nlsec-pty.py), SCRIPT played against it. Sets PTY_RC.
pty_run() {
        PTY_RC=0
        python3 "$PTY" "$1" "$2" "$3" -- bash --norc --noprofile -c "$4" || PTY_RC=$?
}

# dev_ino PATH…: "dev:ino" (numbers, following links) of each path; for a set of host objects.
dev_ino() { stat -L -c '%d:%i' "$@" 2>/dev/null; }

# hex_bit HEX BIT: 0 or 1.
hex_bit() { echo $(((0x$1 >> $2) & 1)); }

# The bounding set the machines get by default, within the host's own.
HOST_BND=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
default_caps() { # own-network: 1 or 0
        local m=0xfdecafff
        [ "$1" = 1 ] && m=0xfdecbfff
        printf '%016x' $((m & 0x$HOST_BND))
}
