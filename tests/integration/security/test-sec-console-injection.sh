#!/bin/bash
# A guest program doing ioctl(TIOCSTI) (also with high bits
# set in the request, CVE-2019-10063) on fds 0-2, /dev/tty and /dev/console, and TIOCLINUX paste,
# must never put a character into the terminal of whoever ran nspawnlite. The caller is a bash in
# a fresh terminal (nlsec-pty.py); after nspawnlite returns, that bash reads its next line from the
# terminal: it must be empty, never the text the guest typed back. dev.tty.legacy_tiocsti=1 on the
# build machines, so TIOCSTI works wherever the guest holds the caller's terminal, unless the
# machine's seccomp filter refuses it (it does: EPERM for TIOCSTI and TIOCLINUX, high bits or not).
# Covered: run and boot in every console mode (interactive, read-only, passive, pipe, and pipe
# chosen automatically when stdio is not all a terminal), with and without -U, as root and as an
# unprivileged guest user; shell on a pty and on pipes; login. Also: the guest's console output
# cannot press the kill escape (Ctrl-] three times) of the operator.
. "$(dirname "$0")/sec-lib.sh"

TREE=$(guest busybox)
[ -x "$TREE/bin/busybox" ] || die "no busybox guest tree: '$TREE'"
[ "$(cat /proc/sys/dev/tty/legacy_tiocsti 2>/dev/null || echo 1)" = 1 ] ||
        log "dev.tty.legacy_tiocsti=0 here: TIOCSTI needs CAP_SYS_ADMIN; the checks still apply"
echo "sleep 0.3" >"$WORK/idle.script"

# after_line TRANSCRIPT: what the caller's bash read from its terminal after nspawnlite returned.
after_line() { tr -d '\r' <"$1" | sed -n 's/^AFTER:\[\(.*\)\]$/\1/p' | tail -n 1; }
# tail_of CMD: the caller's side: run CMD, then read the next line typed on the terminal.
tail_of() { echo "$1; echo \"RC=\$?\"; read -t 3 line; echo \"AFTER:[\$line]\""; }

# injected WHAT TRANSCRIPT MARKER: fail if the caller read MARKER back; also require that the
# caller did get to read (the transcript has AFTER:).
not_injected() {
        local what=$1 t=$2 marker=$3 got
        if ! tr -d '\r' <"$t" | grep -q '^AFTER:\['; then
                fail "$what: the caller's shell never got its terminal back (status $PTY_RC): $(tr '\r\n' '  ' <"$t" | tail -c 500)"
                return
        fi
        got=$(after_line "$t")
        if [[ $got == *"$marker"* ]]; then
                fail "$what: the guest typed '$got' into the caller's terminal ($(tr -d '\r' <"$t" | grep '^tiocsti:' | grep ' OK$' | tr '\n' ' '))"
        else
                pass "$what: nothing typed into the caller's terminal"
        fi
}

# ====================================================================================================
# 0. Positive control: the same probe on the host does inject (so the harness can see it).
pty_run "$WORK/control.out" 20 "$WORK/idle.script" "$(tail_of "$PROBE tiocsti 'echo NLSEC-CONTROL' fd0only")"
assert_eq "echo NLSEC-CONTROL" "$(after_line "$WORK/control.out")" "control: TIOCSTI on the host reaches the caller's shell (the harness sees injection)"

