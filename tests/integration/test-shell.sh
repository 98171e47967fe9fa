#!/bin/bash
# "nspawnlite shell" (nspawnlite(1) "Logging in"): a command or a login shell inside a running
# machine, without a password. Exit status passed on (127 when not found); pipes relayed when stdio
# is not a terminal, stdout and stderr apart; --uid from the guest's passwd; -E, --chdir; a clean
# environment; the cgroup, capability bounding set and seccomp filter of the machine's PID 1; only
# stdio, no host fd; on a tty, a login shell on a pty of the machine's own devpts, where TIOCSTI is
# refused and no keystroke reaches the caller's terminal. On a machine in the foreground, a -U machine (the
# command's host uid is the machine's shift), the Debian systemd guest (init.scope); bad input.
. "$(dirname "$0")/lib.sh"
# v1 hierarchies where nspawnlite makes no cgroup for a machine (no controller of them is set):
# there the command, as the guest, keeps the caller's cgroup.
UNPLACED='^(cpuset|net_cls|net_prio|net_cls,net_prio|perf_event|hugetlb|rdma|misc)$'

needs_tmux_and_gcc

# busybox: a plain copy of the cached tree (lib.sh): -U idmaps it, a check below replaces its
# /etc/passwd.
BB=$(guest_copy busybox) || die "no busybox guest tree (tests/guests/build.sh busybox)"
[ -f "$BB/etc/passwd" ] && [ ! -L "$BB/etc/passwd" ] || die "the busybox tree's etc/passwd is not a plain file"
SYSTEMD=$(guest debian-systemd) || die "no debian-systemd guest tree (tests/guests/build.sh debian-systemd)"

# The TIOCSTI probe, $WORK/probe/tiocsti (lib.sh).
build_tiocsti_probe
# fds [PID]: the open fds of PID (default: its own, without the directory it reads) and their targets.
cat >"$WORK/probe/fds.c" <<'EOF'
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
        char dir[64], p[400], t[300];
        snprintf(dir, sizeof dir, "/proc/%s/fd", argc > 1 ? argv[1] : "self");
        DIR *d = opendir(dir);
        if (!d)
                return 1;
        int self = argc > 1 ? -1 : dirfd(d);
        printf("FDLIST:");
        for (struct dirent *e; (e = readdir(d));) {
                if (e->d_name[0] == '.' || atoi(e->d_name) == self)
                        continue;
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                ssize_t k = readlink(p, t, sizeof t - 1);
                t[k > 0 ? k : 0] = 0;
                printf("%s=%s,", e->d_name, t);
        }
        printf("\n");
        return 0;
}
EOF
gcc -static -O2 -o "$WORK/probe/fds" "$WORK/probe/fds.c" || die "cannot build the fd probe"

# The tmux server and the supervisors, stopped on exit; up, down, down_fg, forget, the pane helpers:
# lib.sh.
tmux_harness

# sh_ NAME ARGS…: nspawnlite shell, bounded, stdin from /dev/null unless redirected by the caller.
sh_() { timeout 30 "$NSPAWNLITE" shell "$@"; }
# status of a command, never failing the script
rc_of() {
        local rc=0
        "$@" || rc=$?
        echo "$rc"
}

# --- tmux: one pane, "sh", with a plain bash --------------------------------------------------------
tm new-session -d -s sh -x 100 -y 30 \
        env NSPAWNLITE_RUNTIME_DIR="$NSPAWNLITE_RUNTIME_DIR" NSPAWNLITE_CGROUP_PARENT="$NSPAWNLITE_CGROUP_PARENT" \
        PS1='pane$ ' TERM=screen SECRET_X=1 HISTFILE="$WORK/pane-history" bash --norc --noprofile
wait_pane sh '^pane\$' 10 || die "no shell prompt in the tmux pane: $(pane_tail sh 8)"
type_line sh "stty sane; echo BEFORE:\$($MODES)"
wait_marker sh BEFORE 5 || die "the pane's shell does not answer: $(pane_tail sh 8)"
MODES_BEFORE=$(marker_value sh BEFORE)

