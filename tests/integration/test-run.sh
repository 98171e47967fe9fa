#!/bin/bash
# "nspawnlite run" runs one command in a fresh container and behaves like the command itself: its exit
# status (128+N when killed by signal N) comes back, stdin/stdout/stderr are passed through (as pipes,
# or as a terminal under script(1)), a missing command is exit 127 with one clear line, any tree works
# (no os-release needed), the environment is the documented clean one plus -E, the capability bounding
# set and seccomp are those of a guest, and no fd of the host or of nspawnlite reaches
# the container (neither the command nor the stub PID 1).
. "$(dirname "$0")/lib.sh"

TREE=$(guest busybox)
[ -x "$TREE/bin/busybox" ] || die "no busybox guest tree: '$TREE'"

# run_rc ARGS…: run "nspawnlite run ARGS…" with bounded time; sets RC, output to $WORK/out, $WORK/err.
run_rc() {
        RC=0
        timeout 30 "$NSPAWNLITE" run "$@" </dev/null >"$WORK/out" 2>"$WORK/err" || RC=$?
}

# --- exit statuses are passed on -------------------------------------------------------------------
run_rc "$TREE" true
assert_eq 0 "$RC" "run true exits 0"
run_rc "$TREE" false
assert_eq 1 "$RC" "run false exits 1"
run_rc "$TREE" sh -c 'exit 42'
assert_eq 42 "$RC" "run sh -c 'exit 42' exits 42"
run_rc "$TREE" sh -c 'kill -9 $$'
assert_eq 137 "$RC" "a command killed by SIGKILL gives 128+9"
assert_eq "" "$(cat "$WORK/err")" "nothing on stderr for a command's own exit statuses"
assert_clean "after the exit-status runs"

# --- stdin, stdout and stderr as pipes ---------------------------------------------------------------
out=$(echo hi | timeout 30 "$NSPAWNLITE" run "$TREE" cat) || true
assert_eq "hi" "$out" "stdin is piped through to the command"

# stdout and stderr each into its own pipe; the command also reports what its fds 1 and 2 are.
rm -f "$WORK/out" "$WORK/err"
{
        {
                rc=0
                timeout 30 "$NSPAWNLITE" run "$TREE" sh -c \
                        'echo to-out; echo to-err >&2; readlink /proc/$$/fd/1; readlink /proc/$$/fd/2; exit 5' \
                        </dev/null || rc=$?
                echo "$rc" >"$WORK/rc"
        } 2>&1 1>&3 3>&- | cat >"$WORK/err"
} 3>&1 | cat >"$WORK/out"
assert_eq 5 "$(cat "$WORK/rc")" "exit status with stdout and stderr on pipes"
assert_eq "to-err" "$(cat "$WORK/err")" "stderr carries only what the command wrote to stderr"
assert_eq "to-out" "$(sed -n 1p "$WORK/out")" "stdout carries what the command wrote to stdout"
fd1=$(sed -n 2p "$WORK/out")
fd2=$(sed -n 3p "$WORK/out")
assert_match '^pipe:\[[0-9]+\]$' "$fd1" "the command's stdout is the caller's pipe"
assert_match '^pipe:\[[0-9]+\]$' "$fd2" "the command's stderr is the caller's pipe"
if [ -n "$fd1" ] && [ "$fd1" != "$fd2" ]; then pass "stdout and stderr stay separate pipes"; else fail "stdout and stderr are the same: '$fd1' '$fd2'"; fi
assert_clean "after the pipe runs"

# --- as a terminal -----------------------------------------------------------------------------------
if command -v script >/dev/null; then
        # script(1) gives nspawnlite a pty as stdin/stdout; the command must see a terminal too.
        rc=0
        tty_out=$(timeout 30 script -qec "'$NSPAWNLITE' run '$TREE' sh -c 'tty; test -t 0 && echo stdin-is-a-tty; test -t 1 && echo stdout-is-a-tty; exit 7'" /dev/null < <(sleep 4) | tr -d '\r') || rc=$?
        assert_eq 7 "$rc" "exit status is passed on when run on a terminal"
        tty_name=$(echo "$tty_out" | grep -E '^/|^not a tty' | head -n 1) || true
        assert_match '^/dev/(console|pts/[0-9]+)$' "$tty_name" "on a terminal, the command's stdin is a tty"
        if echo "$tty_out" | grep -qx stdin-is-a-tty && echo "$tty_out" | grep -qx stdout-is-a-tty; then
                pass "test -t 0 and test -t 1 succeed, and the output comes back through the terminal"
        else
                fail "the command did not see a terminal, or its output was lost: $(echo "$tty_out" | tr '\n' '|')"
        fi
        assert_clean "after the terminal run"
