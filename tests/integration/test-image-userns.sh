#!/bin/bash
# --image= under -U: the image's mounts are idmapped into the machine's user namespace, so
# - the guest's root (an unprivileged host uid) sees the image's files owned by root, and what it
#   writes lands in the image owned by uid 0 (read back on the host with debugfs);
# - a GPT with DPS root and /usr partitions: both idmapped, / and /usr two filesystems;
# - --ephemeral: writes go to the overlay, the image's bytes are unchanged;
# - squashfs (--read-only, and read-only by nature) and erofs: idmapped too on this kernel, the
#   guest cannot remount them writable;
# - a Debian systemd image boots under -U to "running" with no failed unit;
# - --private-users-ownership=chown is refused with one line;
# - nothing is left after each: no loop device, no mount, no machine state.
. "$(dirname "$0")/lib.sh"

for t in mkfs.ext4 debugfs sfdisk losetup; do
        command -v "$t" >/dev/null || skip "needs $t (scripts/install-deps.sh)"
done
TREE=$("$TOP/tests/guests/build.sh" busybox | tail -n 1)
[ -x "$TREE/bin/busybox" ] || die "no busybox guest tree"

# no_trace WHAT IMG: no loop device is bound to IMG and nothing of the runtime dir is mounted here.
no_trace() {
        local loops mounts
        loops=$(losetup -j "$2" 2>&1) || loops="losetup failed: $loops"
        mounts=$(grep -c " $NSPAWNLITE_RUNTIME_DIR/" /proc/self/mountinfo || true)
        if [ -z "$loops" ] && [ "$mounts" = 0 ]; then pass "$1"; else fail "$1: loops '$loops', $mounts mounts"; fi
        assert_clean "$1: no machine state left"
}

# run_in WHAT ARGS…: "nspawnlite run --network=none -U ARGS…", stdout into OUT; status checked.
run_in() {
        local what=$1 rc=0
        shift
        OUT=$(timeout 60 "$NSPAWNLITE" run --network=none -U "$@" </dev/null 2>"$WORK/err") || rc=$?
        assert_eq 0 "$rc" "$what: the command ran (stderr: $(head -c 300 "$WORK/err" | tr '\n' '|'))"
}

# owner_on_disk IMG PATH: the uid debugfs reads for PATH in the ext4 image IMG ("" when missing).
owner_on_disk() { debugfs -R "stat $2" "$1" 2>/dev/null | sed -n 's/^User: *\([0-9]*\) .*/\1/p'; }

# The host uid of the guest's root (its uid_map), then the owners the guest sees.
MAP='awk '"'"'{ print $2 }'"'"' /proc/self/uid_map'
ROOT_FS='awk '"'"'$5 == "/" { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 1); exit } }'"'"' /proc/self/mountinfo'

# ---- a bare ext4 image, read-write --------------------------------------------------------------
EXT4=$WORK/bb.raw
mkfs.ext4 -q -d "$TREE" "$EXT4" 32M || die "mkfs.ext4 failed"
run_in "-U ext4" --image="$EXT4" /bin/sh -c \
        "$MAP; stat -c %u /etc/passwd /bin/busybox; echo w >/root/by-guest && stat -c %u /root/by-guest"
BASE=$(echo "$OUT" | sed -n 1p)
if [ "${BASE:-0}" -ge 524288 ]; then
        pass "-U ext4: the guest's root is an unprivileged host uid ($BASE)"
else
        fail "-U ext4: the guest's root is host uid '$BASE'"
fi
assert_eq "$(printf '0\n0\n0')" "$(echo "$OUT" | sed 1d)" \
        "-U ext4: the guest sees the image's files and its own write owned by root"
assert_eq 0 "$(owner_on_disk "$EXT4" /root/by-guest)" "-U ext4: the guest's write is owned by uid 0 in the image"
no_trace "-U ext4 run" "$EXT4"

# boot -d: a booted machine, its leader an unprivileged host uid, a write through "shell".
if up ubimg -U --image="$EXT4"; then
        L=$(leader ubimg)
        assert_eq "$BASE" "$(awk '/^Uid:/ { print $2 }' "/proc/$L/status")" \
                "boot -U ext4: the guest's init runs as the range's base uid on the host"
        OUT=$(timeout 30 "$NSPAWNLITE" shell ubimg -- /bin/sh -c \
                'stat -c %u /etc/passwd; echo b >/root/boot-file && stat -c %u /root/boot-file' 2>&1) || OUT="failed: $OUT"
        assert_eq "$(printf '0\n0')" "$OUT" "boot -U ext4: the booted guest sees root's files and writes as root"
        down ubimg
        assert_eq 0 "$(owner_on_disk "$EXT4" /root/boot-file)" "boot -U ext4: the write is owned by uid 0 in the image"
        no_trace "boot -U ext4" "$EXT4"
fi

# ---- GPT with DPS root and /usr partitions --------------------------------------------------------
mkdir -p "$WORK/root/usr"
find "$TREE" -mindepth 1 -maxdepth 1 ! -name usr -exec cp -a -t "$WORK/root" {} + || die "copying the tree failed"
mkfs.ext4 -q -d "$WORK/root" "$WORK/root.ext4" 16M && mkfs.ext4 -q -d "$TREE/usr" "$WORK/usr.ext4" 8M ||
        die "mkfs.ext4 of root and /usr failed"
