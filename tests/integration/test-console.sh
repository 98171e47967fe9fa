#!/bin/bash
# The interactive console, driven through tmux: "nspawnlite boot" runs in the foreground of a shell in
# a tmux pane; the guest's getty on /dev/console lets root log in; the window size follows the pane;
# Ctrl-] three times kills the machine and gives the shell back its terminal as it was.
. "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null || skip "needs tmux"

BUSYBOX=$(guest busybox) || die "no busybox guest tree (tests/guests/build.sh busybox)"
SYSTEMD=$(guest debian-systemd) || die "no debian-systemd guest tree (tests/guests/build.sh debian-systemd)"

TMUX_SOCK=$WORK/tmux.sock
tm() { tmux -S "$TMUX_SOCK" -f /dev/null "$@"; }
# The tmux server is ours to stop, whatever happens; then lib.sh's cleanup runs with our status.
trap 'rc=$?; tm kill-server >/dev/null 2>&1 || true; (exit $rc); cleanup' EXIT

pane() { tm capture-pane -p -J -t con -S -500 2>/dev/null; }
pane_has() { pane | grep -qE -- "$1"; }
wait_pane() { wait_for "$2" pane_has "$1"; } # REGEX SECONDS
pane_tail() { pane | grep -v '^$' | tail -n "${1:-8}" | tr '\n' '|'; }
type_line() { tm send-keys -t con -l -- "$1" && tm send-keys -t con Enter; }
# the value printed after MARKER: by a command typed as "echo MARKER:$(…)" (the typed line itself
# shows "MARKER:$(", which the pattern does not match)
marker_value() { pane | sed -n "s/^.*$1:\([^\$(]*\)\$/\1/p" | tail -n 1 | sed 's/[[:space:]]*$//'; }
wait_marker() { wait_pane "$1:[^\$(]" "$2"; } # MARKER SECONDS

# A shell in a 100x30 pane, with the test's runtime dir and cgroup parent (the tmux server was
# started by this test, in its namespaces, but is given them explicitly all the same).
tm new-session -d -s con -x 100 -y 30 \
        env NSPAWNLITE_RUNTIME_DIR="$NSPAWNLITE_RUNTIME_DIR" NSPAWNLITE_CGROUP_PARENT="$NSPAWNLITE_CGROUP_PARENT" \
        PS1='pane$ ' TERM=screen bash --norc --noprofile
wait_pane '^pane\$' 10 || die "no shell prompt in the tmux pane: $(pane_tail)"
type_line 'stty sane; echo BEFORE:$(stty -a | tr " ;" "\n\n" | grep -xE -- "-?(icanon|echo|isig|icrnl|opost)" | sort | tr "\n" ,)'
wait_marker BEFORE 5 || die "the pane's shell does not answer: $(pane_tail)"
MODES_BEFORE=$(marker_value BEFORE)
log "pane terminal modes before: $MODES_BEFORE"

# start_boot NAME TREE: run boot in the pane; add its supervisor to what cleanup kills and checks.
start_boot() {
        # a fresh screen and no history: markers and prompts of an earlier machine must not match
        tm send-keys -t con C-l
        sleep 0.2
        tm clear-history -t con
        type_line "$NSPAWNLITE boot -M $1 $2; echo BOOT_RC:\$?"
        if wait_for 20 _leader_alive "$1"; then
                pass "$1: boot started from the pane"
        else
                die "$1: boot did not start: $(pane_tail)"
        fi
        SUPERVISOR=$(machine_state "$1" supervisor)
        [ -n "$SUPERVISOR" ] && STARTED_PIDS+=("$SUPERVISOR")
}

# login_root NAME SECONDS: wait for the console's login prompt, log in as root/root.
login_root() {
        if wait_pane "$1 login: *\$" "$2"; then
                pass "$1: login prompt on the console"
        else
                fail "$1: no login prompt on the console within $2 s: $(pane_tail)"
                return 1
        fi
        type_line root
        wait_pane 'Password: *$' 10 || { fail "$1: no password prompt: $(pane_tail)"; return 1; }
        type_line root
        type_line 'echo LOGGED_IN:$(id -un)'
        wait_marker LOGGED_IN 15 || true
        assert_eq root "$(marker_value LOGGED_IN)" "$1: logged in as root on the console"
}

