#!/bin/bash
# boot/run --image=: disk images made here with public tools (a bare ext4, squashfs and erofs, a GPT
# with the Discoverable Partitions root type, an MBR with one Linux partition) run; nothing stays
# bound or mounted after; writes land in the image; --read-only and the image lock hold; bad
# images fail with one line and leave no loop device; the loop devices use direct I/O where the
# backing file can; an image on a read-only filesystem needs --read-only.
. "$(dirname "$0")/lib.sh"

for t in mkfs.ext4 sfdisk losetup; do
        command -v "$t" >/dev/null || skip "needs $t (scripts/install-deps.sh)"
done
TREE=$("$TOP/tests/guests/build.sh" busybox | tail -n 1)
[ -d "$TREE" ] || die "no busybox guest tree"

# no_trace WHAT IMG: no loop device is bound to IMG and nothing of it is mounted here.
no_trace() {
        local loops mounts
        loops=$(losetup -j "$2" 2>&1) || loops="losetup failed: $loops"
        mounts=$(grep -c " $NSPAWNLITE_RUNTIME_DIR/" /proc/self/mountinfo || true)
        if [ -z "$loops" ] && [ "$mounts" = 0 ]; then pass "$1"; else fail "$1: loops '$loops', $mounts mounts"; fi
}

# run_ok WHAT IMG ARGS…: "run --image=IMG ARGS… cat /etc/os-release" succeeds and reads the guest's.
run_ok() {
        local what=$1 img=$2 out rc=0
        shift 2
        out=$("$NSPAWNLITE" run --network=none --image="$img" "$@" cat /etc/os-release 2>&1) || rc=$?
        if [ "$rc" = 0 ] && [[ $out == *BusyBox* ]]; then pass "$what"; else fail "$what: status $rc, '$out'"; fi
        no_trace "$what: no loop device or mount left" "$img"
}

# refused WHAT PATTERN ARGS…: nspawnlite ARGS… fails with one line matching PATTERN.
refused() {
        local what=$1 pat=$2 out rc=0
        shift 2
        out=$("$NSPAWNLITE" "$@" 2>&1) || rc=$?
        if [ "$rc" != 0 ] && [ "$(echo "$out" | wc -l)" = 1 ] && [[ $out =~ $pat ]]; then
                pass "$what"
        else
                fail "$what: status $rc, '$out'"
        fi
}

EXT4=$WORK/bb.raw
mkfs.ext4 -q -d "$TREE" "$EXT4" 32M || die "mkfs.ext4 failed"
run_ok "bare ext4 image runs" "$EXT4"
run_ok "bare ext4 image runs --read-only" "$EXT4" --read-only

# guest_loop_dio IMG ARGS…: the dio flag of the loop device under the guest's root, read inside
# (mountinfo: the source is the second field after the "-").
# shellcheck disable=SC2016 # expanded in the guest
LOOP_DIO='dev=$(awk '"'"'$5 == "/" { for (i = 7; i < NF; i++) if ($i == "-") print $(i + 2) }'"'"' /proc/self/mountinfo)
cat "/sys/block/${dev#/dev/}/loop/dio"'
guest_loop_dio() {
        local img=$1
        shift
        "$NSPAWNLITE" run --network=none --image="$img" "$@" sh -c "$LOOP_DIO" 2>&1
}
# $WORK is on the host's ext4 (lib.sh): the loop device reads the image with direct I/O.
[ "$(stat -f -c %T "$WORK")" = ext2/ext3 ] || log "\$WORK is on $(stat -f -c %T "$WORK"), not ext4"
assert_eq 1 "$(guest_loop_dio "$EXT4")" "an image on ext4 is read through a loop device with direct I/O"

# An image on a read-only filesystem (a read-only bind mount made here): read-write is refused
# before any loop device is bound; --read-only runs.
mkdir "$WORK/rofs"
if ! { mount --bind "$WORK" "$WORK/rofs" && mount -o remount,bind,ro "$WORK/rofs"; }; then
        die "cannot make a read-only bind mount"
fi
refused "an image on a read-only filesystem asked read-write is refused" \
        "^nspawnlite: Image .*/rofs/bb.raw lies on a read-only filesystem .*give --read-only" \
        run --network=none --image="$WORK/rofs/bb.raw" /bin/true
refused "boot of an image on a read-only filesystem asked read-write is refused" "lies on a read-only filesystem" \
        boot --network=none --image="$WORK/rofs/bb.raw"
