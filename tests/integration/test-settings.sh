#!/bin/bash
# .nspawn settings files (systemd.nspawn(5)): what a file in a trusted place (NSPAWNLITE_SETTINGS_PATH
# stands for /etc/systemd/nspawn:/run/systemd/nspawn) does inside the guest, the trust model (a file
# beside the store's images, NSPAWNLITE_MACHINES_DIR, has its privileged keys ignored unless
# --settings=trusted), --settings=no and override, the command line winning, and bad files: one line,
# non-zero exit, nothing left. Both places are temporary directories of the test, never the host's.
. "$(dirname "$0")/lib.sh"

TREE=$(guest busybox)
[ -x "$TREE/bin/busybox" ] || die "no busybox guest tree: '$TREE'"
ETC=$WORK/etc-nspawn
STORE=$WORK/machines
mkdir -p "$ETC" "$STORE" "$WORK/src"
echo bind-content >"$WORK/src/file"
export NSPAWNLITE_SETTINGS_PATH=$WORK/none:$ETC NSPAWNLITE_MACHINES_DIR=$STORE

# run_rc ARGS…: "nspawnlite run ARGS…", bounded; sets RC, output in $WORK/out and $WORK/err.
run_rc() {
        RC=0
        timeout 60 "$NSPAWNLITE" run "$@" </dev/null >"$WORK/out" 2>"$WORK/err" || RC=$?
}
out_line() { sed -n "$1p" "$WORK/out"; }
capbnd() { sed -n 's/^CapBnd:[[:space:]]*//p' "$WORK/out"; }
PROBE='echo "env:$FOO|$BAR"; hostname; cat /mnt/src/file 2>/dev/null || echo no-bind;
       if touch /written 2>/dev/null; then echo writable; else echo read-only; fi;
       ls /sys/class/net | tr "\n" " "; echo; grep CapBnd /proc/self/status'

# --- the baseline, with no file --------------------------------------------------------------------
run_rc -M sfile "$TREE" sh -c "$PROBE"
assert_eq 0 "$RC" "without a settings file the probe runs (stderr: $(head -c 300 "$WORK/err"))"
BASE_CAPS=$(capbnd)
assert_eq "sfile" "$(out_line 2)" "without a file the hostname is the machine name"

# --- a trusted file: every key takes effect inside the guest ----------------------------------------
cat >"$ETC/sfile.nspawn" <<EOS
# a settings file as systemd-nspawn reads it
[Exec]
Environment=FOO=from-file "BAR=two words"
Hostname=filehost
DropCapability=CAP_SYS_ADMIN
Capability=CAP_SYS_TIME

[Files]
ReadOnly=yes
Bind=$WORK/src:/mnt/src

[Network]
Private=yes
EOS
run_rc -M sfile "$TREE" sh -c "$PROBE"
assert_eq 0 "$RC" "a trusted settings file: the run succeeds (stderr: $(head -c 300 "$WORK/err"))"
assert_eq "env:from-file|two words" "$(out_line 1)" "Environment= reaches the guest, quoted words kept together"
assert_eq "filehost" "$(out_line 2)" "Hostname= is the guest's hostname"
assert_eq "bind-content" "$(out_line 3)" "Bind= shows the host directory inside the guest"
assert_eq "read-only" "$(out_line 4)" "ReadOnly=yes: writing to / fails"
assert_eq "lo " "$(out_line 5)" "Private=yes: only lo in the guest's network namespace"
caps=$(capbnd)
if [ -n "$caps" ] && [ -n "$BASE_CAPS" ] && (((0x$caps & (1 << 21)) == 0)) && (((0x$BASE_CAPS & (1 << 21)) != 0)); then
        pass "DropCapability=CAP_SYS_ADMIN: CAP_SYS_ADMIN leaves the bounding set ($BASE_CAPS -> $caps)"
else
        fail "DropCapability=CAP_SYS_ADMIN: CapBnd $BASE_CAPS -> '$caps'"
fi
if [ -n "$caps" ] && (((0x$caps & (1 << 25)) != 0)); then
        pass "Capability=CAP_SYS_TIME: CAP_SYS_TIME joins the bounding set"
else
        fail "Capability=CAP_SYS_TIME: CapBnd '$caps' lacks bit 25"
fi
assert_eq "" "$(cat "$WORK/err")" "a good file prints nothing on stderr"
assert_clean "after the trusted file's run"

# --- the command line wins; --settings=override lets the file win; --settings=no reads nothing ----
run_rc -M sfile --hostname=cli -E FOO=cli --network=none "$TREE" sh -c 'hostname; echo "$FOO"'
assert_eq "0|cli|cli" "$RC|$(out_line 1)|$(out_line 2)" "--hostname= and -E win over Hostname= and Environment="
run_rc -M sfile --settings=override --hostname=cli --network=none "$TREE" sh -c 'hostname'
assert_eq "0|filehost" "$RC|$(out_line 1)" "--settings=override: Hostname= wins over --hostname="
run_rc -M sfile --settings=no "$TREE" sh -c "$PROBE"
assert_eq "0|env:||sfile|no-bind|writable" "$RC|$(out_line 1)|$(out_line 2)|$(out_line 3)|$(out_line 4)" \
        "--settings=no: none of the file applies"
rm "$ETC/sfile.nspawn"

# --- User=, WorkingDirectory=, Parameters= (a run without a command) ---------------------------------
cat >"$ETC/suser.nspawn" <<'EOS'
[Exec]
User=nobody
WorkingDirectory=/tmp
Parameters=/bin/sh -c "echo uid=\$(id -u) dir=\$PWD home=\$HOME"
EOS
run_rc -M suser --network=none "$TREE"
assert_eq "0|uid=65534 dir=/tmp home=/nonexistent" "$RC|$(out_line 1)" \
        "User=, WorkingDirectory= and Parameters= make the command, its user and its directory"
