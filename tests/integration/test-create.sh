#!/bin/bash
# "nspawnlite create" (nspawnlite(1) MAKING GUESTS): bad inputs each give one clear line, a non-zero
# status and nothing in the store (no temporary either); a create SIGKILLed midway leaves no image
# under its name, no process and no mount, and gc removes its temporary; SIGINT cancels cleanly; a busybox guest and a Debian bookworm guest with
# --packages and --root-password-file are made in the store, boot from it (-M NAME), and root logs in with
# the password through "nspawnlite login" (a wrong one is refused); without the file root's
# password is locked. Needs Debian's archive (mmdebstrap); about 2 minutes, most of it the
# bookworm download.
#
# create needs Debian's archive, which the test's own network namespace (lib.sh) cannot reach: the
# creates run in the network namespace the test was started in (HOST_NET_FD, opened before lib.sh
# moves the test into its own). Nothing else the test does leaves its namespaces.
if [ -z "${NSPAWNLITE_TEST_ISOLATED:-}" ]; then
        exec {HOST_NET_FD}</proc/self/ns/net
        export HOST_NET_FD
fi
. "$(dirname "$0")/lib.sh"
[ -n "${HOST_NET_FD:-}" ] || die "no handle on the starting network namespace"
# nspawnlite create in the starting network namespace (the archive is there); nsenter execs it.
CREATE=(nsenter --net="/proc/self/fd/$HOST_NET_FD" "$NSPAWNLITE" create)

command -v mmdebstrap >/dev/null || skip "needs mmdebstrap (scripts/install-deps.sh)"
command -v tmux >/dev/null || skip "needs tmux"
tmux_harness

export NSPAWNLITE_MACHINES_DIR=$WORK/store
STORE=$NSPAWNLITE_MACHINES_DIR
mkdir -p "$STORE"
printf 'bb-secret\n' >"$WORK/pw-bb"
printf 'Bw pass 2!\nsecond line ignored\n' >"$WORK/pw-bw"

# traces NAME: what of NAME is in the store (the image or a temporary), one per line.
traces() { find "$STORE" -mindepth 1 -maxdepth 1 \( -name "$1" -o -name "$1.raw" -o -name ".#$1.*" \) -printf '%f\n'; }

