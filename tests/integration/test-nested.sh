#!/bin/bash
# nspawnlite inside another container: a Debian systemd guest of nspawnlite's own runs the built
# nspawnlite, whose outer seccomp filter refuses keyctl (EPERM) and whose cgroup tree is a cgroup2
# view without controllers. What the outer manager forbids degrades with a debug line, never a
# failed start:
# - run (plain, -U, --network=bridge) and boot (busybox, detached; Debian systemd, --ephemeral) work
#   inside, reach `running` with no failed unit, shell into the inner machine, power off with 0;
# - one debug line names the refused keyring, one the missing device filter (bpf() refused: no
#   CAP_MKNOD for the inner machine);
# - terminating the outer machine leaves nothing behind.
# The minbase guest lacks the project's libraries (libnl, libseccomp, …): the host's library
# directory is bound read-only at /hostlib and named in LD_LIBRARY_PATH (same Debian release).
. "$(dirname "$0")/lib.sh"

DEB=$(guest debian-systemd) || die "no debian-systemd guest tree"
BB=$("$TOP/tests/guests/build.sh" busybox | tail -n 1)
DEB_SRC=$("$TOP/tests/guests/build.sh" debian-systemd | tail -n 1)
LIBDIR=$(dirname "$(ldd "$NSPAWNLITE" | awk '/libc\.so/ { print $3 }')")
[ -d "$BB" ] && [ -d "$DEB_SRC" ] && [ -d "$LIBDIR" ] || die "no guest trees or library dir"
BIN=$(dirname "$NSPAWNLITE")

up outer --ephemeral --bind-ro="$BIN:/nl" --bind-ro="$LIBDIR:/hostlib" --bind-ro="$BB:/bb" \
        --bind-ro="$DEB_SRC:/deb" "$DEB" || exit 1
assert_eq running "$(systemd_state outer)" "outer: the Debian guest is running"

# inner CMD…: a shell command line inside the outer machine, with the inner nspawnlite as $N.
inner() {
        timeout 150 "$NSPAWNLITE" shell outer -- /bin/sh -c \
                "export LD_LIBRARY_PATH=/hostlib; N=/nl/$(basename "$NSPAWNLITE"); $*" </dev/null 2>&1 || true
}

OUT=$(inner 'NSPAWNLITE_LOG_LEVEL=debug $N run --network=none /bb /bin/echo nested-ok; echo "rc=$?"')
assert_match $'nested-ok\n(.*\n)?rc=0' "$OUT" "inner run: the command ran (the outer filter refuses keyctl)"
assert_match "No keyrings here \(Operation not permitted\)" "$OUT" "inner run: one debug line says why"

# The outer filter refuses bpf(): no device program for the inner machine, so no mknod at all.
OUT=$(inner 'NSPAWNLITE_LOG_LEVEL=debug $N run --network=none /bb /bin/sh -c "grep CapBnd /proc/self/status;
        mknod /tmp/null c 1 3 2>/dev/null; echo mknod=\$?"')
assert_match "No device cgroup here: machine bb gets no CAP_MKNOD" "$OUT" "inner run: one debug line says there is no device filter"
assert_match $'\nmknod=1' "$OUT" "inner run: no mknod without a device filter"
CAPBND=$(grep -o '^CapBnd:.*' <<<"$OUT" | cut -f2)
[ $(((0x$CAPBND >> 27) & 1)) = 0 ] && pass "inner run: CAP_MKNOD is out of the bounding set" ||
        fail "inner run: CAP_MKNOD in $CAPBND"

OUT=$(inner '$N run -U --network=none /bb /bin/cat /proc/self/uid_map 2>/dev/null; echo "rc=$?"')
assert_match $'^ +0 +[0-9]+ +65536\nrc=0$' "$OUT" "inner run -U: the guest's root is a mapped range"

OUT=$(inner '$N run --network=bridge /bb /bin/busybox ip -4 -o addr show host0; echo "rc=$?"')
assert_match $'inet 10\\.213\\.[0-9.]+/16.*\nrc=0$' "$OUT" "inner run --network=bridge: host0 has its lease"

OUT=$(inner '$N boot -d --wait-ready --timeout=60 -M inbb --network=none /bb >/dev/null; echo "boot=$?";
        $N list | grep -c "^inbb  *running"; $N shell inbb -- /bin/echo inner-shell; echo "shell=$?";
        $N poweroff inbb >/dev/null; echo "poweroff=$?"; $N list | grep -c "^inbb"')
assert_eq "$(printf 'boot=0\n1\ninner-shell\nshell=0\npoweroff=0\n0')" "$OUT" \
        "inner busybox: boots detached, is listed running, takes a shell, powers off, is gone"

OUT=$(inner '$N boot -d --wait-ready --timeout=90 -M indeb --ephemeral --network=none /deb >/dev/null;
        echo "boot=$?"; $N shell indeb -- /bin/systemctl is-system-running --wait;
        $N shell indeb -- /bin/systemctl --failed --no-legend; echo "failed=$?";
        $N poweroff indeb >/dev/null; echo "poweroff=$?"')
assert_eq "$(printf 'boot=0\nrunning\nfailed=0\npoweroff=0')" "$OUT" \
        "inner Debian: running with no failed unit, powers off with 0"

timeout 60 "$NSPAWNLITE" terminate outer >/dev/null 2>&1 || fail "terminate outer"
wait_for 15 eval '! _leader_alive outer' || fail "outer: still alive after terminate"
assert_clean "nothing of the outer or inner machines left"
