#!/bin/bash
# "nspawnlite login" (nspawnlite(1) "Logging in"), driven through tmux like test-console.sh:
# on the busybox, Debian systemd, sysvinit and OpenRC guests, login shows the guest's own login
# prompt on a free tty (a pty of the machine's devpts: /dev/pts/N, or /dev/ttyN bound on it), root
# logs in with its password, the window size follows the pane, exit gives a new prompt to the same
# client, Ctrl-] three times detaches and restores the terminal, the session left behind is hung up
# and the next login gets a fresh prompt; two logins at once get two ttys; TIOCSTI inside a session
# never reaches the caller's terminal. --ttys=1: a second login is refused ("in use"), also on a
# machine in the foreground; --ttys=0 and an unknown machine: clear errors.
. "$(dirname "$0")/lib.sh"

needs_tmux_and_gcc

# busybox: an overlay of the cached tree, private to this test (lib.sh).
BB=$(guest busybox) || die "no busybox guest tree (tests/guests/build.sh busybox)"
[ -f "$BB/etc/passwd" ] && [ ! -L "$BB/etc/passwd" ] || die "the busybox tree's etc/passwd is not a plain file"
SYSTEMD=$(guest debian-systemd) || die "no debian-systemd guest tree (tests/guests/build.sh debian-systemd)"
SYSVINIT=$(guest debian-sysvinit) || die "no debian-sysvinit guest tree (tests/guests/build.sh debian-sysvinit)"
OPENRC=$(guest debian-openrc) || die "no debian-openrc guest tree (tests/guests/build.sh debian-openrc)"

# The TIOCSTI probe, $WORK/probe/tiocsti (lib.sh).
build_tiocsti_probe

# The tmux server and the supervisors, stopped on exit; up, down, down_fg, forget, the pane helpers:
# lib.sh.
tmux_harness

# --- tmux panes: sessions "a" and "b", each a plain bash -------------------------------------------
last_is() { [[ $(pane "$1" | grep -v '^[[:space:]]*$' | tail -n 1) =~ $2 ]]; }  # PANE REGEX
wait_last() { wait_for "$3" last_is "$1" "$2"; }                                # PANE REGEX SECONDS

for s in a b; do
        tm new-session -d -s "$s" -x 100 -y 30 \
                env NSPAWNLITE_RUNTIME_DIR="$NSPAWNLITE_RUNTIME_DIR" NSPAWNLITE_CGROUP_PARENT="$NSPAWNLITE_CGROUP_PARENT" \
                PS1='pane$ ' TERM=screen HISTFILE="$WORK/history-$s" bash --norc --noprofile
        wait_pane "$s" '^pane\$' 10 || die "no shell prompt in tmux pane $s: $(pane_tail "$s")"
done
type_line a "stty sane; echo BEFORE:\$($MODES)"
wait_marker a BEFORE 5 || die "the pane's shell does not answer: $(pane_tail a)"
MODES_BEFORE=$(marker_value a BEFORE)
log "pane terminal modes: $MODES_BEFORE"

# start_login PANE NAME: run login in the pane; wait for the guest's login prompt.
start_login() {
        fresh "$1"
        type_line "$1" "$NSPAWNLITE login $2; echo LOGIN_RC:\$?"
        wait_last "$1" "$2 login: *\$" 20
}
# login_root PANE NAME: answer the prompt with root/root; succeeds when a shell of root answers.
login_root() {
        type_line "$1" root
        wait_last "$1" 'Password: *$' 10 || { fail "$2: no password prompt: $(pane_tail "$1")"; return 1; }
        type_line "$1" root
        # the shell's prompt first: login may flush what was typed ahead while it set up
        wait_last "$1" '[#$] *$' 15 || true
        local k=LOGGED_IN_$RANDOM
        for _ in 1 2; do
                type_line "$1" "echo $k:\$(id -un)"
                wait_marker "$1" "$k" 5 && break
        done
        [ "$(marker_value "$1" "$k")" = root ]
}
# detach PANE NAME: Ctrl-] three times; login exits 0 and the pane's shell has its modes back.
detach() {
        tm send-keys -t "$1" C-] C-] C-]
        if wait_marker "$1" LOGIN_RC 10; then
                assert_eq 0 "$(marker_value "$1" LOGIN_RC)" "$2: Ctrl-] three times detaches, login exits 0"
        else
                fail "$2: login still running after Ctrl-] x3: $(pane_tail "$1")"
                return 1
        fi
        type_line "$1" "echo AFTER:\$($MODES)"
        wait_marker "$1" AFTER 5 || true
        assert_eq "$MODES_BEFORE" "$(marker_value "$1" AFTER)" "$2: the pane's terminal is restored (icanon echo…)"
}
gettys_active() { [ "$(in_guest "$1" systemctl is-active container-getty@{1,2,3,4} 2>/dev/null | sort -u)" = active ]; }
# getty_diag NAME: what the guest's gettys are up to, for a failure message.
getty_diag() {
        if [ "$1" = login-systemd ]; then
                local j
                j=$(in_guest "$1" journalctl -b -q --no-pager -u 'container-getty@*' 2>&1) || true
                echo " [container-getty@1..4: $(in_guest "$1" systemctl is-active container-getty@{1,2,3,4} 2>&1 | tr '\n' ' ')|" \
                        "$(echo "$j" | grep -ci 'too many open files') starts failed with 'Too many open files' (the host out of" \
                        "inotify instances: fs.inotify.max_user_instances)| last: $(echo "$j" | grep -iE 'fail|error' | tail -n 1)]"
        else
                echo " [gettys: $(in_guest "$1" ps -e -o pid,tty,args 2>&1 | grep -E 'getty|login' | grep -v grep | tr -s ' ' | tr '\n' ';')]"
        fi
}
guest_pid_gone() { ! in_guest "$1" sh -c "kill -0 $2" 2>/dev/null; }

