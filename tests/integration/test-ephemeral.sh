#!/bin/bash
# Throwaway and layered roots (--ephemeral/-x, --volatile=, --overlay=, --overlay-ro=):
# - --ephemeral: the guest's / is an overlay; what it writes never reaches the tree; nothing of it
#   shows in the host's mount table while it runs, nor is anything left when it ends (run and boot);
# - --volatile=yes: / is a tmpfs with the tree's /usr read-only; =state: / read-only, /var a
#   writable tmpfs; =overlay: as --ephemeral;
# - --overlay=: writes land in UPPER, and its work directory goes with the machine; --overlay-ro=
#   refuses writes;
# - bad values: one line, non-zero exit, nothing left; -U together with them is refused;
# - a Debian systemd guest boots with --ephemeral to "running" and powers off with 0.
. "$(dirname "$0")/lib.sh"

TREE=$(guest_copy busybox) # a plain directory: its checksum must not change
[ -x "$TREE/bin/busybox" ] || die "no busybox guest tree: '$TREE'"
# --volatile=yes keeps only /usr of the tree: a shell there.
cp "$TREE/bin/busybox" "$TREE/usr/bin/busybox"

# The tree's names, types, sizes and modes: what any write to it would change.
tree_sum() { (cd "$1" && find . -printf '%p %y %s %m\n' | sort | sha256sum | cut -d' ' -f1); }
SUM=$(tree_sum "$TREE")

# run_in WHAT ARGS…: "nspawnlite run ARGS…", stdout into OUT, stderr into $WORK/err; status checked.
run_in() {
        local what=$1 rc=0
        shift
        OUT=$(timeout 60 "$NSPAWNLITE" run --network=none "$@" </dev/null 2>"$WORK/err") || rc=$?
        assert_eq 0 "$rc" "$what: the command ran (stderr: $(head -c 300 "$WORK/err" | tr '\n' '|'))"
}
# The filesystem type of the guest's / (mountinfo: the mount point is field 5, the type follows "-").
ROOT_FS='awk '"'"'$5 == "/" { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 1); exit } }'"'"' /proc/self/mountinfo'

# ---- --ephemeral --------------------------------------------------------------------------------
run_in "--ephemeral" --ephemeral "$TREE" /bin/sh -c \
        "$ROOT_FS; echo x >/eph-file && cat /eph-file; rm /bin/ls && echo removed; mkdir -p /var/new"
assert_eq "$(printf 'overlay\nx\nremoved')" "$OUT" "--ephemeral: / is an overlay the guest writes to"
assert_eq "$SUM" "$(tree_sum "$TREE")" "--ephemeral: the tree is unchanged after writes, a removal, a mkdir"
run_in "-x" -x "$TREE" /bin/sh -c "$ROOT_FS"
assert_eq overlay "$OUT" "-x is --ephemeral"
run_in "--ephemeral --read-only" --ephemeral --read-only "$TREE" /bin/sh -c \
        "$ROOT_FS; touch /ro-file 2>/dev/null && echo written || echo refused"
assert_eq "$(printf 'overlay\nrefused')" "$OUT" "--ephemeral --read-only: a read-only overlay"

# The host's mount table while an ephemeral guest runs: nothing under the tree.
"$NSPAWNLITE" run --network=none -M ephwatch --ephemeral "$TREE" /bin/sh -c 'touch /run/started; sleep 30' \
        </dev/null >/dev/null 2>&1 &
P=$!
STARTED_PIDS+=("$P")
if wait_running ephwatch 20; then
        assert_eq 0 "$(grep -c -F " $TREE" /proc/self/mountinfo || true)" \
                "--ephemeral: the host's mount table shows nothing of the tree while it runs"
        assert_eq overlay "$(in_guest ephwatch sh -c "$ROOT_FS")" "--ephemeral: the running guest's / is an overlay"
else
        fail "the ephemeral machine ephwatch did not start"
fi
timeout 20 "$NSPAWNLITE" terminate ephwatch >/dev/null 2>&1 || true
wait_exit "$P" 20
[ "$EXIT_RC" = timeout ] || forget "$P"
assert_clean "--ephemeral: nothing left after a terminate"

