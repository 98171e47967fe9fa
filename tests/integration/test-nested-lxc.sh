#!/bin/bash
# nspawnlite inside an LXC container, the way CI runners use containers: Debian's lxc 5 starts a
# Debian systemd tree with Debian's stock container config (its seccomp profile, dropped
# capabilities, device cgroup, proc/sys/cgroup "mixed" mounts, no network), and inside it the
# built nspawnlite runs a command (plain, -U, on a bridge of its own), boots a busybox machine
# detached, lists it, shells into it and powers it off. Nothing is left after lxc-stop. The
# container's cgroups go under the test's own cgroup parent. The minbase tree lacks the project's
# libraries: the host's library directory is bound read-only at /hostlib (same Debian release).
. "$(dirname "$0")/lib.sh"

command -v lxc-start >/dev/null || skip "needs lxc (Debian package lxc)"
[ -f /usr/share/lxc/config/debian.common.conf ] || skip "needs lxc's Debian config"

DEB=$(guest debian-systemd) || die "no debian-systemd guest tree"
BB=$("$TOP/tests/guests/build.sh" busybox | tail -n 1)
LIBDIR=$(dirname "$(ldd "$NSPAWNLITE" | awk '/libc\.so/ { print $3 }')")
BIN=$(dirname "$NSPAWNLITE")
LXCPATH=$WORK/lxc
mkdir -p "$LXCPATH/c1"
# LXC leaves an empty "lxc.pivot" cgroup at the top of each hierarchy: ours to remove only when
# this test made it.
PIVOTS_BEFORE=$(find /sys/fs/cgroup -maxdepth 2 -name lxc.pivot 2>/dev/null | sort)

cat >"$LXCPATH/c1/config" <<EOF
lxc.uts.name = c1
lxc.rootfs.path = dir:$DEB
lxc.include = /usr/share/lxc/config/debian.common.conf
lxc.net.0.type = empty
lxc.apparmor.profile = unconfined
lxc.cgroup.dir.container = $NSPAWNLITE_CGROUP_PARENT/lxc.payload.c1
lxc.cgroup.dir.monitor = $NSPAWNLITE_CGROUP_PARENT/lxc.monitor.c1
lxc.mount.entry = $BIN nl none bind,ro,create=dir 0 0
lxc.mount.entry = $LIBDIR hostlib none bind,ro,create=dir 0 0
lxc.mount.entry = $BB bb none bind,ro,create=dir 0 0
EOF

lxc_stop() {
        timeout 60 lxc-stop -n c1 -P "$LXCPATH" -k >/dev/null 2>&1 || true
        local p
        # lxc made the test's cgroup parent for the container: the parent goes when it is empty
        # (what nspawnlite left inside it would keep it, and fail assert_clean)
        for p in $(cgroup_roots); do
                rmdir "$p/$NSPAWNLITE_CGROUP_PARENT" 2>/dev/null || true
        done
        for p in $(find /sys/fs/cgroup -maxdepth 2 -name lxc.pivot 2>/dev/null | sort); do
                grep -qxF "$p" <<<"$PIVOTS_BEFORE" || rmdir "$p" 2>/dev/null || true
        done
}
trap 'rc=$?; set +e; lxc_stop; (exit $rc); cleanup' EXIT

timeout 60 lxc-start -n c1 -P "$LXCPATH" -d -o "$WORK/lxc.log" || die "lxc-start: $(tail -n 5 "$WORK/lxc.log")"
attach() { timeout 150 lxc-attach -n c1 -P "$LXCPATH" --clear-env -- "$@" </dev/null 2>&1 || true; }
wait_for 30 lxc-attach -n c1 -P "$LXCPATH" -- test -S /run/systemd/private || fail "c1: no systemd bus after 30 s"
assert_eq running "$(attach timeout 90 systemctl is-system-running --wait)" "c1: the LXC container's systemd is running"

# inner CMD…: a shell command line inside the container, with the inner nspawnlite as $N.
inner() {
        attach /bin/sh -c "export LD_LIBRARY_PATH=/hostlib PATH=/usr/sbin:/usr/bin:/sbin:/bin;
                N=/nl/$(basename "$NSPAWNLITE"); $*"
}

OUT=$(inner '$N run --network=none /bb /bin/echo nested-ok; echo "rc=$?"')
assert_eq $'nested-ok\nrc=0' "$OUT" "inside LXC: run works"
OUT=$(inner '$N run -U --network=none /bb /bin/cat /proc/self/uid_map 2>/dev/null; echo "rc=$?"')
assert_match $'^ +0 +[0-9]+ +65536\nrc=0$' "$OUT" "inside LXC: run -U maps the guest's root"
OUT=$(inner '$N run --network=bridge /bb /bin/busybox ip -4 -o addr show host0; echo "rc=$?"')
assert_match $'inet 10\\.213\\.[0-9.]+/16.*\nrc=0$' "$OUT" "inside LXC: a bridged run gets its lease"
OUT=$(inner '$N boot -d --wait-ready --timeout=60 -M inbb --network=none /bb >/dev/null; echo "boot=$?";
        $N list | grep -c "^inbb  *running"; $N shell inbb -- /bin/echo inner-shell; echo "shell=$?";
        $N poweroff inbb >/dev/null; echo "poweroff=$?"; $N list | grep -c "^inbb"')
assert_eq "$(printf 'boot=0\n1\ninner-shell\nshell=0\npoweroff=0\n0')" "$OUT" \
        "inside LXC: a busybox machine boots detached, is listed, takes a shell, powers off"

lxc_stop
wait_for 15 eval '! lxc-info -n c1 -P "$LXCPATH" -s 2>/dev/null | grep -q RUNNING' || fail "c1: still running after lxc-stop"
assert_clean "nothing of the container or its machines left"