else
        fail "script (util-linux) is missing: cannot test run on a terminal"
fi

# --- command not found -------------------------------------------------------------------------------
run_rc "$TREE" /no/such/command
assert_eq 127 "$RC" "a missing command gives exit 127"
assert_eq 1 "$(wc -l <"$WORK/err")" "a missing command gives exactly one line on stderr"
assert_match 'no/such/command.*(No such file|not found)' "$(cat "$WORK/err")" "the error line names the missing command"
assert_eq "" "$(cat "$WORK/out")" "a missing command prints nothing on stdout"
assert_clean "after the missing command"

# --- a tree without os-release -----------------------------------------------------------------------
cp -a "$TREE" "$WORK/noos"
rm -f "$WORK/noos/etc/os-release" "$WORK/noos/usr/lib/os-release"
run_rc "$WORK/noos" sh -c 'echo no-os-release-ok'
assert_eq 0 "$RC" "run works on a tree without os-release"
assert_eq "no-os-release-ok" "$(cat "$WORK/out")" "its output arrives"
assert_clean "after the run without os-release"

# --- environment -------------------------------------------------------------------------------------
export SECRET_HOST_VAR=1
run_rc -E FOO=bar -E 'SPACED=a b=c' "$TREE" env
unset SECRET_HOST_VAR
assert_eq 0 "$RC" "env runs"
assert_eq "FOO=bar" "$(grep '^FOO=' "$WORK/out")" "-E FOO=bar reaches the command"
assert_eq "SPACED=a b=c" "$(grep '^SPACED=' "$WORK/out")" "-E keeps spaces and '=' in the value"
assert_eq "container=nspawnlite" "$(grep '^container=' "$WORK/out")" "the command's environment says container=nspawnlite"
assert_eq "" "$(grep '^SECRET_HOST_VAR=' "$WORK/out")" "the caller's variables do not reach the command"
# Only documented names and the -E ones.
extra=$(sed 's/=.*//' "$WORK/out" | grep -vxE 'container|container_uuid|container_ttys|NOTIFY_SOCKET|PATH|TERM|HOME|USER|LOGNAME|FOO|SPACED' | tr '\n' ' ') || true
assert_eq "" "$extra" "no undocumented variable in the command's environment"

# --- capabilities and seccomp ------------------------------------------------------------------------
run_rc "$TREE" cat /proc/self/status
host_bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
expected=$(printf '%016x' $((0xfdecbfff & 0x$host_bnd)))
assert_eq "$expected" "$(awk '/^CapBnd:/ {print $2}' "$WORK/out")" "the command's CapBnd is the documented mask (own network)"
assert_eq 2 "$(awk '/^Seccomp:/ {print $2}' "$WORK/out")" "the command runs under a seccomp filter"
assert_clean "after the environment and status runs"

# --- file descriptors --------------------------------------------------------------------------------
# An extra fd in the caller (not close-on-exec) must not reach the container.
exec 7>"$WORK/host-fd-7"
# The shell lists its own fds while ls runs in a child ("; true" keeps sh from exec'ing ls).
run_rc "$TREE" sh -c 'ls /proc/$$/fd; true'
assert_eq "0 1 2" "$(sort -n "$WORK/out" | tr '\n' ' ' | sed 's/ $//')" "the command holds only fds 0, 1, 2 (host fd 7 not inherited)"
run_rc "$TREE" sh -c 'cat /proc/1/comm; ls /proc/1/fd; true'
assert_eq "0 1 2" "$(sed 1d "$WORK/out" | sort -n | tr '\n' ' ' | sed 's/ $//')" "the stub PID 1 holds only fds 0, 1, 2"
# Nothing inside may point at the host file behind fd 7, nor at nspawnlite's own fds (the name lock,
# the cgroup directory, the signalfd, the sync socket).
run_rc "$TREE" sh -c 'for p in /proc/[0-9]*; do for f in $p/fd/*; do l=$(readlink $f) && echo "$p ${f##*/} $l"; done; done; true'
leaks=$(awk '$2 > 2' "$WORK/out" | grep -F host-fd-7 | tr '\n' ' ') || true
assert_eq "" "$leaks" "the test's fd 7 is held by no process in the container"
leaks=$(awk '$2 > 2' "$WORK/out" | grep -E "$NSPAWNLITE_RUNTIME_DIR|/sys/fs/cgroup|anon_inode|socket:" | tr '\n' ' ') || true
assert_eq "" "$leaks" "no process in the container holds one of nspawnlite's fds"
exec 7>&-
assert_clean "after the fd runs"