USRIMG=$WORK/usr.raw
truncate -s 26M "$USRIMG" &&
        printf 'label: gpt\nstart=2048, size=%s, type=%s\nstart=%s, size=%s, type=%s\n' \
                $((16 * 2048)) 4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709 \
                $((17 * 2048)) $((8 * 2048)) 8484680C-9521-48C6-9C11-B0720656F69E | sfdisk -q "$USRIMG" &&
        dd if="$WORK/root.ext4" of="$USRIMG" bs=1M seek=1 conv=notrunc status=none &&
        dd if="$WORK/usr.ext4" of="$USRIMG" bs=1M seek=17 conv=notrunc status=none || die "making the GPT image failed"
run_in "-U GPT root+/usr" --image="$USRIMG" /bin/sh -c \
        'stat -c %u / /usr /usr/bin; test "$(stat -c %d /)" != "$(stat -c %d /usr)" && echo two-filesystems
         touch /usr/by-guest && stat -c %u /usr/by-guest'
assert_eq "$(printf '0\n0\n0\ntwo-filesystems\n0')" "$OUT" \
        "-U GPT root+/usr: both partitions idmapped, /usr its own filesystem, writes owned by root"
no_trace "-U GPT root+/usr" "$USRIMG"

# ---- --ephemeral -------------------------------------------------------------------------------
SUM=$(sha256sum <"$EXT4")
run_in "-U --ephemeral ext4" --ephemeral --image="$EXT4" /bin/sh -c \
        "$ROOT_FS; stat -c %u /etc/passwd; echo e >/eph && stat -c %u /eph"
assert_eq "$(printf 'overlay\n0\n0')" "$OUT" "-U --ephemeral ext4: an overlay of the idmapped image, writes owned by root"
assert_eq "$SUM" "$(sha256sum <"$EXT4")" "-U --ephemeral ext4: the image's bytes are unchanged"
no_trace "-U --ephemeral ext4" "$EXT4"

# ---- read-only filesystems ---------------------------------------------------------------------
RO_CHECK='stat -c %u /etc/passwd; mount -o remount,rw / 2>/dev/null && echo remounted || echo locked
          touch /x 2>/dev/null && echo written || echo refused'
if command -v mksquashfs >/dev/null; then
        mksquashfs "$TREE" "$WORK/bb.squashfs" -quiet -no-progress >/dev/null || die "mksquashfs failed"
        run_in "-U --read-only squashfs" --read-only --image="$WORK/bb.squashfs" /bin/sh -c "$RO_CHECK"
        assert_eq "$(printf '0\nlocked\nrefused')" "$OUT" \
                "-U --read-only squashfs: idmapped, owned by root, read-only and locked so"
        run_in "-U squashfs" --image="$WORK/bb.squashfs" /bin/sh -c "$RO_CHECK"
        assert_eq "$(printf '0\nlocked\nrefused')" "$OUT" "-U squashfs (read-only by nature): the same"
        run_in "-U --ephemeral squashfs" --ephemeral --image="$WORK/bb.squashfs" /bin/sh -c \
                'touch /x && stat -c %u /x /etc/passwd'
        assert_eq "$(printf '0\n0')" "$OUT" "-U --ephemeral squashfs: a writable overlay owned by root"
        no_trace "-U squashfs" "$WORK/bb.squashfs"
else
        log "no mksquashfs: squashfs not tested"
fi
if command -v mkfs.erofs >/dev/null; then
        mkfs.erofs --quiet "$WORK/bb.erofs" "$TREE" >/dev/null 2>&1 || die "mkfs.erofs failed"
        run_in "-U erofs" --image="$WORK/bb.erofs" /bin/sh -c "$RO_CHECK"
        assert_eq "$(printf '0\nlocked\nrefused')" "$OUT" "-U erofs: idmapped, owned by root, read-only and locked so"
        no_trace "-U erofs" "$WORK/bb.erofs"
else
        log "no mkfs.erofs: erofs not tested"
fi

# ---- a Debian systemd image ----------------------------------------------------------------------
# systemd as the guest's init on an idmapped ext4 image: it runs with no failed unit, and a file its
# root writes lands in the image owned by uid 0.
DEB=$("$TOP/tests/guests/build.sh" debian-systemd | tail -n 1) || DEB=
if [ -n "$DEB" ] && [ -d "$DEB/usr/lib/systemd" ]; then
        DEBIMG=$WORK/debian.raw
        mkfs.ext4 -q -d "$DEB" "$DEBIMG" 600M || die "mkfs.ext4 of the Debian tree failed"
        if up debu -U --image="$DEBIMG"; then
                SH="$NSPAWNLITE shell debu --"
                assert_eq running "$(systemd_state debu $SH)" "debu: systemd reaches running in the -U image"
                assert_empty_ok "debu: no failed unit" $SH systemctl --failed --plain --no-legend
                OUT=$($SH /bin/sh -c 'echo d >/root/deb-file && stat -c %u /root/deb-file /usr/bin/passwd' 2>&1) || OUT="failed: $OUT"
                assert_eq "$(printf '0\n0')" "$OUT" "debu: the guest sees root's files, its write is root's"
                down debu
                assert_eq 0 "$(owner_on_disk "$DEBIMG" /root/deb-file)" "debu: the write is owned by uid 0 in the image"
                no_trace "debu" "$DEBIMG"
        fi
else
        fail "no debian-systemd guest tree"
fi

# ---- refused -----------------------------------------------------------------------------------
rc=0
err=$(timeout 30 "$NSPAWNLITE" run --network=none -U --private-users-ownership=chown --image="$EXT4" /bin/true 2>&1) || rc=$?
if [ "$rc" != 0 ] && [ "$(echo "$err" | wc -l)" = 1 ] && [[ $err =~ "--private-users-ownership=chown would rewrite" ]]; then
        pass "-U chown with --image=: refused with one line"
else
        fail "-U chown with --image=: status $rc, output '$err'"
fi
no_trace "-U chown refused" "$EXT4"
