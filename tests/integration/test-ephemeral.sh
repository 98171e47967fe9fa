#!/bin/bash
# Throwaway and layered roots (--ephemeral/-x, --volatile=, --overlay=, --overlay-ro=):
# - --ephemeral: the guest's / is an overlay; what it writes never reaches the tree; nothing of it
#   shows in the host's mount table while it runs, nor is anything left when it ends (run and boot);
# - --volatile=yes: / is a tmpfs with the tree's /usr read-only; =state: / read-only, /var a
#   writable tmpfs; =overlay: as --ephemeral;
# - --overlay=: writes land in UPPER, and its work directory goes with the machine; --overlay-ro=
#   refuses writes;
# - bad values: one line, non-zero exit, nothing left;
# - under -U (idmapped, and chowned): the same layers, the guest's root owns the tree's files and its
#   writes, the tree is unchanged, and the guest cannot remount the read-only parts writable;
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

# ---- --ephemeral-size= --------------------------------------------------------------------------
# SIZE caps the upper tmpfs: a write past it fails with ENOSPC (one below it goes through).
FILL='dd if=/dev/zero of=/small bs=64k count=4 2>/dev/null && echo small-ok
      dd if=/dev/zero of=/big bs=64k count=32 2>/run/err; echo "dd=$?"
      grep -q "No space left on device" /run/err && echo ENOSPC; df -k / | awk "NR == 2 { print \$2 }"'
for u in "" -U; do
        # shellcheck disable=SC2086 # $u is empty or -U
        run_in "${u:+$u }--ephemeral-size=1M" $u --ephemeral --ephemeral-size=1M "$TREE" /bin/sh -c "$FILL"
        assert_eq "$(printf 'small-ok\ndd=1\nENOSPC\n1024')" "$OUT" \
                "${u:+$u }--ephemeral-size=1M: a 1 MiB upper layer, a write past it fails with ENOSPC"
done
run_in "--volatile=overlay --ephemeral-size=1M" --volatile=overlay --ephemeral-size=1M "$TREE" /bin/sh -c "$FILL"
assert_eq "$(printf 'small-ok\ndd=1\nENOSPC\n1024')" "$OUT" "--volatile=overlay --ephemeral-size=1M: the same"

# disk: the upper layer is a directory of the runtime dir while the machine runs, gone after.
UPPER_OF() { echo "$NSPAWNLITE_RUNTIME_DIR/machines/$1/ephemeral/upper"; }
for u in "" -U; do
        # shellcheck disable=SC2086 # $u is empty or -U
        "$NSPAWNLITE" run $u --network=none -M edisk --ephemeral --ephemeral-size=disk "$TREE" /bin/sh -c \
                'dd if=/dev/zero of=/big bs=1M count=3 2>/dev/null && touch /run/written; sleep 30' </dev/null >/dev/null 2>&1 &
        P=$!
        STARTED_PIDS+=("$P")
        if wait_running edisk 20 && wait_for 10 test -e "/proc/$(leader edisk)/root/run/written"; then
                assert_eq 3145728 "$(stat -c %s "$(UPPER_OF edisk)/big" 2>&1)" \
                        "${u:+$u }--ephemeral-size=disk: the guest's write is in the runtime dir's upper directory"
        else
                fail "${u:+$u }--ephemeral-size=disk: the machine edisk did not start"
        fi
        timeout 20 "$NSPAWNLITE" terminate edisk >/dev/null 2>&1 || true
        wait_exit "$P" 20
        [ "$EXIT_RC" = timeout ] || forget "$P"
        assert_clean "${u:+$u }--ephemeral-size=disk: nothing left after a terminate"