# wait_boot_exit NAME SECONDS: the supervisor is gone and the pane printed boot's status.
wait_boot_exit() {
        if wait_for "$2" eval '! kill -0 "$SUPERVISOR" 2>/dev/null' && wait_marker BOOT_RC 5; then
                BOOT_RC=$(marker_value BOOT_RC)
                pass "$1: boot exited (status $BOOT_RC)"
        else
                BOOT_RC=
                fail "$1: boot still running after $2 s: $(pane_tail)"
        fi
}

# the terminal is given back as it was: same modes as before boot ran
check_terminal_restored() {
        tm send-keys -t con -l "echo AFTER_$1:\$(stty -a | tr \" ;\" \"\\n\\n\" | grep -xE -- \"-?(icanon|echo|isig|icrnl|opost)\" | sort | tr \"\\n\" ,)"
        tm send-keys -t con Enter
        if wait_marker "AFTER_$1" 10; then
                local after
                after=$(marker_value "AFTER_$1")
                assert_match '(^|,)icanon,' "$after" "$1: terminal has icanon again"
                assert_match '(^|,)echo,' "$after" "$1: terminal has echo again"
                assert_eq "$MODES_BEFORE" "$after" "$1: terminal modes are those before boot"
        else
                fail "$1: the shell in the pane does not answer after boot: $(pane_tail)"
        fi
}

# --- busybox: login, window size, tty, Ctrl-] x3 -------------------------------------------------
M=con-bb
start_boot "$M" "$BUSYBOX"
if login_root "$M" 20; then
        type_line 'echo hello-$$'
        wait_pane '^hello-[0-9]+ *$' 5 && pass "$M: echo hello-\$\$ answers" || fail "$M: no hello-PID: $(pane_tail)"

        type_line 'echo SIZE1:$(stty size)'
        wait_marker SIZE1 5 || true
        assert_eq "30 100" "$(marker_value SIZE1)" "$M: stty size is the pane's (30 100)"

        tm resize-window -t con -x 120 -y 40
        sleep 0.5
        type_line 'echo SIZE2:$(stty size)'
        wait_marker SIZE2 5 || true
        assert_eq "40 120" "$(marker_value SIZE2)" "$M: stty size follows the resized window (40 120)"

        type_line 'echo TTY:$(tty)'
        wait_marker TTY 5 || true
        assert_eq /dev/console "$(marker_value TTY)" "$M: the login shell's tty is /dev/console"
fi

# three Ctrl-] in a row, well within a second
tm send-keys -t con C-] C-] C-]
wait_boot_exit "$M" 10
wait_pane 'Escape typed three times|killing machine' 2 && pass "$M: boot says it kills the machine" ||
        fail "$M: no message about the escape: $(pane_tail)"
check_terminal_restored bb
assert_clean "$M: nothing left behind after Ctrl-] x3"
tm resize-window -t con -x 100 -y 30

# --- Debian systemd: console-getty on /dev/console, login, poweroff from the console -----------
M=con-sd
start_boot "$M" "$SYSTEMD"
if login_root "$M" 60; then
        type_line 'echo TTY:$(tty)'
        wait_marker TTY 5 || true
        assert_eq /dev/console "$(marker_value TTY)" "$M: the login shell's tty is /dev/console"
        type_line 'echo SIZE:$(stty size)'
        wait_marker SIZE 5 || true
        assert_eq "30 100" "$(marker_value SIZE)" "$M: stty size is the pane's (30 100)"
        type_line 'systemctl poweroff'
        wait_boot_exit "$M" 30
        assert_eq 0 "$BOOT_RC" "$M: poweroff typed on the console: boot exits 0"
else
        tm send-keys -t con C-] C-] C-]
        wait_boot_exit "$M" 10
fi
check_terminal_restored sd
assert_clean "$M: nothing left behind after poweroff"