no_trace "image on a read-only filesystem, refused: no loop device or mount left" "$WORK/rofs/bb.raw"
run_ok "an image on a read-only filesystem runs --read-only" "$WORK/rofs/bb.raw" --read-only
umount "$WORK/rofs"
# A file system without direct I/O (squashfs): the kernel leaves the loop device buffered; it runs.
if command -v mksquashfs >/dev/null; then
        mksquashfs "$EXT4" "$WORK/ro.squashfs" -quiet -no-progress >/dev/null 2>&1 || die "mksquashfs of the image failed"
        mount -t squashfs -o ro "$WORK/ro.squashfs" "$WORK/rofs" || die "cannot mount the squashfs"
        assert_eq 0 "$(guest_loop_dio "$WORK/rofs/bb.raw" --read-only)" \
                "an image on squashfs runs --read-only, its loop device buffered (dio 0)"
        no_trace "image on squashfs: no loop device or mount left" "$WORK/rofs/bb.raw"
        umount "$WORK/rofs"
fi

# partitioned: the ext4 image copied at 1 MiB into a GPT (DPS root x86-64) and an MBR (0x83)
make_disk() { # FILE LABEL TYPE
        truncate -s 40M "$1" &&
                printf 'label: %s\nstart=2048, size=%s, type=%s\n' "$2" $((32 * 2048)) "$3" | sfdisk -q "$1" &&
                dd if="$EXT4" of="$1" bs=1M seek=1 conv=notrunc status=none
}
make_disk "$WORK/gpt.raw" gpt 4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709 || die "making the GPT image failed"
run_ok "GPT image with the DPS root type runs" "$WORK/gpt.raw"
make_disk "$WORK/generic.raw" gpt 0FC63DAF-8483-4772-8E79-3D69D8477DE4 || die "making the GPT image failed"
run_ok "GPT image with one generic Linux partition runs" "$WORK/generic.raw"
make_disk "$WORK/mbr.img" dos 83 || die "making the MBR image failed"
run_ok "MBR image with one Linux partition runs" "$WORK/mbr.img"

if command -v mksquashfs >/dev/null; then
        mksquashfs "$TREE" "$WORK/bb.squashfs" -quiet -no-progress >/dev/null || die "mksquashfs failed"
        run_ok "squashfs image runs (read-only by nature)" "$WORK/bb.squashfs"
else
        log "no mksquashfs: squashfs not tested"
fi
if command -v mkfs.erofs >/dev/null; then
        mkfs.erofs --quiet "$WORK/bb.erofs" "$TREE" >/dev/null 2>&1 || die "mkfs.erofs failed"
        run_ok "erofs image runs" "$WORK/bb.erofs"
else
        log "no mkfs.erofs: erofs not tested"
fi

# boot: a write lands in the image; a second writer is refused meanwhile; read-only refuses writes
LOG=$WORK/console.log
boot_bg imgbox "$LOG" --network=none --image="$EXT4"
wait_running imgbox 20 || die "the image did not boot: $(cat "$LOG")"
wait_for 20 in_guest imgbox test -e /proc/1/root || true
in_guest imgbox sh -c 'echo written-in-guest >/root/marker' && pass "a file is written in the booted image" ||
        fail "writing in the booted image failed"
assert_eq "$EXT4" "$(machine_state imgbox rootfs)" "the state file names the image"
refused "a second read-write boot of the image is refused" "in use by another machine" \
        boot -M other --network=none --image="$EXT4"
refused "a read-only boot of an image written by a machine is refused" "in use by another machine" \
        run -M other2 --network=none --read-only --image="$EXT4" /bin/true
"$NSPAWNLITE" poweroff imgbox >/dev/null 2>&1 || fail "poweroff failed"
wait_exit "$BOOT_PID" 30
assert_eq 0 "$EXIT_RC" "boot of the image powers off, exit 0"
no_trace "after the boot: no loop device or mount left" "$EXT4"
mkdir "$WORK/check"
mount -o loop,ro "$EXT4" "$WORK/check" || die "cannot mount the image to check it"
assert_eq written-in-guest "$(cat "$WORK/check/root/marker" 2>&1)" "the file written in the guest is in the image"
umount "$WORK/check"

out=$("$NSPAWNLITE" run --network=none --read-only --image="$EXT4" sh -c 'echo x >/root/ro 2>&1; echo rc=$?' 2>&1) || true
assert_match "rc=[1-9]" "$out" "--read-only refuses writes in the image"

# two read-only users of one image at once
boot_bg robox "$WORK/ro.log" --network=none --read-only --image="$EXT4"
wait_running robox 20 || fail "a read-only boot did not start: $(cat "$WORK/ro.log")"
out=$("$NSPAWNLITE" run --network=none --read-only -M robox2 --image="$EXT4" cat /etc/os-release 2>&1) || true
assert_match "BusyBox" "$out" "a second read-only user of the image runs beside the first"
"$NSPAWNLITE" poweroff robox >/dev/null 2>&1 || fail "poweroff of robox failed"
wait_exit "$BOOT_PID" 30
no_trace "after the read-only boots: no loop device or mount left" "$EXT4"