done
assert_eq "$SUM" "$(tree_sum "$TREE")" "--ephemeral-size=: the tree is unchanged"
# A supervisor killed with SIGKILL cannot remove it: gc does.
if up ekill --ephemeral --ephemeral-size=disk "$TREE"; then
        S=$(machine_state ekill supervisor)
        L=$(leader ekill)
        in_guest ekill sh -c 'echo k >/etc/kill-file' || fail "--ephemeral-size=disk: writing in ekill failed"
        kill -KILL "$S"
        wait_for 10 eval '! process_alive "$S" && ! process_alive "$L"' && forget "$S" ||
                fail "--ephemeral-size=disk: ekill's supervisor or guest survived SIGKILL"
        assert_eq k "$(cat "$(UPPER_OF ekill)/etc/kill-file" 2>&1)" \
                "--ephemeral-size=disk: the upper directory outlives a SIGKILLed supervisor"
        rc=0
        "$NSPAWNLITE" gc >/dev/null 2>&1 || rc=$?
        assert_eq 0 "$rc" "--ephemeral-size=disk: gc after the SIGKILL exits 0"
        assert_clean "--ephemeral-size=disk: nothing left after SIGKILL of the supervisor and gc"
fi

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

# The new root's mount flags: nodev (device nodes belong on the machine's /dev), but not nosuid (the
# guest's own setuid binaries, su and passwd, must work), with and without -U.
ROOT_OPTS='awk '"'"'$5 == "/" { print $6 }'"'"' /proc/self/mountinfo'
for args in --ephemeral --volatile=overlay --volatile=yes "-U --ephemeral" "-U --volatile=yes"; do
        # shellcheck disable=SC2086 # $args is two words for -U
        run_in "$args root flags" $args "$TREE" $B sh -c "$ROOT_OPTS"
        if [[ ,$OUT, == *,nodev,* ]] && [[ ,$OUT, != *,nosuid,* ]]; then
                pass "$args: the root is nodev and keeps setuid ($OUT)"
        else
                fail "$args: the root's flags are '$OUT', want nodev without nosuid"
        fi
done

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
bad "--ephemeral with --volatile=yes" "--ephemeral and --volatile=yes exclude each other" --ephemeral --volatile=yes
bad "--ephemeral-size=bogus" "Invalid --ephemeral-size= 'bogus'" --ephemeral --ephemeral-size=bogus
bad "--ephemeral-size=0" "Invalid --ephemeral-size= '0'" --ephemeral --ephemeral-size=0
bad "--ephemeral-size= without --ephemeral" "--ephemeral-size= sizes the upper layer of --ephemeral" --ephemeral-size=1M
bad "--ephemeral-size= with --volatile=yes" "--ephemeral-size= sizes the upper layer" --volatile=yes --ephemeral-size=disk
# UPPER and its work directory are found without following symlinks: a host user who owns a directory
# on the way must not make root create the work directory elsewhere.
mkdir -p "$WORK/sym/real/up" "$WORK/sym/dir/up" "$WORK/sym/elsewhere"
ln -s "$WORK/sym/real" "$WORK/sym/link"
bad "--overlay= with a symlink above UPPER" "Overlay directory $WORK/sym/link/up has a symlink on its path" \
        -M symup --overlay="$WORK/ov/low1:$WORK/sym/link/up:/srv"
assert_eq "up" "$(ls -A "$WORK/sym/real")" "--overlay= with a symlink above UPPER: nothing made at the symlink's target"
ln -s "$WORK/sym/elsewhere/work" "$WORK/sym/dir/.#nspawnlite-work-up-symwork"
bad "--overlay= with the work directory a symlink" "Overlay work directory .* is a symlink" \
        -M symwork --overlay="$WORK/ov/low1:$WORK/sym/dir/up:/srv"
assert_eq "" "$(ls -A "$WORK/sym/elsewhere")" "--overlay= with the work directory a symlink: nothing made at its target"
: >"$WORK/sym/dir/.#nspawnlite-work-up-filework"
bad "--overlay= with the work directory a file" "Overlay work directory .* exists and is not a directory" \
        -M filework --overlay="$WORK/ov/low1:$WORK/sym/dir/up:/srv"