# boot -d --ephemeral, then poweroff.
up bbeph --ephemeral "$TREE" && in_guest bbeph sh -c 'echo y >/etc/boot-file' && down bbeph
assert_eq "$SUM" "$(tree_sum "$TREE")" "boot --ephemeral: the tree is unchanged after the machine wrote and ended"
assert_eq 0 "$(grep -c -F " $TREE" /proc/self/mountinfo || true)" "boot --ephemeral: no mount left on the host"

# ---- --volatile= --------------------------------------------------------------------------------
B=/usr/bin/busybox
run_in "--volatile=yes" --volatile=yes "$TREE" $B sh -c \
        "$B stat -f -c %T /; $B grep ' /usr ' /proc/self/mountinfo | $B cut -d' ' -f6 | $B cut -d, -f1
         $B test -x /usr/bin/busybox && echo tree-usr; $B touch /usr/x 2>/dev/null && echo usr-rw || echo usr-ro
         $B touch /new && echo root-rw; $B test -e /etc || echo no-etc"
assert_eq "$(printf 'tmpfs\nro\ntree-usr\nusr-ro\nroot-rw\nno-etc')" "$OUT" \
        "--volatile=yes: / is a writable tmpfs, /usr the tree's and read-only, nothing else of the tree"
run_in "--volatile" --volatile "$TREE" $B stat -f -c %T /
assert_eq tmpfs "$OUT" "--volatile alone is --volatile=yes"
run_in "--volatile=state" --volatile=state "$TREE" /bin/sh -c \
        'touch /x 2>/dev/null && echo root-rw || echo root-ro; stat -f -c %T /var; touch /var/v && echo var-rw'
assert_eq "$(printf 'root-ro\ntmpfs\nvar-rw')" "$OUT" "--volatile=state: / read-only, /var a writable tmpfs"
run_in "--volatile=overlay" --volatile=overlay "$TREE" /bin/sh -c "$ROOT_FS; touch /vo && echo written"
assert_eq "$(printf 'overlay\nwritten')" "$OUT" "--volatile=overlay: / is a writable overlay"
run_in "--volatile=no" --volatile=no "$TREE" /bin/sh -c "$ROOT_FS"
assert_eq "$(stat -f -c %T "$TREE" | sed 's/ext2\/ext3/ext4/')" "$OUT" "--volatile=no: / is the tree itself"
assert_eq "$SUM" "$(tree_sum "$TREE")" "--volatile=yes|state|overlay: the tree is unchanged"

# ---- --overlay=, --overlay-ro= ------------------------------------------------------------------
mkdir -p "$WORK/ov/low1" "$WORK/ov/low2" "$WORK/ov/up" "$WORK/ov/a:b"
echo one >"$WORK/ov/low1/f"
echo two >"$WORK/ov/low2/f" # the upper of two lowers wins
echo lowest >"$WORK/ov/low1/g"
run_in "--overlay=" --overlay="$WORK/ov/low1:$WORK/ov/low2:$WORK/ov/up:/srv/o" "$TREE" /bin/sh -c \
        'cat /srv/o/f /srv/o/g; echo new >/srv/o/n && echo written'
assert_eq "$(printf 'two\nlowest\nwritten')" "$OUT" "--overlay=: the layers stack, rightmost lower on top, writable"
assert_eq new "$(cat "$WORK/ov/up/n" 2>/dev/null)" "--overlay=: the write landed in UPPER"
assert_eq "" "$(ls "$WORK/ov/low1/n" "$WORK/ov/low2/n" 2>/dev/null)" "--overlay=: the lower directories are unchanged"
assert_eq "" "$(ls -A "$WORK/ov" | grep nspawnlite-work || true)" "--overlay=: its work directory is removed at the end"
run_in "--overlay-ro=" --overlay-ro="$WORK/ov/low1:$WORK/ov/low2:/srv/r" "$TREE" /bin/sh -c \
        'cat /srv/r/f; touch /srv/r/x 2>/dev/null && echo written || echo refused'