# bad WHAT STATUS PATTERN NAME ARGS…: create NAME ARGS… exits STATUS with one line on stderr that
# matches PATTERN (besides the progress lines "NAME: step"), nothing on stdout, and nothing of NAME
# added to the store.
bad() {
        local what=$1 want=$2 pat=$3 name=$4 rc=0 before err
        shift 4
        before=$(traces "$name")
        timeout 300 "${CREATE[@]}" "$name" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
        err=$(grep -vF "$name: " "$WORK/err" || true)
        assert_eq "$want" "$rc" "$what: exit status"
        if [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [[ $err =~ $pat ]] && [ ! -s "$WORK/out" ]; then
                pass "$what: one line: $err"
        else
                fail "$what: want one line matching /$pat/ on stderr, got: $(head -c 600 "$WORK/err" | tr '\n' '|') stdout: $(head -c 200 "$WORK/out")"
        fi
        assert_eq "$before" "$(traces "$name")" "$what: nothing added to the store"
}

bad "an invalid name" 2 "Invalid image name 'no/such'" 'no/such' --distro=busybox
bad "a name of dots" 2 "Invalid image name" '..' --distro=busybox
bad "an unknown release" 2 "Unknown release 'buster'.*bullseye, bookworm, trixie or sid" x1 --release=buster
bad "an unknown distro" 2 "Unknown distribution 'fedora'" x1 --distro=fedora
bad "an unknown init" 2 "Unknown init 'runit'" x1 --init=runit
bad "--init= with busybox" 2 "--init= is for --distro=debian" x1 --distro=busybox --init=systemd
bad "an invalid package name" 2 "Invalid package name 'Bad Name'" x1 --packages='less,Bad Name'
bad "an unreadable password file" 1 "Cannot read root password file $WORK/nope: No such file" x1 \
        --distro=busybox --root-password-file="$WORK/nope"
: >"$WORK/pw-empty"
bad "an empty password file" 1 "has an empty first line" x1 --distro=busybox --root-password-file="$WORK/pw-empty"
bad "a stray argument" 2 "Unexpected argument 'extra'" x1 extra
mkdir -p "$STORE/taken/etc"
bad "a name in use" 1 "Image 'taken' already exists in $STORE" taken --distro=busybox
if [ -d "$STORE/taken/etc" ]; then pass "the image in use is untouched"; else fail "the image in use was changed"; fi
: >"$STORE/raw1.raw"
bad "a name in use by NAME.raw" 1 "Image 'raw1' already exists" raw1 --distro=busybox
bad "a package the archive lacks (mmdebstrap fails)" 1 "Failed to create 'x2':.*no-such-package" x2 \
        --distro=busybox --packages=no-such-package
assert_eq "" "$(grep -F " $STORE/" /proc/self/mountinfo)" "no mount left under the store"

# --- SIGKILL midway: no image under the name, no process, no mount; gc then clears the temporary --
"${CREATE[@]}" killed --distro=busybox >"$WORK/killed.log" 2>&1 </dev/null &
KP=$!
STARTED_PIDS+=("$KP")
if wait_for 60 grep -q 'apt-get update' "$WORK/killed.log" && [ -n "$(traces killed)" ]; then
        kill -KILL "$KP"
        wait "$KP" 2>/dev/null || true
        forget "$KP"
        pass "create killed while mmdebstrap runs ($(traces killed))"
else
        fail "create never reached mmdebstrap's apt-get update: $(tr '\n' '|' <"$WORK/killed.log")"
fi
if wait_for 10 eval '! pgrep -f "[.]#killed[.]" >/dev/null'; then
        pass "no process of the killed create is left"
else
        fail "processes of the killed create are left: $(pgrep -af '[.]#killed[.]' | tr '\n' '|')"
fi
assert_eq "" "$(grep -F " $STORE/" /proc/self/mountinfo)" "no mount of the killed create is left"
if [ ! -e "$STORE/killed" ]; then pass "no image 'killed' in the store"; else fail "a half image 'killed' is in the store"; fi
rc=0
"$NSPAWNLITE" gc >/dev/null 2>&1 || rc=$?
assert_eq 0 "$rc" "gc exits 0"
assert_eq "" "$(traces killed)" "gc removed the killed create's temporary"

# --- SIGINT (Ctrl-C) midway: create cancels, says so, exits 130 and removes its temporary ---------
"${CREATE[@]}" cancelled --distro=busybox >"$WORK/cancelled.log" 2>&1 </dev/null &
CP=$!
STARTED_PIDS+=("$CP")
if wait_for 60 grep -q 'apt-get update' "$WORK/cancelled.log"; then
        kill -INT "$CP"
        wait_exit "$CP" 30
        forget "$CP"
        assert_eq 130 "$EXIT_RC" "SIGINT midway: create exits 130"
        assert_eq "nspawnlite: Cancelled; nothing was added to the store." "$(tail -n 1 "$WORK/cancelled.log")" \
                "SIGINT midway: one line says so"
        assert_eq "" "$(traces cancelled)" "SIGINT midway: nothing in the store, no temporary"
else
        fail "create never reached mmdebstrap's apt-get update: $(tr '\n' '|' <"$WORK/cancelled.log")"
fi

# --- busybox ---------------------------------------------------------------------------------------
rc=0
"${CREATE[@]}" bb --distro=busybox --root-password-file="$WORK/pw-bb" >"$WORK/out" 2>"$WORK/bb.log" </dev/null || rc=$?
assert_eq 0 "$rc" "create bb --distro=busybox exits 0"
[ "$rc" = 0 ] || die "create bb: $(tail -n 5 "$WORK/bb.log" | tr '\n' '|')"
if [ ! -s "$WORK/out" ]; then pass "create prints nothing on stdout"; else fail "create printed on stdout: $(head -c 200 "$WORK/out")"; fi
n=$(grep -c '^bb: ' "$WORK/bb.log")
if [ "$n" -ge 4 ]; then pass "not a terminal: one line per step ($n steps)"; else fail "progress: $(tr '\n' '|' <"$WORK/bb.log")"; fi
if grep -q "Created image 'bb'" "$WORK/bb.log"; then pass "create says what it made"; else fail "no 'Created image' line"; fi
assert_eq "bb" "$(traces bb)" "only the image is in the store, no temporary"
assert_eq "bb" "$(cat "$STORE/bb/etc/hostname")" "bb: /etc/hostname is the name"
assert_match '^root:\$6\$' "$(grep '^root:' "$STORE/bb/etc/shadow")" "bb: root has a SHA-512 password hash"
if [ -x "$STORE/bb/bin/busybox" ] && [ -L "$STORE/bb/sbin/init" ]; then pass "bb: busybox and its applet links"; else
        fail "bb: no busybox or no /sbin/init link"; fi

new_pane a || die "no shell prompt in tmux pane a: $(pane_tail a)"
up bb || die "bb does not boot"
if login_password a bb bb-secret; then pass "bb: root logs in with the password from the file"; else fail "bb: login with the password fails"; fi
# a wrong password: the guest's login says so
fresh a
type_line a "$NSPAWNLITE login bb; echo LOGIN_RC:\$?"
if wait_pane a "login: *\$" 30; then type_line a root; fi
if wait_pane a 'Password: *$' 10; then type_line a wrong-password; fi
if wait_pane a 'Login incorrect' 15; then pass "bb: a wrong password is refused (Login incorrect)"; else fail "bb: no 'Login incorrect' for a wrong password: $(pane_tail a)"; fi
tm send-keys -t a C-] C-] C-]
wait_marker a LOGIN_RC 10 || true
assert_eq bb "$(timeout 20 "$NSPAWNLITE" shell bb -- hostname 2>&1)" "bb: shell works, hostname bb"
down bb