run_rc -M suser --network=none -u root --chdir=/ "$TREE" /bin/sh -c 'echo "$(id -u) $PWD"'
assert_eq "0|0 /" "$RC|$(out_line 1)" "-u and --chdir= (and a command) win over the file"
rm "$ETC/suser.nspawn"
run_rc --network=none -u nosuchuser "$TREE" true
assert_eq "1|1" "$RC|$(wc -l <"$WORK/err")" "-u with a user the guest does not know: exit 1, one line"
assert_match "nosuchuser is not in the guest's /etc/passwd" "$(cat "$WORK/err")" "the line names the user"
assert_clean "after the unknown user"

# --- the trust model: a file beside the store's images ---------------------------------------------
cat >"$STORE/sstore.nspawn" <<EOS
[Exec]
Hostname=storehost
[Files]
Bind=$WORK/src:/mnt/src
EOS
run_rc -M sstore --network=none "$TREE" sh -c 'hostname; cat /mnt/src/file 2>/dev/null || echo no-bind'
assert_eq "0|storehost|no-bind" "$RC|$(out_line 1)|$(out_line 2)" \
        "a store file: its unprivileged Hostname= applies, its Bind= does not"
assert_eq 1 "$(grep -c 'Ignoring Bind=.*not trusted.*--settings=trusted' "$WORK/err")" \
        "the ignored Bind= is one warning line naming --settings=trusted"
run_rc -M sstore --network=none --settings=trusted "$TREE" sh -c 'cat /mnt/src/file'
assert_eq "0|bind-content" "$RC|$(out_line 1)" "--settings=trusted: the store file's Bind= applies"
# The same name in a trusted place hides the store's file.
printf '[Exec]\nHostname=etchost\n' >"$ETC/sstore.nspawn"
run_rc -M sstore --network=none "$TREE" sh -c 'hostname'
assert_eq "0|etchost" "$RC|$(out_line 1)" "a trusted place's file is used, not the store's"
rm "$ETC/sstore.nspawn"

# --- PrivateUsers= from a trusted file: a user namespace ---------------------------------------------
COPY=$(guest_copy busybox)
printf '[Exec]\nPrivateUsers=pick\n' >"$ETC/suserns.nspawn"
run_rc -M suserns --network=none "$COPY" /bin/sh -c 'cat /proc/self/uid_map'
map=$(out_line 1 | tr -s ' ' | sed 's/^ //')
assert_match '^0 [0-9]+ 65536$' "$map" "PrivateUsers=pick: the guest runs in a user namespace (status $RC)"
mv "$ETC/suserns.nspawn" "$STORE/suserns.nspawn"
run_rc -M suserns --network=none "$COPY" /bin/sh -c 'cat /proc/self/uid_map'
map=$(out_line 1 | tr -s ' ' | sed 's/^ //')
assert_eq "0|0 0 4294967295" "$RC|$map" "PrivateUsers= from an untrusted store file is ignored"
rm "$STORE/suserns.nspawn"
assert_clean "after the good files"

# --- bad files: a malformed value is one line and a failure; an unknown key a warning ---------------
bad_file() { # WHAT CONTENT REGEX [OPTION…]
        local what=$1 content=$2 regex=$3
        shift 3
        rm -f "$ETC/sbad.nspawn" "$STORE/sbad.nspawn"
        printf '%b' "$content" >"${BAD_DIR:-$ETC}/sbad.nspawn"
        run_rc -M sbad --network=none "$@" "$TREE" true
        if [ "$RC" != 0 ] && [ "$(wc -l <"$WORK/err")" = 1 ] && grep -qE "$regex" "$WORK/err"; then
                pass "$what: exit $RC, one line: $(cat "$WORK/err")"
        else
                fail "$what: exit $RC, stderr '$(head -c 400 "$WORK/err")'"
        fi
        assert_clean "after $what"
}
bad_file "KillSignal=SIGNOPE" '[Exec]\n\nKillSignal=SIGNOPE\n' "sbad\.nspawn:3: .*SIGNOPE"
bad_file "ReadOnly=perhaps" '[Files]\nReadOnly=perhaps\n' "sbad\.nspawn:2: .*ReadOnly="
bad_file "a line that is no assignment" '[Exec]\nHostname\n' "sbad\.nspawn:2: "
bad_file "a Bind= whose source is missing" "[Files]\nBind=$WORK/missing:/mnt\n" "missing"
bad_file "a bad value shadowed by the command line" '[Exec]\nKillSignal=SIGNOPE\n' "SIGNOPE" --kill-signal=SIGTERM
BAD_DIR=$STORE bad_file "a bad value of a key an untrusted file may not set" '[Network]\nPort=99999\n' \
        "machines/sbad\.nspawn:2: .*99999"
rm -f "$STORE/sbad.nspawn"
printf '[Exec]\nHostname=warnhost\nProcessTwo=yes\n[Nonsense]\nA=1\nB=2\n' >"$ETC/sbad.nspawn"
run_rc -M sbad --network=none "$TREE" hostname
assert_eq "0|warnhost" "$RC|$(out_line 1)" "unknown keys and sections: the machine still starts"
assert_eq 2 "$(wc -l <"$WORK/err")" "one warning for the unknown key, one for the unknown section"
assert_match "ProcessTwo=.*ignoring" "$(sed -n 1p "$WORK/err")" "the warning names the unknown key"
rm "$ETC/sbad.nspawn"
assert_clean "at the end"