# login_suite NAME: everything on one booted machine.
login_suite() {
        local m=$1 mark=$RANDOM$RANDOM t spid
        local host_mark=/tmp/nspawnlite-injected-$mark
        rm -f "$host_mark"
        if start_login a "$m"; then
                pass "$m: login shows the guest's login prompt"
        else
                fail "$m: no login prompt: $(pane_tail a)$(getty_diag "$m")"
                tm send-keys -t a C-] C-] C-]
                return
        fi
        if login_root a "$m"; then
                pass "$m: root logs in with its password"
        else
                fail "$m: root cannot log in: $(pane_tail a)"
                detach a "$m"
                return
        fi

        type_line a 'echo TTY:$(tty)'
        wait_marker a TTY 5 || true
        t=$(marker_value a TTY)
        assert_match '^/dev/(pts/[0-9]+|tty[1-4])$' "$t" "$m: the session's tty is /dev/pts/N or /dev/ttyN"
        type_line a 'echo DEV:$(stat -c %t:%d $(tty)):$(stat -c %d /dev/pts/ptmx)'
        wait_marker a DEV 5 || true
        local d
        d=$(marker_value a DEV)
        if [[ $d =~ ^88:([0-9]+):([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] &&
                [ "${BASH_REMATCH[1]}" != "$(stat -c %d /dev/pts/ptmx)" ]; then
                pass "$m: $t is a pty (major 136) of the machine's own devpts"
        else
                fail "$m: $t: major:dev:devpts '$d' (want 88, the guest's devpts, not the host's $(stat -c %d /dev/pts/ptmx))"
        fi

        type_line a 'echo SIZE1:$(stty size)'
        wait_marker a SIZE1 5 || true
        assert_eq "30 100" "$(marker_value a SIZE1)" "$m: stty size is the pane's (30 100)"
        tm resize-window -t a -x 120 -y 40
        sleep 0.5
        type_line a 'echo SIZE2:$(stty size)'
        wait_marker a SIZE2 5 || true
        assert_eq "40 120" "$(marker_value a SIZE2)" "$m: stty size follows the resized window (40 120)"
        tm resize-window -t a -x 100 -y 30

        # TIOCSTI into the session's tty: the machine's seccomp filter refuses it, so nothing is
        # typed anywhere (the caller's terminal is checked after detaching, below).
        type_line a "/probe/tiocsti 'touch /tmp/nspawnlite-injected-$mark'"
        wait_marker a TIOCSTI-PUSHED 5 || true
        assert_eq "0 EPERM" "$(marker_value a TIOCSTI-PUSHED)" "$m: TIOCSTI in a login session is refused (EPERM)"
        sleep 1
        type_line a "echo GUEST_MARK:\$(ls /tmp/nspawnlite-injected-$mark 2>/dev/null | wc -l)"
        wait_marker a GUEST_MARK 5 || true
        assert_eq 0 "$(marker_value a GUEST_MARK)" "$m: nothing was typed into the guest's own tty either"

        # exit: a new prompt on the same client
        type_line a exit
        if wait_last a "$m login: *\$" 20; then
                pass "$m: exit gives a new login prompt on the same client"
        else
                fail "$m: no login prompt after exit: $(pane_tail a)$(getty_diag "$m")"
        fi
        # log in again, then detach while logged in: the session is hung up
        if login_root a "$m"; then
                pass "$m: root logs in again after exit"
                type_line a 'echo SPID:$$'
                wait_marker a SPID 5 || true
                spid=$(marker_value a SPID)
        else
                fail "$m: second login after exit fails: $(pane_tail a)"
                spid=
        fi
        detach a "$m"
        sleep 1
        [ ! -e "$host_mark" ] && pass "$m: TIOCSTI in a login session never reached the caller's terminal" ||
                fail "$m: INJECTED: the caller's shell ran the guest's text ($host_mark exists)"
        rm -f "$host_mark"
        if [[ $spid =~ ^[0-9]+$ ]]; then
                wait_for 10 guest_pid_gone "$m" "$spid" && pass "$m: after detaching, the session's shell ($spid) is gone" ||
                        fail "$m: the session's shell $spid still runs after detaching: $(in_guest "$m" ps -e -o pid,args 2>&1 | grep -w "$spid" | head -n 2)"
        fi

        # a fresh prompt for the next login, and two logins at once get two ttys
        if start_login a "$m"; then
                pass "$m: after a detach, a new login gets a fresh prompt"
        else
                fail "$m: no prompt on the login after a detach: $(pane_tail a)$(getty_diag "$m")"
        fi
        if start_login b "$m"; then
                pass "$m: a second concurrent login gets a prompt"
        else
                fail "$m: no prompt for a second concurrent login: $(pane_tail b)$(getty_diag "$m")"
        fi
        local ta tb
        if login_root a "$m" && login_root b "$m"; then
                type_line a 'echo TTY:$(tty)'
                type_line b 'echo TTY:$(tty)'
                wait_marker a TTY 5 || true
                wait_marker b TTY 5 || true
                ta=$(marker_value a TTY)
                tb=$(marker_value b TTY)
                [[ $ta == /dev/* && $tb == /dev/* && $ta != "$tb" ]] && pass "$m: two logins at once are on two ttys ($ta, $tb)" ||
                        fail "$m: two logins at once: ttys '$ta' and '$tb'"
        else
                fail "$m: root cannot log in on both concurrent sessions: a: $(pane_tail a 3) b: $(pane_tail b 3)"
        fi
        detach a "$m"
        detach b "$m"
}

# --- the four guests --------------------------------------------------------------------------------
for g in busybox:"$BB" systemd:"$SYSTEMD" sysvinit:"$SYSVINIT" openrc:"$OPENRC"; do
        M=login-${g%%:*}
        start=$SECONDS
        if up "$M" --tmpfs=/tmp --bind-ro="$WORK/probe:/probe" "${g#*:}"; then
                # systemd: its own gettys on the ttys must be up, or nothing below means much
                # (a host out of inotify instances makes them fail with 208/STDIN, for one)
                if [ "${g%%:*}" != systemd ] || wait_for 15 gettys_active "$M"; then
                        [ "${g%%:*}" != systemd ] || pass "$M: container-getty@1..4 are active"
                        login_suite "$M"
                else
                        fail "$M: the guest's own gettys are not all up, no login checks:$(getty_diag "$M")"
                fi
                down "$M"
        fi
        log "$M: $((SECONDS - start)) s"
done

# --- --ttys=1 on a machine in the foreground: the second login is refused --------------------------
M=login-one
boot_bg "$M" "$WORK/one.log" --network=none --ttys=1 "$BB"
ONE_PID=$BOOT_PID
wait_running "$M" 20 || die "$M: did not start: $(cat "$WORK/one.log")"
wait_log "$WORK/one.log" 'login: ' 10 || true
if start_login a "$M" && login_root a "$M"; then
        pass "$M (--ttys=1, foreground): the first login works"
else
        fail "$M (--ttys=1, foreground): first login: $(pane_tail a)"
fi
rc=0
# login wants a terminal on stdin: script(1) gives it one (stderr still to $WORK/e)
timeout 20 script -qec "$NSPAWNLITE login $M 2>$WORK/e" /dev/null </dev/null >"$WORK/o" || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$(wc -l <"$WORK/e")" = 1 ] && grep -q 'in use' "$WORK/e" &&
        pass "$M: a second concurrent login fails (status $rc): $(cat "$WORK/e")" ||
        fail "$M: second login: status $rc: $(cat "$WORK/o" "$WORK/e")"
detach a "$M"
if start_login a "$M"; then
        pass "$M: once detached, the only tty takes a login again"
        detach a "$M"
else
        fail "$M: no prompt on the only tty after a detach: $(pane_tail a)"
        tm send-keys -t a C-] C-] C-]
fi
down_fg "$M" "$ONE_PID" "$M: boot in the foreground exits 0 after poweroff"

# --- --ttys=0, unknown machine -----------------------------------------------------------------------
M=login-none
if up "$M" --ttys=0 "$BB"; then
        rc=0
        timeout 20 script -qec "$NSPAWNLITE login $M 2>$WORK/e" /dev/null </dev/null >"$WORK/o" || rc=$?
        [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$(wc -l <"$WORK/e")" = 1 ] && grep -qi 'no login ttys\|ttys=0' "$WORK/e" &&
                pass "$M (--ttys=0): login fails clearly (status $rc): $(cat "$WORK/e")" ||
                fail "$M (--ttys=0): login: status $rc: $(cat "$WORK/o" "$WORK/e")"
        down "$M"
fi
rc=0
timeout 20 "$NSPAWNLITE" login no-such-machine </dev/null >"$WORK/o" 2>"$WORK/e" || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$(wc -l <"$WORK/e")" = 1 ] && grep -q no-such-machine "$WORK/e" &&
        pass "unknown machine: login fails clearly (status $rc): $(cat "$WORK/e")" ||
        fail "unknown machine: login: status $rc: $(cat "$WORK/o" "$WORK/e")"
assert_clean "nothing left behind at the end"
