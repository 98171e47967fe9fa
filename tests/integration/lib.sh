#!/bin/bash
# Shared harness of the root integration tests. Source it first thing:
#   - skips (exit 77) when not root;
#   - re-executes the test in its own network and mount namespace;
#   - gives it its own runtime dir and cgroup parent, so it never touches the host's state;
#   - on exit, whatever happened, kills what it started and removes what it left, then fails the
#     test if nspawnlite itself left anything behind.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NSPAWNLITE=${NSPAWNLITE:-$TOP/build/nspawnlite}
TEST_NAME=$(basename "$0" .sh)

skip() { echo "SKIP: $TEST_NAME: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root"
[ -x "$NSPAWNLITE" ] || { echo "FAIL: $TEST_NAME: $NSPAWNLITE not built"; exit 1; }
command -v unshare >/dev/null || skip "needs unshare (util-linux)"

if [ -z "${NSPAWNLITE_TEST_ISOLATED:-}" ]; then
        export NSPAWNLITE_TEST_ISOLATED=1
        exec unshare --net --mount --propagation private -- "$0" "$@"
fi

export NSPAWNLITE_RUNTIME_DIR
NSPAWNLITE_RUNTIME_DIR=$(mktemp -d /tmp/nspawnlite-test-run.XXXXXX)
# As /run/nspawnlite is: a -U guest's unprivileged root reaches its tree's mount point through it.
chmod 0755 "$NSPAWNLITE_RUNTIME_DIR"
export NSPAWNLITE_CGROUP_PARENT="nspawnlite-test-$$.slice"
WORK=$(mktemp -d /tmp/nspawnlite-test-work.XXXXXX)
STARTED_PIDS=()
# directories a test made outside $WORK (a path that must not be under $WORK's 0700), removed too
TEMP_DIRS=()
FAILURES=0
CHECKS=0

log() { echo "[$TEST_NAME] $*" >&2; }
pass() { CHECKS=$((CHECKS + 1)); echo "PASS: $TEST_NAME: $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILURES=$((FAILURES + 1)); echo "FAIL: $TEST_NAME: $*"; }
die() { fail "$*"; exit 1; }

# Paths of every cgroup hierarchy where nspawnlite may create the test's parent.
cgroup_roots() {
        local d
        for d in /sys/fs/cgroup /sys/fs/cgroup/*; do
                [ -d "$d" ] && [ ! -L "$d" ] || continue
                case "$(stat -f -c %T "$d")" in
                cgroup2fs | cgroupfs) echo "$d" ;;
                esac
        done
}

# What nspawnlite left: cgroups under the test's parent, machine directories, our processes.
leftovers() {
        local root
        for root in $(cgroup_roots); do
                [ -e "$root/$NSPAWNLITE_CGROUP_PARENT" ] && echo "cgroup $root/$NSPAWNLITE_CGROUP_PARENT"
        done
        if [ -d "$NSPAWNLITE_RUNTIME_DIR/machines" ]; then
                find "$NSPAWNLITE_RUNTIME_DIR/machines" -mindepth 1 | sed 's/^/file /'
        fi
        local p
        for p in "${STARTED_PIDS[@]}"; do
                process_alive "$p" && echo "process $p"
        done
        return 0
}

# A process that exited but was not reaped yet (a zombie) is gone for our purposes.
process_alive() {
        local state
        # (any state letter: "t (tracing stop)" is lowercase, as under LeakSanitizer's exit check)
        state=$(sed -n 's/^State:[[:space:]]*\([A-Za-z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
        [ -n "$state" ] && [ "$state" != Z ]
}

assert_clean() {
        local what=${1:-"nothing left behind"} left
        left=$(leftovers)
        if [ -n "$left" ]; then
                fail "$what: left behind: $(echo "$left" | tr '\n' ' ')"
        else
                pass "$what"
        fi
}

cleanup() {
        local rc=$? p root
        for p in "${STARTED_PIDS[@]}"; do
                kill -KILL "$p" 2>/dev/null || true
        done
        for p in "${STARTED_PIDS[@]}"; do
                wait "$p" 2>/dev/null || true
        done
        # A supervisor killed in the middle of its v1 kill (freeze, SIGKILL, thaw) leaves its
        # machine frozen, and a frozen task does not die of SIGKILL there: thaw first.
        find "/sys/fs/cgroup/freezer/$NSPAWNLITE_CGROUP_PARENT" -name freezer.state 2>/dev/null |
                while read -r f; do echo THAWED >"$f"; done 2>/dev/null || true
        for root in $(cgroup_roots); do
                [ -d "$root/$NSPAWNLITE_CGROUP_PARENT" ] || continue
                # kill whatever is still in there, then remove deepest first
                find "$root/$NSPAWNLITE_CGROUP_PARENT" -name cgroup.procs -exec cat {} + 2>/dev/null |
                        xargs -r kill -KILL 2>/dev/null || true
                sleep 0.2
                find "$root/$NSPAWNLITE_CGROUP_PARENT" -depth -type d -exec rmdir {} + 2>/dev/null || true
        done
        # the guests' overlays (the mount namespace is the test's own, but rm must not walk them)
        grep -o " $WORK/[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
        rm -rf "$NSPAWNLITE_RUNTIME_DIR" "$WORK" "${TEMP_DIRS[@]}"
        if [ "$rc" = 0 ] && [ "$FAILURES" -gt 0 ]; then rc=1; fi
        if [ "$rc" = 0 ] && [ "$CHECKS" = 0 ]; then
                echo "FAIL: $TEST_NAME: ran no check"
                rc=1
        fi
        echo "$TEST_NAME: $((CHECKS - FAILURES)) passed, $FAILURES failed"
        exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# guest KIND: a guest tree (busybox, debian-systemd, debian-sysvinit, debian-openrc) for this test
# alone: an overlay of the cached tree with a tmpfs on top, in the test's private mount namespace,
# so nothing a test or its guests write ever reaches the cache that other tests share. The
# directory keeps the cached tree's name (the default machine name comes from it).
GUEST_SEQ=0
guest() {
        local src dst
        src=$("$TOP/tests/guests/build.sh" "$1" | tail -n 1) || return 1
        [ -d "$src" ] || return 1
        GUEST_SEQ=$((GUEST_SEQ + 1))
        dst=$WORK/guest.$1.$BASHPID.$GUEST_SEQ
        mkdir -p "$dst" &&
                mount -t tmpfs -o mode=0755 nspawnlite-test-guest "$dst" &&
                mkdir -p "$dst/upper" "$dst/work" "$dst/${src##*/}" &&
                mount -t overlay overlay -o "lowerdir=$src,upperdir=$dst/upper,workdir=$dst/work" "$dst/${src##*/}" ||
                return 1
        echo "$dst/${src##*/}"
}

# guest_copy KIND: a plain copy of the cached tree on the disk, for what an overlay cannot do
# (an idmapped mount of the tree for -U).
guest_copy() {
        local src dst
        src=$("$TOP/tests/guests/build.sh" "$1" | tail -n 1) || return 1
        GUEST_SEQ=$((GUEST_SEQ + 1))
        dst=$WORK/copy.$1.$BASHPID.$GUEST_SEQ
        mkdir -p "$dst" && cp -a "$src" "$dst/" || return 1
        echo "$dst/${src##*/}"
}

# boot_bg NAME LOGFILE ARGS…: start "nspawnlite boot -M NAME ARGS…" in the background, console output
# to LOGFILE; sets BOOT_PID.
boot_bg() {
        local name=$1 logf=$2
        shift 2
        "$NSPAWNLITE" boot -M "$name" "$@" </dev/null >"$logf" 2>&1 &
        BOOT_PID=$!
        STARTED_PIDS+=("$BOOT_PID")
}

# wait_for SECONDS COMMAND…: retry COMMAND until it succeeds (bounded), 0.1 s apart.
wait_for() {
        local t=$1 i
        shift
        for ((i = 0; i < t * 10; i++)); do
                "$@" >/dev/null 2>&1 && return 0
                sleep 0.1
        done
        return 1
}

# wait_log FILE PATTERN SECONDS: wait until FILE has a line matching the extended regex.
wait_log() {
        wait_for "$3" grep -qE "$2" "$1"
}

machine_state() { # NAME KEY; prints nothing (and succeeds) when there is no such machine
        sed -n "s/^$2=//p" "$NSPAWNLITE_RUNTIME_DIR/machines/$1/state" 2>/dev/null || true
}

leader() { machine_state "$1" leader; }

# wait_running NAME SECONDS: until the machine has a state file with a live leader.
wait_running() {
        wait_for "$2" _leader_alive "$1"
}
_leader_alive() {
        local p
        p=$(leader "$1")
        [ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

# The test's own network namespace starts with lo down.
ip link set lo up 2>/dev/null || true

# in_guest NAME CMD…: run CMD inside the machine's namespaces (a test-side nsenter).
in_guest() {
        local name=$1 p
        shift
        p=$(leader "$name")
        [ -n "$p" ] || return 97
        nsenter -t "$p" -m -u -i -n -p -C -r -w -- "$@"
}

# wait_exit PID SECONDS: wait for a background process of this shell (not in a subshell: only the
# parent can collect it); sets EXIT_RC to its exit status, or to "timeout".
wait_exit() {
        local p=$1 t=$2 i
        EXIT_RC=timeout
        for ((i = 0; i < t * 10; i++)); do
                if ! kill -0 "$p" 2>/dev/null; then
                        EXIT_RC=0
                        wait "$p" || EXIT_RC=$?
                        return 0
                fi
                sleep 0.1
        done
        return 0
}

assert_eq() { # EXPECTED ACTUAL WHAT
        if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: expected '$1', got '$2'"; fi
}

assert_match() { # REGEX ACTUAL WHAT
        if [[ $2 =~ $1 ]]; then pass "$3"; else fail "$3: '$2' does not match /$1/"; fi
}

# assert_empty_ok WHAT CMD…: CMD succeeds and prints nothing, on stdout or stderr. An empty output
# alone proves nothing when the command failed (systemctl before its bus exists prints only on
# stderr): the status and the stderr are in the failure message.
assert_empty_ok() {
        local what=$1 out rc=0
        shift
        out=$("$@" 2>&1) || rc=$?
        if [ "$rc" = 0 ] && [ -z "$out" ]; then pass "$what"; else fail "$what: status $rc, output '$(echo "$out" | head -c 400)'"; fi
}

# systemd_state NAME [RUNNER…]: the guest's "systemctl is-system-running --wait" (stderr included),
# asked once its systemd listens on /run/systemd/private. A machine's leader is alive long before
# that, and systemctl asked earlier says "Failed to connect to bus" (boot -d --wait-ready waits for
# the guest's READY=1, which comes later still). RUNNER runs a command inside: in_guest, or a
# command line before CMD: "in_guest NAME" by default, "$NSPAWNLITE shell NAME --" for -U guests.
# Bounded: 30 s for the socket, 90 s for the wait.
systemd_state() {
        local name=$1
        shift
        [ $# -gt 0 ] || set -- in_guest "$name"
        wait_for 30 in_guest "$name" test -S /run/systemd/private || log "$name: no /run/systemd/private after 30 s"
        "$@" timeout 90 systemctl is-system-running --wait 2>&1 || true
}

# --- Detached machines and tmux panes (test-login.sh, test-shell.sh) ------------------------------

# needs_tmux_and_gcc: skips the test without tmux, or without gcc for the TIOCSTI probe.
needs_tmux_and_gcc() {
        command -v tmux >/dev/null || skip "needs tmux"
        command -v gcc >/dev/null || skip "needs gcc (a static TIOCSTI probe)"
}

# tmux_harness: a tmux server of the test's own (tm) and SUPERVISORS, the supervisors of the machines
# "up" started; on exit, whatever happens, the server is stopped and the supervisors killed, then
# cleanup runs with the test's status.
tmux_harness() {
        SUPERVISORS=()
        TMUX_SOCK=$WORK/tmux.sock
        trap 'rc=$?; set +e; tm kill-server >/dev/null 2>&1; for s in "${SUPERVISORS[@]}"; do kill -KILL "$s" 2>/dev/null; done; (exit $rc); cleanup' EXIT
}
tm() { tmux -S "$TMUX_SOCK" -f /dev/null "$@"; }

# build_tiocsti_probe: $WORK/probe/tiocsti, a static probe that pushes "ARG\n" into the input of its
# stdin's terminal, one byte at a time (bound into the machines at /probe).
build_tiocsti_probe() {
        mkdir -p "$WORK/probe"
        cp "$TOP/tests/integration/tiocsti-probe.c" "$WORK/probe/tiocsti.c"
        gcc -static -O2 -o "$WORK/probe/tiocsti" "$WORK/probe/tiocsti.c" || die "cannot build the TIOCSTI probe"
}

# forget PID: a child we reaped, or a supervisor seen gone, is no longer ours to check or kill
# (pids wrap around quickly on a busy host).
forget() {
        local q keep=() keep_s=()
        for q in "${STARTED_PIDS[@]}"; do [ "$q" = "$1" ] || keep+=("$q"); done
        for q in "${SUPERVISORS[@]}"; do [ "$q" = "$1" ] || keep_s+=("$q"); done
        STARTED_PIDS=("${keep[@]}")
        SUPERVISORS=("${keep_s[@]}")
}

# boot_detached NAME ARGS…: nspawnlite boot -d --wait-ready -M NAME ARGS… (--timeout=60, bounded at
# 90 s), its output in $WORK/boot-NAME.log; sets EXIT_RC. Succeeds when boot exited 0 and the
# machine has a live leader. Recording the supervisor is the caller's business.
boot_detached() {
        local name=$1 p
        shift
        "$NSPAWNLITE" boot -d --wait-ready --timeout=60 -M "$name" "$@" </dev/null >"$WORK/boot-$name.log" 2>&1 &
        p=$!
        STARTED_PIDS+=("$p")
        wait_exit "$p" 90
        [ "$EXIT_RC" = timeout ] || forget "$p"
        [ "$EXIT_RC" = 0 ] && _leader_alive "$name"
}
# boot_log NAME: the start of boot_detached's output, on one line, for failure messages.
boot_log() { tr '\r\n' '  ' <"$WORK/boot-$1.log" | head -c 400; }

# up_quiet NAME ARGS…: boot_detached without a network, remembering the supervisor (SUPERVISORS);
# a failure is reported, success is not. up: the same, success reported too. (Tests with an up of
# their own define it after sourcing this file.)
up_quiet() {
        local name=$1 rc=0 s
        shift
        boot_detached "$name" --network=none "$@" || rc=1
        s=$(machine_state "$name" supervisor)
        [ -z "$s" ] || SUPERVISORS+=("$s")
        [ "$rc" = 0 ] && return 0
        fail "$name: boot -d --wait-ready $*: status $EXIT_RC: $(boot_log "$name")"
        return 1
}
up() {
        up_quiet "$@" || return 1
        pass "$1: boots with ${*:2}"
}
# down NAME: poweroff, then the supervisor is gone and nothing is left.
down() {
        local s rc=0
        s=$(machine_state "$1" supervisor)
        timeout 60 "$NSPAWNLITE" poweroff "$1" --timeout=20 >/dev/null 2>&1 || rc=$?
        if [ -n "$s" ] && wait_for 15 eval "! process_alive $s"; then forget "$s"; fi
        assert_eq 0 "$rc" "$1: poweroff exits 0"
        assert_clean "$1: nothing left behind"
}
# down_fg NAME PID WHAT: poweroff of a machine booted in the foreground (boot_bg) as PID: boot exits
# 0 (the check WHAT) and nothing is left.
down_fg() {
        timeout 30 "$NSPAWNLITE" poweroff "$1" >/dev/null 2>&1 || true
        wait_exit "$2" 30
        [ "$EXIT_RC" = timeout ] || forget "$2"
        assert_eq 0 "$EXIT_RC" "$3"
        assert_clean "$1: nothing left behind"
}

# tmux panes, each named by its session (the first argument of every helper).
pane() { tm capture-pane -p -J -t "$1" -S -1000 2>/dev/null; }                   # PANE
pane_has() { pane "$1" | grep -qE -- "$2"; }                                    # PANE REGEX
wait_pane() { wait_for "$3" pane_has "$1" "$2"; }                               # PANE REGEX SECONDS
pane_tail() { pane "$1" | grep -v '^$' | tail -n "${2:-6}" | tr '\n' '|'; }     # PANE [LINES]
type_line() { tm send-keys -t "$1" -l -- "$2" && tm send-keys -t "$1" Enter; } # PANE TEXT
# the value printed after MARKER: by a line typed as "echo MARKER:$(…)" (the typed line itself shows
# "MARKER:$(", which the pattern does not match)
marker_value() { pane "$1" | sed -n "s/^.*$2:\([^\$(]*\)\$/\1/p" | tail -n 1 | sed 's/[[:space:]]*$//'; }
wait_marker() { wait_pane "$1" "$2:[^\$(]" "$3"; } # PANE MARKER SECONDS
# fresh PANE: a clear screen and no history, so that markers and prompts of before cannot match.
fresh() { tm send-keys -t "$1" C-l; sleep 0.2; tm clear-history -t "$1"; }
# the terminal modes a pane's shell prints with "echo MARKER:\$($MODES)"
# shellcheck disable=SC2034 # for the tests
MODES='stty -a | tr " ;" "\n\n" | grep -xE -- "-?(icanon|echo|isig|icrnl|opost)" | sort | tr "\n" ,'

# --- The Debian guests with sysvinit's init as PID 1 (test-boot-sysvinit.sh, test-boot-openrc.sh) ---

# sysv_boot KIND NAME: boots an overlay of the guest tree KIND (guest) in the background as machine
# NAME, its console to $WORK/console.log; sets TREE, M, LOG, BOOT_PID and start ($SECONDS before
# the boot); dies when no state file with a live leader shows up within 20 s.
sysv_boot() {
        TREE=$(guest "$1") || die "no $1 guest tree (tests/guests/build.sh $1)"
        M=$2
        LOG=$WORK/console.log
        start=$SECONDS
        boot_bg "$M" "$LOG" "$TREE"
        wait_running "$M" 20 || die "no state file with a live leader: $(cat "$LOG")"
}

# sysv_shutdown WHAT MESSAGE…: SIGTERM to the boot of sysv_boot: it exits 0 (the check WHAT) having
# asked init through /run/initctl, without killing the machine; the console shows every MESSAGE;
# nothing is left behind.
sysv_shutdown() {
        local what=$1 msg
        shift
        kill -TERM "$BOOT_PID"
        start=$SECONDS
        wait_exit "$BOOT_PID" 60
        assert_eq 0 "$EXIT_RC" "$what"
        log "shut down in $((SECONDS - start)) s"
        grep -q 'through /run/initctl' "$LOG" && pass "nspawnlite asked init through /run/initctl" ||
                fail "no 'through /run/initctl' in boot's output"
        if grep -qE 'did not power off within|[Kk]illing machine' "$LOG"; then
                fail "the machine was killed, not shut down: $(grep -m1 -E 'did not power off within|[Kk]illing machine' "$LOG")"
        else
                pass "the machine was not killed"
        fi
        for msg in "$@"; do
                if grep -qF "$msg" "$LOG"; then
                        pass "console shows '$msg'"
                else
                        fail "console lacks '$msg': $(tail -n 6 "$LOG" | tr '\n' '|')"
                fi
        done
        assert_clean
}

# --- Logging in with a password through "nspawnlite login" (test-create.sh, test-releases.sh) -----

# new_pane PANE: a tmux session PANE (needs tmux_harness) running a plain bash with the test's
# runtime dir, cgroup parent and store.
new_pane() {
        tm new-session -d -s "$1" -x 100 -y 30 \
                env NSPAWNLITE_RUNTIME_DIR="$NSPAWNLITE_RUNTIME_DIR" NSPAWNLITE_CGROUP_PARENT="$NSPAWNLITE_CGROUP_PARENT" \
                NSPAWNLITE_MACHINES_DIR="${NSPAWNLITE_MACHINES_DIR:-}" \
                PS1='pane$ ' TERM=screen HISTFILE=/dev/null bash --norc --noprofile
        wait_pane "$1" '^pane\$' 10
}
# login_password PANE NAME PASSWORD [SECONDS]: "nspawnlite login NAME" in the pane, root and
# PASSWORD at the guest's prompts; succeeds when a shell of root answers within SECONDS (5) of each
# of three tries. Ctrl-] three times ends it either way.
login_password() {
        local k=LOGGED_IN_$RANDOM ok=1 wait=${4:-5}
        fresh "$1"
        type_line "$1" "$NSPAWNLITE login $2; echo LOGIN_RC:\$?"
        if wait_pane "$1" "login: *\$" 30; then
                type_line "$1" root
                if wait_pane "$1" 'Password: *$' 10; then
                        type_line "$1" "$3"
                        sleep 1
                        for _ in 1 2 3; do
                                type_line "$1" "echo $k:\$(id -un)"
                                wait_marker "$1" "$k" "$wait" && break
                        done
                        [ "$(marker_value "$1" "$k")" = root ] && ok=0
                fi
        fi
        [ "$ok" = 0 ] || log "$2: login pane: $(pane_tail "$1" 8)"
        tm send-keys -t "$1" C-] C-] C-]
        wait_marker "$1" LOGIN_RC 10 || true
        return "$ok"
}