assert_eq "$(printf 'two\nrefused')" "$OUT" "--overlay-ro=: stacked and read-only"
run_in "--overlay= with \\:" --overlay="$WORK/ov/a\\:b:$WORK/ov/low1:$WORK/ov/up:/srv/c\\:d" "$TREE" /bin/cat /srv/c:d/g
assert_eq lowest "$OUT" "--overlay= with '\\:' in the paths"
run_in "--ephemeral --overlay=" --ephemeral --overlay="$WORK/ov/low1:$WORK/ov/up:/srv/o" "$TREE" /bin/cat /srv/o/n
assert_eq new "$OUT" "--ephemeral and --overlay= together"
assert_clean "after the overlays"
SUM=$(tree_sum "$TREE") # the overlays' mount points were made in the tree, as --bind's are

# ---- bad input ----------------------------------------------------------------------------------
# bad WHAT PATTERN ARGS…: "run ARGS… TREE true" fails with one line matching PATTERN, leaves nothing.
bad() {
        local what=$1 pat=$2 rc=0 err
        shift 2
        err=$(timeout 30 "$NSPAWNLITE" run --network=none "$@" "$TREE" /bin/true </dev/null 2>&1) || rc=$?
        if [ "$rc" != 0 ] && [ "$(echo "$err" | wc -l)" = 1 ] && [[ $err =~ $pat ]]; then
                pass "$what: refused with one line"
        else
                fail "$what: status $rc, output '$(echo "$err" | head -c 300)'"
        fi
}
bad "--volatile=bogus" "Invalid --volatile= 'bogus'" --volatile=bogus
bad "--overlay= with two parts" "Invalid --overlay= .*LOWER\[:LOWER…\]:UPPER:DST" --overlay="$WORK/ov/low1:/srv"
bad "--overlay-ro= with one lower" "Invalid --overlay-ro= .*LOWER:LOWER" --overlay-ro="$WORK/ov/low1:/srv"
bad "--overlay= with a relative DST" "Invalid --overlay= " --overlay="$WORK/ov/low1:$WORK/ov/up:srv"
bad "--overlay= with '..'" "Invalid --overlay= " --overlay="$WORK/ov/low1:$WORK/ov/up:/srv/../etc"
bad "--overlay= with a '+' path" "relative to the tree \('\+' prefix\) are not supported" --overlay="+/a:$WORK/ov/up:/srv"
bad "--overlay= with a missing lower" "Overlay directory $WORK/ov/nope does not exist" --overlay="$WORK/ov/nope:$WORK/ov/up:/srv"
bad "--overlay= with a file as upper" "Overlay directory $WORK/ov/low1/f is not a directory" --overlay="$WORK/ov/low2:$WORK/ov/low1/f:/srv"
bad "--ephemeral with -U" "--ephemeral, --volatile= and --overlay= do not work with -U" --ephemeral -U
bad "--volatile=state with -U" "do not work with -U/--private-users" --volatile=state --private-users=pick
bad "--overlay= with -U" "do not work with -U" -U --overlay="$WORK/ov/low1:$WORK/ov/up:/srv"
bad "--ephemeral with --volatile=yes" "--ephemeral and --volatile=yes exclude each other" --ephemeral --volatile=yes
mkdir -p "$WORK/nousr/etc"
rc=0
err=$(timeout 30 "$NSPAWNLITE" run --network=none --volatile=yes "$WORK/nousr" /bin/true </dev/null 2>&1) || rc=$?
if [ "$rc" != 0 ] && [ "$(echo "$err" | wc -l)" = 1 ] && [[ $err =~ "--volatile=yes needs a /usr directory" ]]; then
        pass "--volatile=yes on a tree without /usr: refused with one line"
else
        fail "--volatile=yes on a tree without /usr: status $rc, output '$err'"
fi
assert_eq "$SUM" "$(tree_sum "$TREE")" "the tree is unchanged after everything"
assert_clean "after the bad input"

# ---- a Debian systemd guest ---------------------------------------------------------------------
DEB=$(guest debian-systemd) || DEB=
if [ -n "$DEB" ] && [ -d "$DEB/usr/lib/systemd" ]; then
        if up debeph --ephemeral "$DEB"; then
                assert_eq running "$(systemd_state debeph)" "debian --ephemeral: systemd reaches running"
                assert_match '^overlay' "$(in_guest debeph stat -f -c %T /)" "debian --ephemeral: / is an overlay"
                down debeph
        fi
else
        fail "no debian-systemd guest tree"
fi