# ====================================================================================================
# 1. run, each console mode. STDIO is the redirection of nspawnlite's own stdio.
run_case() { # WHAT MARKER ARGS-AND-REDIRECTIONS
        local what=$1 marker=$2 args=$3
        pty_run "$WORK/case.out" 60 "$WORK/idle.script" \
                "$(tail_of "$NSPAWNLITE run --network=none $PROBE_BIND $args")"
        not_injected "$what" "$WORK/case.out" "$marker"
        cp "$WORK/case.out" "$WORK/case-${marker}.out"
}
P="/nlsec-probe tiocsti"
run_case "run on a terminal (interactive)" RUN-INTERACTIVE "$TREE $P NLSEC-RUN-INTERACTIVE"
run_case "run --console=read-only" RUN-RO "--console=read-only $TREE $P NLSEC-RUN-RO"
run_case "run --console=passive" RUN-PASSIVE "--console=passive $TREE $P NLSEC-RUN-PASSIVE"
run_case "run --console=pipe on a terminal" RUN-PIPE "--console=pipe $TREE $P NLSEC-RUN-PIPE"
for k in fd0 fd0-highbits; do
        got=$(tr -d '\r' <"$WORK/case-RUN-PIPE.out" | awk -v k="tiocsti:$k" '$1 == k {print $2}')
        assert_eq EPERM "$got" "run --console=pipe: the seccomp filter refuses TIOCSTI on $k (the caller's terminal)"
done
run_case "run with stdin from /dev/null, output on the terminal (pipe mode)" RUN-NULLIN "$TREE $P NLSEC-RUN-NULLIN </dev/null"
run_case "run with stdout to a file, stdin on the terminal (pipe mode)" RUN-FILEOUT "$TREE $P NLSEC-RUN-FILEOUT >$WORK/run-out.txt"
run_case "run with all stdio redirected (only /dev/tty left)" RUN-NOSTDIO "$TREE $P NLSEC-RUN-NOSTDIO </dev/null >$WORK/run-out.txt 2>&1"
run_case "run, all stdio redirected, the guest program as user nobody" RUN-NOBODY \
        "$TREE /bin/su -s /bin/sh nobody -c '$P NLSEC-RUN-NOBODY' </dev/null >$WORK/run-out.txt 2>&1"
UTREE=$(guest_copy busybox)
run_case "run -U, all stdio redirected" RUN-USERNS "-U $UTREE $P NLSEC-RUN-USERNS </dev/null >$WORK/run-out.txt 2>&1"
assert_clean "after the run cases"

# Whose pty: in interactive mode the guest's stdin is a pty of its own devpts, never the caller's.
pty_run "$WORK/whose.out" 30 "$WORK/idle.script" \
        "$NSPAWNLITE run --network=none $PROBE_BIND $TREE /bin/sh -c '/nlsec-probe fds; stat -c devpts=%d /dev/pts/ptmx'"
gdev=$(tr -d '\r' <"$WORK/whose.out" | sed -n 's/^devpts=//p')
fd0=$(tr -d '\r' <"$WORK/whose.out" | grep '^fd0 ' || true)
[ -n "$gdev" ] && [[ $fd0 == *" id=$gdev:"* ]] && pass "run (interactive): stdin is a pty of the machine's own devpts" ||
        fail "run (interactive): stdin '$fd0' is not of the machine's devpts ($gdev)"

# ====================================================================================================
# 2. boot: init's console (a hook of the busybox guest's rcS injects, then powers off).
cat >"$WORK/hook.sh" <<'EOF'
#!/bin/sh
/nlsec-probe tiocsti "echo NLSEC-BOOT-$(cat /run/nlsec-mode 2>/dev/null)"
poweroff -f
EOF
chmod 0755 "$WORK/hook.sh"
boot_case() { # WHAT MARKER ARGS-AND-REDIRECTIONS
        local what=$1 marker=$2 args=$3
        pty_run "$WORK/boot.out" 90 "$WORK/idle.script" \
                "$(tail_of "$NSPAWNLITE boot --network=none -M nlsecboot $PROBE_BIND --bind-ro=$WORK/hook.sh:/etc/nspawnlite-test.sh $args $TREE")"
        if tr -d '\r' <"$WORK/boot.out" | grep -q '^tiocsti:fd0'; then
                pass "$what: the guest's init ran the probe"
        else
                fail "$what: the probe did not run: $(tr '\r\n' '  ' <"$WORK/boot.out" | tail -c 400)"
        fi
        not_injected "$what" "$WORK/boot.out" "NLSEC-BOOT"
        assert_clean "$what: nothing left behind"
}
boot_case "boot on a terminal (interactive console)" BOOT-I ""
boot_case "boot --console=pipe on a terminal" BOOT-P "--console=pipe"
boot_case "boot with stdin from /dev/null (read-only console)" BOOT-N "</dev/null"