mkdir "$WORK/sym/dir/.#nspawnlite-work-up-otherwork" && chown 1234:1234 "$WORK/sym/dir/.#nspawnlite-work-up-otherwork"
bad "--overlay= with another user's work directory" "Overlay work directory .* belongs to another user" \
        -M otherwork --overlay="$WORK/ov/low1:$WORK/sym/dir/up:/srv"
for m in symup symwork; do
        bad "-U --overlay= ($m's case)" "symlink" -U -M $m --overlay="$WORK/ov/low1:$WORK/sym/$([ $m = symup ] && echo link || echo dir)/up:/srv"
done
assert_eq "up" "$(ls -A "$WORK/sym/real")" "-U --overlay= with a symlink above UPPER: nothing made at the target"
assert_eq "" "$(ls -A "$WORK/sym/elsewhere")" "-U --overlay= with the work directory a symlink: nothing made at its target"
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

# ---- under -U ------------------------------------------------------------------------------------
# The host uid of the guest's root, from its uid_map, printed first by every command below.
MAP='awk '"'"'{ print $2 }'"'"' /proc/self/uid_map'
run_in "-U --ephemeral" -U --ephemeral "$TREE" /bin/sh -c \
        "$MAP; $ROOT_FS; stat -c %u /bin/busybox; echo x >/eph-file && stat -c %u /eph-file; rm /bin/ls && echo removed"
BASE=$(echo "$OUT" | sed -n 1p)
assert_eq "$(printf 'overlay\n0\n0\nremoved')" "$(echo "$OUT" | sed 1d)" \
        "-U --ephemeral: / an overlay, the tree's files owned by the guest's root, its writes too"
[ "${BASE:-0}" -ge 524288 ] && pass "-U --ephemeral: the guest's root is an unprivileged host uid ($BASE)" ||
        fail "-U --ephemeral: the guest's root is host uid '$BASE'"
assert_eq "$SUM" "$(tree_sum "$TREE")" "-U --ephemeral: the tree is unchanged after writes and a removal"
assert_eq 0 "$(stat -c %u "$TREE/bin/busybox")" "-U --ephemeral: the tree on disk keeps its owner (idmapped)"
# A write lands as the guest's root: seen from the host while the machine runs.
"$NSPAWNLITE" run -U --network=none -M ueph --ephemeral "$TREE" /bin/sh -c 'echo w >/written; sleep 30' \
        </dev/null >/dev/null 2>&1 &
P=$!
STARTED_PIDS+=("$P")
if wait_running ueph 20 && wait_for 10 test -e "/proc/$(leader ueph)/root/written"; then
        L=$(leader ueph)
        assert_eq "$(awk '{ print $2 }' "/proc/$L/uid_map")" "$(stat -c %u "/proc/$L/root/written")" \
                "-U --ephemeral: the guest's write is owned by the guest's root on the host"
else
        fail "the -U ephemeral machine ueph did not start"
fi
timeout 20 "$NSPAWNLITE" terminate ueph >/dev/null 2>&1 || true
wait_exit "$P" 20
[ "$EXIT_RC" = timeout ] || forget "$P"
assert_clean "-U --ephemeral: nothing left after a terminate"

up ubeph -U --ephemeral "$TREE" && in_guest ubeph sh -c 'echo y >/etc/boot-file' && down ubeph
assert_eq "$SUM" "$(tree_sum "$TREE")" "boot -d -U --ephemeral: the tree is unchanged after the machine wrote and ended"
assert_clean "boot -d -U --ephemeral: nothing left after poweroff"

run_in "-U --volatile=yes" -U --volatile=yes "$TREE" $B sh -c \
        "$B stat -f -c %T /; $B stat -c %u / /usr/bin/busybox; $B touch /new && $B stat -c %u /new
         $B mount -o remount,bind,rw /usr 2>/dev/null && echo usr-remounted || echo usr-locked
         $B touch /usr/x 2>/dev/null && echo usr-rw || echo usr-ro"
assert_eq "$(printf 'tmpfs\n0\n0\n0\nusr-locked\nusr-ro')" "$OUT" \
        "-U --volatile=yes: a tmpfs root and writes owned by the guest's root, /usr read-only and locked so"