rc=0
"${CREATE[@]}" bb-locked --distro=busybox >/dev/null 2>"$WORK/bbl.log" </dev/null || rc=$?
assert_eq 0 "$rc" "create without --root-password-file exits 0"
assert_match '^root:!:' "$(grep '^root:' "$STORE/bb-locked/etc/shadow" 2>&1)" "without the file, root's password is locked"

# --- Debian bookworm with --packages and --root-password-file -------------------------------------
# Under the sanitizers (tests/sanitize/) create's code runs the same way as for busybox above; the
# download of a whole Debian is left to the main run.
[ -z "${ASAN_OPTIONS:-}" ] || { log "sanitizers: the bookworm create is left to the main run"; exit 0; }
rc=0
start=$SECONDS
"${CREATE[@]}" bw --release=bookworm --packages=less,file --root-password-file="$WORK/pw-bw" \
        >/dev/null 2>"$WORK/bw.log" </dev/null || rc=$?
assert_eq 0 "$rc" "create bw --release=bookworm --packages=less,file exits 0"
[ "$rc" = 0 ] || die "create bw: $(tail -n 5 "$WORK/bw.log" | tr '\n' '|')"
log "bookworm created in $((SECONDS - start)) s"
assert_eq "bw" "$(traces bw)" "only the image is in the store, no temporary"
assert_eq "bw" "$(cat "$STORE/bw/etc/hostname")" "bw: /etc/hostname is the name"
assert_eq 0 "$(stat -c %s "$STORE/bw/etc/machine-id")" "bw: /etc/machine-id is empty (first boot)"
assert_eq "" "$(cat "$STORE/bw/etc/resolv.conf")" "bw: no resolver of the host's"
up bw || die "bw does not boot"
assert_eq running "$(systemd_state bw)" "bw: systemd is running with no failed unit"
assert_eq "/usr/bin/less /usr/bin/file" "$(timeout 20 "$NSPAWNLITE" shell bw -- sh -c 'command -v less; command -v file' 2>&1 | tr '\n' ' ' | sed 's/ $//')" \
        "bw: the --packages are installed"
if login_password a bw 'Bw pass 2!'; then pass "bw: root logs in with the first line of the password file"; else fail "bw: login with the password fails"; fi
down bw