# ====================================================================================================
# 3. shell and login into a running machine
if up inj "$PROBE_BIND" "$TREE"; then
        pty_run "$WORK/shell.out" 30 "$WORK/idle.script" "$(tail_of "$NSPAWNLITE shell inj -- $P NLSEC-SHELL-PTY")"
        tr -d '\r' <"$WORK/shell.out" | grep -q '^tiocsti:fd0 EPERM' && pass "shell (pty): the probe ran; TIOCSTI on its own pty is refused (EPERM)" ||
                fail "shell (pty): probe output: $(tr '\r\n' '  ' <"$WORK/shell.out" | head -c 400)"
        not_injected "shell on a pty" "$WORK/shell.out" "NLSEC-SHELL-PTY"
        pty_run "$WORK/shell2.out" 30 "$WORK/idle.script" "$(tail_of "$NSPAWNLITE shell inj -- $P NLSEC-SHELL-PIPES >$WORK/shell-out.txt")"
        not_injected "shell on pipes (stdin on the terminal)" "$WORK/shell2.out" "NLSEC-SHELL-PIPES"
        pty_run "$WORK/shell3.out" 30 "$WORK/idle.script" "$(tail_of "$NSPAWNLITE shell inj --uid=nobody -- $P NLSEC-SHELL-NOBODY")"
        not_injected "shell --uid=nobody on a pty" "$WORK/shell3.out" "NLSEC-SHELL-NOBODY"

        # login: the guest's getty on a tty of the machine; root's password is the guest builder's.
        cat >"$WORK/login.script" <<EOF
expect login: 30
send root\r
expect Password: 10
send root\r
expect # 10
send $P NLSEC-LOGIN; stat -c devpts=%d /dev/pts/ptmx; /nlsec-probe fds\r
expect devpts=[0-9]+ 10
sleep 0.5
send exit\r
sleep 1
send \x1d\x1d\x1d
EOF
        pty_run "$WORK/login.out" 60 "$WORK/login.script" "$(tail_of "$NSPAWNLITE login inj")"
        if tr -d '\r' <"$WORK/login.out" | grep -q '^tiocsti:fd0 EPERM'; then
                pass "login: logged in, the probe ran; TIOCSTI is refused (EPERM)"
                ldev=$(tr -d '\r' <"$WORK/login.out" | sed -n 's/^devpts=//p' | head -n 1)
                fd0=$(tr -d '\r' <"$WORK/login.out" | grep '^fd0 ' | head -n 1)
                [[ $fd0 == *" id=$ldev:"* ]] && pass "login: the session's stdin is a pty of the machine's devpts" ||
                        fail "login: stdin '$fd0' is not of the machine's devpts ($ldev)"
        else
                fail "login: could not log in and run the probe: $(tr '\r\n' '  ' <"$WORK/login.out" | tail -c 600)"
        fi
        not_injected "login" "$WORK/login.out" "NLSEC-LOGIN"
        down inj
fi
clean "shell and login"

# ====================================================================================================
# 4. The escape key belongs to the operator: the guest writing Ctrl-] three times on its console
# does not kill it.
pty_run "$WORK/esc.out" 30 "$WORK/idle.script" \
        "$(tail_of "$NSPAWNLITE run --network=none $TREE /bin/sh -c 'printf \"\\035\\035\\035\"; sleep 1; echo STILL-ALIVE'")"
if tr -d '\r' <"$WORK/esc.out" | grep -q 'STILL-ALIVE' && tr -d '\r' <"$WORK/esc.out" | grep -q '^RC=0'; then
        pass "Ctrl-] x3 in the guest's output does not trigger the kill escape"
else
        fail "the guest's Ctrl-] x3 output killed the machine: $(tr '\r\n' '  ' <"$WORK/esc.out" | tail -c 300)"
fi
assert_clean "at the end"