run_in "-U --volatile=state" -U --volatile=state "$TREE" /bin/sh -c \
        'stat -c %u /var; touch /var/v && stat -c %u /var/v
         mount -o remount,bind,rw / 2>/dev/null && echo root-remounted || echo root-locked
         touch /x 2>/dev/null && echo root-rw || echo root-ro'
assert_eq "$(printf '0\n0\nroot-locked\nroot-ro')" "$OUT" \
        "-U --volatile=state: /var a tmpfs of the guest's root, / read-only and locked so"
run_in "-U --ephemeral --read-only" -U --ephemeral --read-only "$TREE" /bin/sh -c \
        'mount -o remount,bind,rw / 2>/dev/null && echo remounted || echo locked; touch /x 2>/dev/null && echo rw || echo ro'
assert_eq "$(printf 'locked\nro')" "$OUT" "-U --ephemeral --read-only: the overlay is read-only and locked so"

# --overlay= under -U: the layers keep their host owners, like --bind's sources; a directory of the
# guest's root is writable through it.
mkdir -p "$WORK/uov/low" "$WORK/uov/up"
echo low >"$WORK/uov/low/f"
chown "$BASE:$BASE" "$WORK/uov/up"
run_in "-U --overlay=" -U --overlay="$WORK/uov/low:$WORK/uov/up:/srv/o" "$TREE" /bin/sh -c \
        'cat /srv/o/f; echo new >/srv/o/n && echo written'
assert_eq "$(printf 'low\nwritten')" "$OUT" "-U --overlay=: the layers stack, and UPPER of the guest's root takes writes"
assert_eq "new $BASE" "$(cat "$WORK/uov/up/n" 2>/dev/null) $(stat -c %u "$WORK/uov/up/n" 2>/dev/null)" \
        "-U --overlay=: the write landed in UPPER, owned by the guest's root"
run_in "-U --overlay-ro=" -U --overlay-ro="$WORK/uov/low:$WORK/uov/up:/srv/r" "$TREE" /bin/sh -c \
        'cat /srv/r/f; mount -o remount,bind,rw /srv/r 2>/dev/null && echo remounted || echo locked
         touch /srv/r/x 2>/dev/null && echo written || echo refused'
assert_eq "$(printf 'low\nlocked\nrefused')" "$OUT" "-U --overlay-ro=: read-only and locked so"
assert_eq "" "$(ls -A "$WORK/uov" | grep nspawnlite-work || true)" "-U --overlay=: its work directory is removed at the end"

# --private-users-ownership=chown: the tree (a copy of its own) is shifted on disk once, then layered.
CTREE=$(guest_copy busybox)
cp "$CTREE/bin/busybox" "$CTREE/usr/bin/busybox"
CSUM=$(tree_sum "$CTREE")
run_in "-U chown --ephemeral" -U --private-users-ownership=chown --ephemeral "$CTREE" /bin/sh -c \
        "$ROOT_FS; stat -c %u /bin/busybox; echo x >/f && stat -c %u /f"
assert_eq "$(printf 'overlay\n0\n0')" "$OUT" "-U chown --ephemeral: an overlay of the chowned tree, owned by the guest's root"
run_in "-U chown --volatile=yes" -U --private-users-ownership=chown --volatile=yes "$CTREE" $B sh -c \
        "$B stat -c %u / /usr/bin/busybox; $B mount -o remount,bind,rw /usr 2>/dev/null && echo remounted || echo locked"
assert_eq "$(printf '0\n0\nlocked')" "$OUT" "-U chown --volatile=yes: owned by the guest's root, /usr locked read-only"
assert_eq "$CSUM" "$(tree_sum "$CTREE")" "-U chown: the tree's contents are unchanged (only its owners were shifted)"
assert_eq "$SUM" "$(tree_sum "$TREE")" "-U: the tree is unchanged after everything"
assert_clean "after -U"

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