# interactive_shell NAME: "shell NAME" without CMD in the pane: a login shell of root on a pty of
# the machine's devpts; TIOCSTI inside is refused; the terminal comes back.
interactive_shell() {
        local m=$1 mark=$RANDOM$RANDOM
        local host_mark=/tmp/nspawnlite-injected-$mark
        rm -f "$host_mark"
        fresh sh
        type_line sh "$NSPAWNLITE shell $m; echo SHELL_RC:\$?"
        type_line sh 'echo ZERO:$0'
        if ! wait_marker sh ZERO 15; then
                fail "$m: no answer from 'shell' without CMD in a tty: $(pane_tail sh 8)"
                tm send-keys -t sh C-d
                return
        fi
        assert_match '^-' "$(marker_value sh ZERO)" "$m: shell without CMD is a login shell (\$0 starts with -)"
        type_line sh 'echo WHO:$(id -u):$(id -un)'
        wait_marker sh WHO 5 || true
        assert_eq "0:root" "$(marker_value sh WHO)" "$m: the login shell is root's"
        type_line sh 'echo TTY:$(tty)'
        wait_marker sh TTY 5 || true
        local t
        t=$(marker_value sh TTY)
        assert_match '^/dev/pts/[0-9]+$' "$t" "$m: tty is a /dev/pts path"
        type_line sh 'echo DEVPTS:$(stat -c %d:%t $(tty)):$(stat -c %d /dev/pts/ptmx)'
        wait_marker sh DEVPTS 5 || true
        local d
        d=$(marker_value sh DEVPTS)
        if [[ $d =~ ^([0-9]+):88:([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] &&
                [ "${BASH_REMATCH[1]}" != "$(stat -c %d /dev/pts/ptmx)" ]; then
                pass "$m: the tty is a pty (major 136) of the machine's own devpts, not the host's"
        else
                fail "$m: tty device/devpts: '$d' (host devpts $(stat -c %d /dev/pts/ptmx))"
        fi
        # the login shell's own fds (the pane's bash holds a host file on fd 7)
        type_line sh '/probe/fds $$'
        wait_marker sh FDLIST 5 || true
        local fds pts others
        fds=$(marker_value sh FDLIST)
        pts=$(echo "$fds" | sed -n 's|^0=\(/dev/pts/[0-9]*\),.*|\1|p')
        # (busybox's ash keeps /dev/tty, the same terminal, for job control)
        others=$(echo "$fds" | tr ',' '\n' | grep -v '^$' | grep -vx "[0-9]*=$pts" | grep -vx "[0-9]*=/dev/tty") || true
        [ -n "$pts" ] && [ -z "$others" ] && pass "$m: the login shell's fds all are its pty, no host fd ($fds)" ||
                fail "$m: the login shell's fds: '$fds'"
        type_line sh 'echo SECRET:${SECRET_X:-unset}:$TERM'
        wait_marker sh SECRET 5 || true
        assert_eq "unset:screen" "$(marker_value sh SECRET)" "$m: on a tty: TERM is the caller's, nothing else of its environment"
        # TIOCSTI from inside: the machine's seccomp filter refuses it, on the guest's own pty too.
        type_line sh "/probe/tiocsti 'touch /tmp/nspawnlite-injected-$mark'"
        wait_marker sh TIOCSTI-PUSHED 5 || true
        assert_eq "0 EPERM" "$(marker_value sh TIOCSTI-PUSHED)" "$m: TIOCSTI inside 'shell' is refused (EPERM)"
        sleep 1
        type_line sh 'echo GUEST_MARK:$(ls /tmp/nspawnlite-injected-* 2>/dev/null | wc -l)'
        wait_marker sh GUEST_MARK 5 || true
        assert_eq 0 "$(marker_value sh GUEST_MARK)" "$m: nothing was typed into the guest's own pty either"
        type_line sh 'exit'
        if wait_marker sh SHELL_RC 10; then
                assert_eq 0 "$(marker_value sh SHELL_RC)" "$m: exit in the login shell: shell exits 0"
        else
                fail "$m: shell did not end after exit: $(pane_tail sh 8)"
        fi
        sleep 1 # anything injected into the pane's bash would have run by now
        [ ! -e "$host_mark" ] && pass "$m: TIOCSTI in 'shell' never reaches the caller's terminal" ||
                fail "$m: INJECTED: $host_mark was created on the host by the caller's shell"
        rm -f "$host_mark"
        type_line sh "echo AFTER:\$($MODES)"
        wait_marker sh AFTER 5 || true
        assert_eq "$MODES_BEFORE" "$(marker_value sh AFTER)" "$m: the pane's terminal modes are back ($MODES_BEFORE)"
}

# --- busybox, detached -----------------------------------------------------------------------------
M=sh-bb
up "$M" --tmpfs=/tmp --bind-ro="$WORK/probe:/probe" "$BB" || exit 1
PID1=$(leader "$M")

assert_eq 7 "$(rc_of sh_ "$M" -- sh -c 'exit 7' </dev/null)" "$M: exit status of CMD is passed on (7)"
assert_eq 0 "$(rc_of sh_ "$M" -- true </dev/null)" "$M: true exits 0"
assert_eq hi "$(echo hi | sh_ "$M" -- cat)" "$M: echo hi | shell -- cat prints hi (pipes)"
# more than a pipe holds, both ways at once: the relay must never block on one pipe while the
# command blocks on the other
head -c 4000000 /dev/urandom >"$WORK/big"
rc=0
timeout 15 "$NSPAWNLITE" shell "$M" -- cat <"$WORK/big" >"$WORK/big.out" 2>"$WORK/big.err" || rc=$?
cmp -s "$WORK/big" "$WORK/big.out" && pass "$M: 4 MB through 'shell -- cat' (pipes) unchanged" ||
        fail "$M: 4 MB through 'shell -- cat': status $rc, $(stat -c %s "$WORK/big.out") bytes back $(cat "$WORK/big.err")"
# deterministic: the command writes 1 MB before it reads its 1 MB of input
head -c 1000000 /dev/urandom >"$WORK/big"
rc=0
timeout 15 "$NSPAWNLITE" shell "$M" -- sh -c 'head -c 1000000 /dev/zero; cat >/dev/null; echo read-all >&2' \
        <"$WORK/big" >"$WORK/big.out" 2>"$WORK/big.err" || rc=$?
assert_eq "0 1000000 read-all" "$rc $(stat -c %s "$WORK/big.out") $(cat "$WORK/big.err")" \
        "$M: a command that writes 1 MB before reading its 1 MB input does not deadlock with the relay"
rc=0
sh_ "$M" -- sh -c 'echo to-out; echo to-err >&2; exit 3' </dev/null >"$WORK/o" 2>"$WORK/e" || rc=$?
assert_eq "3|to-out|to-err" "$rc|$(cat "$WORK/o")|$(cat "$WORK/e")" "$M: stdout and stderr arrive apart (pipes), status 3"
assert_empty_ok "$M: on pipes the command has no tty" sh_ "$M" -- sh -c 'if tty -s; then echo has-a-tty; fi' </dev/null

assert_eq 65534 "$(sh_ "$M" --uid=nobody -- id -u </dev/null 2>&1)" "$M: --uid=nobody runs as 65534"
assert_eq 65534 "$(sh_ "$M" --uid=65534 -- id -u </dev/null 2>&1)" "$M: --uid=65534 runs as 65534"
assert_eq 0 "$(sh_ "$M" -- id -u </dev/null 2>&1)" "$M: root by default"
rc=0
sh_ "$M" --uid=nosuchuser -- id </dev/null >"$WORK/o" 2>"$WORK/e" || rc=$?
assert_eq 1 "$rc" "$M: --uid=nosuchuser exits 1"
[ "$(wc -l <"$WORK/e")" = 1 ] && grep -qi 'nosuchuser' "$WORK/e" && [ ! -s "$WORK/o" ] &&
        pass "$M: --uid=nosuchuser: one clear line ($(cat "$WORK/e"))" || fail "$M: --uid=nosuchuser said: $(cat "$WORK/o" "$WORK/e")"
rc=0
sh_ "$M" -- nonexistent-cmd-xyz </dev/null >"$WORK/o" 2>"$WORK/e" || rc=$?
assert_eq 127 "$rc" "$M: a command not found exits 127"
grep -q 'nonexistent-cmd-xyz.*not found' "$WORK/e" && pass "$M: not found: clear message ($(cat "$WORK/e"))" ||
        fail "$M: not found said: $(cat "$WORK/e")"

assert_eq bar "$(sh_ "$M" -E FOO=bar -- sh -c 'echo $FOO' </dev/null 2>&1)" "$M: -E FOO=bar reaches the command"
assert_eq /tmp "$(sh_ "$M" --chdir=/tmp -- pwd </dev/null 2>&1)" "$M: --chdir=/tmp: pwd is /tmp"
assert_eq /root "$(sh_ "$M" -- pwd </dev/null 2>&1)" "$M: without --chdir: root's home"
env_names=$(SECRET_X=1 LD_PRELOAD="" sh_ "$M" -E FOO=bar -- env </dev/null 2>&1 | cut -d= -f1 | sort | tr '\n' ' ')
assert_eq "FOO HOME LOGNAME PATH SHELL TERM USER container " "$env_names" "$M: a clean environment (nothing of the caller's)"
assert_eq "container=nspawnlite" "$(sh_ "$M" -- env </dev/null 2>&1 | grep '^container=')" "$M: container=nspawnlite"

# cgroup, seen inside (the machine's cgroup namespace) and from the host
assert_eq "$(in_guest "$M" grep '^0::' /proc/1/cgroup)" "$(sh_ "$M" -- grep '^0::' /proc/self/cgroup </dev/null 2>&1)" \
        "$M: /proc/self/cgroup's 0:: line is PID 1's"
assert_eq "0::/" "$(sh_ "$M" -- grep '^0::' /proc/self/cgroup </dev/null 2>&1)" "$M: busybox: 0::/ (init stays in the root)"
assert_eq "$(grep -E '^(CapBnd|Seccomp):' "/proc/$PID1/status")" \
        "$(sh_ "$M" -- grep -E '^(CapBnd|Seccomp):' /proc/self/status </dev/null 2>&1)" "$M: CapBnd and Seccomp are PID 1's"
tag=$((40000 + RANDOM))
sh_ "$M" -- sleep "$tag" </dev/null >/dev/null 2>&1 &
sleeper=$!
STARTED_PIDS+=("$sleeper")
wait_for 10 pgrep -x -f "sleep $tag" || true
spid=$(pgrep -x -f "sleep $tag" | head -n 1) || true
if [ -n "$spid" ]; then
        bad=$(awk -F: -v p="/$NSPAWNLITE_CGROUP_PARENT/machine-$M.scope/payload" -v skip="$UNPLACED" '$2 !~ skip && index($3, p) != 1' "/proc/$spid/cgroup")
        [ -z "$bad" ] && pass "$M: host side: every cgroup of the command is under the machine's payload" ||
                fail "$M: host side: cgroups outside $NSPAWNLITE_CGROUP_PARENT/machine-$M.scope/payload: $(echo "$bad" | tr '\n' ' ')"
        kill "$spid"
else
        fail "$M: no 'sleep $tag' process seen from the host"
fi
wait_exit "$sleeper" 10
if [ "$EXIT_RC" = timeout ]; then kill "$sleeper" 2>/dev/null; else forget "$sleeper"; fi

# fds: only stdio; a host fd 7 never reaches the guest
echo host-only >"$WORK/hostfile"
exec 7<"$WORK/hostfile"
assert_eq "0 1 2" "$(sh_ "$M" -- sh -c 'ls /proc/$$/fd; :' </dev/null 2>&1 | tr '\n' ' ' | sed 's/ $//')" \
        "$M: sh -c 'ls /proc/\$\$/fd': only fds 0 1 2 (host fd 7 not passed)"
assert_match '^FDLIST:0=pipe:\[[0-9]+\],1=pipe:\[[0-9]+\],2=pipe:\[[0-9]+\],$' "$(sh_ "$M" -- /probe/fds </dev/null 2>&1)" \
        "$M: the command's fds are 0 1 2, nspawnlite's pipes"
exec 7<&-

# A tty: login shell, pty of the machine, no injection into the caller's terminal
type_line sh "exec 7<$WORK/hostfile"
interactive_shell "$M"
# a CMD on a tty also gets the machine's pty
fresh sh
type_line sh "$NSPAWNLITE shell $M -- /probe/fds; echo CMD_RC:\$?"
wait_marker sh CMD_RC 15 || true
assert_match '^0=(/dev/pts/[0-9]+),1=\1,2=\1,$' "$(marker_value sh FDLIST)" "$M: CMD on a tty: fds 0 1 2 only, all the machine's pty"
assert_eq 0 "$(marker_value sh CMD_RC)" "$M: CMD on a tty: status 0"
fresh sh
type_line sh "$NSPAWNLITE shell $M -- sh -c 'exit 9'; echo CMD_RC:\$?"
wait_marker sh CMD_RC 15 || true
assert_eq 9 "$(marker_value sh CMD_RC)" "$M: CMD on a tty: its status 9 is passed on"

# Bad input
rc=0
sh_ no-such-machine -- true </dev/null >"$WORK/o" 2>"$WORK/e" || rc=$?
[ "$rc" != 0 ] && [ "$(wc -l <"$WORK/e")" = 1 ] && grep -q no-such-machine "$WORK/e" &&
        pass "unknown machine: status $rc, $(cat "$WORK/e")" || fail "unknown machine: status $rc: $(cat "$WORK/o" "$WORK/e")"
rc=0
sh_ 'bad/name' -- true </dev/null >"$WORK/o" 2>"$WORK/e" || rc=$?
[ "$rc" != 0 ] && grep -qi 'invalid' "$WORK/e" && pass "invalid name: status $rc, $(cat "$WORK/e")" ||
        fail "invalid name: status $rc: $(cat "$WORK/o" "$WORK/e")"
rc=0
sh_ </dev/null >"$WORK/o" 2>"$WORK/e" || rc=$?
[ "$rc" != 0 ] && grep -qi 'name' "$WORK/e" && pass "missing NAME: status $rc, $(cat "$WORK/e")" ||
        fail "missing NAME: status $rc: $(cat "$WORK/o" "$WORK/e")"
# A guest whose /etc/passwd is a FIFO (nobody writes to it) must not hang shell.
rm -f "$BB/etc/passwd.orig"
mv "$BB/etc/passwd" "$BB/etc/passwd.orig"
mkfifo -m 0644 "$BB/etc/passwd"
start=$SECONDS
rc=0
timeout 10 "$NSPAWNLITE" shell "$M" -- true </dev/null >"$WORK/o" 2>"$WORK/e" || rc=$?
[ "$rc" != 124 ] && pass "$M: a FIFO as the guest's /etc/passwd does not hang shell (status $rc, $(cat "$WORK/e"))" ||
        fail "$M: shell hangs ($((SECONDS - start)) s, killed) when the guest's /etc/passwd is a FIFO"
rm -f "$BB/etc/passwd"
mv "$BB/etc/passwd.orig" "$BB/etc/passwd"
down "$M"

# A machine not running: a state file whose leader is gone (stale)
mkdir -p "$NSPAWNLITE_RUNTIME_DIR/machines/stale"
printf 'name=stale\nstate=running\ninit=busybox\nleader=999999\nleader_starttime=1\nsupervisor=999998\ncgroup=x\n' \
        >"$NSPAWNLITE_RUNTIME_DIR/machines/stale/state"
rc=0
sh_ stale -- true </dev/null >"$WORK/o" 2>"$WORK/e" || rc=$?
[ "$rc" != 0 ] && [ "$(wc -l <"$WORK/e")" = 1 ] && grep -qi 'not running\|gone\|no machine' "$WORK/e" &&
        pass "stale machine: status $rc, $(cat "$WORK/e")" || fail "stale machine: status $rc: $(cat "$WORK/o" "$WORK/e")"
rm -rf "$NSPAWNLITE_RUNTIME_DIR/machines/stale"

# --- busybox in the foreground ---------------------------------------------------------------------
M=sh-fg
boot_bg "$M" "$WORK/fg.log" --network=none --tmpfs=/tmp --bind-ro="$WORK/probe:/probe" "$BB"
FG_PID=$BOOT_PID
wait_running "$M" 20 || die "$M: did not start in the foreground: $(cat "$WORK/fg.log")"
wait_log "$WORK/fg.log" 'busybox ready' 10 || true
assert_eq 7 "$(rc_of sh_ "$M" -- sh -c 'exit 7' </dev/null)" "$M (foreground): exit status 7"
assert_eq hi "$(echo hi | sh_ "$M" -- cat)" "$M (foreground): pipes"
assert_match '^FDLIST:0=pipe:\[[0-9]+\],1=pipe:\[[0-9]+\],2=pipe:\[[0-9]+\],$' "$(sh_ "$M" -- /probe/fds </dev/null 2>&1)" \
        "$M (foreground): the command's fds are 0 1 2, pipes"
interactive_shell "$M"
down_fg "$M" "$FG_PID" "$M (foreground): boot exits 0 after poweroff"

# --- busybox with -U ------------------------------------------------------------------------------
M=sh-u
# The tree lies under $WORK, a root-only (0700) directory, as trees under /var/lib/machines do.
if ! up "$M" -U --tmpfs=/tmp "$BB"; then
        log "$M: -U cannot boot a tree under a 0700 directory; again with $WORK at 0711"
        chmod 0711 "$WORK"
        up "$M" -U --tmpfs=/tmp "$BB" || exit 1
fi
shift_=$(machine_state "$M" uid_shift)
[ -n "$shift_" ] && [ "$shift_" -gt 0 ] && pass "$M: uid_shift=$shift_ in the state file" || fail "$M: uid_shift='$shift_'"
assert_eq 0 "$(sh_ "$M" -- id -u </dev/null 2>&1)" "$M (-U): shell -- id -u prints 0"
assert_eq hi "$(echo hi | sh_ "$M" -- cat)" "$M (-U): pipes"
assert_eq 65534 "$(sh_ "$M" --uid=nobody -- id -u </dev/null 2>&1)" "$M (-U): --uid=nobody"
tag=$((40000 + RANDOM))
sh_ "$M" -- sleep "$tag" </dev/null >/dev/null 2>&1 &
sleeper=$!
STARTED_PIDS+=("$sleeper")
wait_for 10 pgrep -x -f "sleep $tag" || true
spid=$(pgrep -x -f "sleep $tag" | head -n 1) || true
if [ -n "$spid" ]; then
        assert_eq "$shift_ $shift_ $shift_ $shift_" "$(sed -n 's/^Uid:[[:space:]]*//p' "/proc/$spid/status" | tr -s '\t ' '  ')" \
                "$M (-U): the command's host uids are the machine's uid_shift"
        assert_eq "$(grep -E '^(CapBnd|Seccomp):' "/proc/$(leader "$M")/status")" "$(grep -E '^(CapBnd|Seccomp):' "/proc/$spid/status")" \
                "$M (-U): CapBnd and Seccomp are PID 1's"
        kill "$spid"
else
        fail "$M: no 'sleep $tag' process seen from the host"
fi
wait_exit "$sleeper" 10
if [ "$EXIT_RC" = timeout ]; then kill "$sleeper" 2>/dev/null; else forget "$sleeper"; fi
down "$M"

# --- Debian systemd: init.scope ---------------------------------------------------------------------
M=sh-sd
up "$M" --tmpfs=/tmp --bind-ro="$WORK/probe:/probe" "$SYSTEMD" || exit 1
PID1=$(leader "$M")
assert_eq "0::/init.scope" "$(in_guest "$M" grep '^0::' /proc/1/cgroup)" "$M: PID 1 (systemd) is in /init.scope"
assert_eq "0::/init.scope" "$(sh_ "$M" -- grep '^0::' /proc/self/cgroup </dev/null 2>&1)" "$M: the shell's 0:: line is /init.scope, PID 1's"
assert_eq "$(grep -E '^(CapBnd|Seccomp):' "/proc/$PID1/status")" \
        "$(sh_ "$M" -- grep -E '^(CapBnd|Seccomp):' /proc/self/status </dev/null 2>&1)" "$M: CapBnd and Seccomp are PID 1's"
tag=$((40000 + RANDOM))
sh_ "$M" -- sleep "$tag" </dev/null >/dev/null 2>&1 &
sleeper=$!
STARTED_PIDS+=("$sleeper")
wait_for 10 pgrep -x -f "sleep $tag" || true
spid=$(pgrep -x -f "sleep $tag" | head -n 1) || true
if [ -n "$spid" ]; then
        assert_eq "0::/$NSPAWNLITE_CGROUP_PARENT/machine-$M.scope/payload/init.scope" "$(grep '^0::' "/proc/$spid/cgroup")" \
                "$M: host side: the command is in payload/init.scope"
        bad=$(awk -F: -v p="/$NSPAWNLITE_CGROUP_PARENT/machine-$M.scope/payload" -v skip="$UNPLACED" '$2 !~ skip && index($3, p) != 1' "/proc/$spid/cgroup")
        [ -z "$bad" ] && pass "$M: host side: every cgroup of the command is under the machine's payload" ||
                fail "$M: host side: cgroups outside the payload: $(echo "$bad" | tr '\n' ' ')"
        kill "$spid"
else
        fail "$M: no 'sleep $tag' process seen from the host"
fi
wait_exit "$sleeper" 10
if [ "$EXIT_RC" = timeout ]; then kill "$sleeper" 2>/dev/null; else forget "$sleeper"; fi
assert_eq "Debian:hi" "$(echo hi | sh_ "$M" -- sh -c '. /etc/os-release; echo $NAME | cut -d" " -f1 | tr -d "\n"; echo ":$(cat)"')" "$M: pipes"
assert_eq 65534 "$(sh_ "$M" --uid=nobody -- id -u </dev/null 2>&1)" "$M: --uid=nobody"
interactive_shell "$M"
down "$M"