# SIGKILL of the supervisor: the machine's mount namespace dies with it, and the loop device too
boot_bg killbox "$WORK/kill.log" --network=none --image="$EXT4"
wait_running killbox 20 || fail "the image did not boot for the kill: $(cat "$WORK/kill.log")"
kill -KILL "$BOOT_PID"
wait_exit "$BOOT_PID" 10
wait_for 10 sh -c "[ -z \"\$(losetup -j '$EXT4')\" ]" || true
no_trace "after SIGKILL of the supervisor: no loop device or mount left" "$EXT4"
"$NSPAWNLITE" gc >/dev/null 2>&1 || true

# the default machine name (and so hostname): the file name without .raw
assert_eq bb "$("$NSPAWNLITE" run --network=none --image="$EXT4" hostname 2>&1)" "the machine is named after the image"

# bad images: one line each, non-zero, nothing left
head -c 4M "$WORK/gpt.raw" >"$WORK/truncated.raw"
head -c 4M /dev/urandom >"$WORK/random.raw"
truncate -s 8M "$WORK/noroot.raw"
printf 'label: gpt\nstart=2048, size=4096, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n' | sfdisk -q "$WORK/noroot.raw"
truncate -s 8M "$WORK/tworoots.raw"
printf 'label: gpt\nstart=2048, size=4096, type=%s\nstart=8192, size=4096, type=%s\n' \
        4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709 4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709 | sfdisk -q "$WORK/tworoots.raw"
truncate -s 8M "$WORK/nofs.raw"
printf 'label: gpt\nstart=2048, size=4096, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709\n' | sfdisk -q "$WORK/nofs.raw"
mkfs.ext4 -q "$WORK/empty.raw" 8M
mkdir "$WORK/adir"
mkfifo "$WORK/afifo"
for bad in "truncated:Image .*(outside the file|truncated)" "random:no partition table and no filesystem" \
        "noroot:no root partition" "tworoots:more than one candidate root" "nofs:not a filesystem nspawnlite mounts"; do
        img=$WORK/${bad%%:*}.raw
        refused "bad image ${bad%%:*} is refused" "${bad#*:}" run --network=none --image="$img" /bin/true
        refused "bad image ${bad%%:*} is refused by boot" "${bad#*:}" boot --network=none --image="$img"
        no_trace "bad image ${bad%%:*}: no loop device or mount left" "$img"
done
refused "a directory as --image is refused" "is a directory" run --network=none --image="$WORK/adir" /bin/true
refused "a FIFO as --image is refused" "not a regular file" run --network=none --image="$WORK/afifo" /bin/true
refused "a missing --image is refused" "does not exist" run --network=none --image="$WORK/nope.raw" /bin/true
refused "--image with -U chown is refused" "private-users-ownership=chown would rewrite" run -U --private-users-ownership=chown --network=none --image="$EXT4" /bin/true
refused "an image without an init is refused by boot" "os-release|No init" boot --network=none --image="$WORK/empty.raw"

# A device node in the image stays unusable under --ephemeral too: the kernel asks the overlay (the
# mount the node is opened through), not the image's nodev mount beneath it.
DEVTREE=$WORK/devtree
cp -a "$TREE" "$DEVTREE" && mknod "$DEVTREE/nullnode" c 1 3 && mkfs.ext4 -q -d "$DEVTREE" "$WORK/dev.raw" 32M ||
        die "making the image with a device node failed"
for mode in "" --ephemeral; do
        out=$("$NSPAWNLITE" run --network=none --image="$WORK/dev.raw" $mode \
                sh -c '(echo x >/nullnode) 2>/dev/null && echo OPENED; echo done' 2>&1) || true
        assert_eq done "$out" "run --image ${mode:-(plain)}: the image's device node cannot be opened"
done
no_trace "device node runs: no loop device or mount left" "$WORK/dev.raw"

# A block device that is mounted already is refused: two mounts of one filesystem corrupt it.
BLK=$(losetup -f --show "$EXT4") || die "losetup failed"
mkdir -p "$WORK/blkmnt"
if mount -o ro "$BLK" "$WORK/blkmnt"; then
        refused "a mounted block device as --image is refused" "block device in use" \
                run --network=none --image="$BLK" /bin/true
        umount "$WORK/blkmnt"
else
        fail "cannot mount $BLK for the in-use check"
fi
losetup -d "$BLK"
assert_clean
