#!/bin/bash
# --image= with real distribution images (issue 14): GPT images of the Debian systemd guest tree
# made by systemd-repart with Discoverable Partitions types (one root partition; root and /usr on
# partitions of their own) boot to "running" with no failed unit, take a login, power off with
# exit 0 and leave no loop device; --ephemeral leaves the image's bytes unchanged; a writable image
# keeps what the guest wrote; XFS and btrfs images of the busybox tree run.
. "$(dirname "$0")/lib.sh"

for t in systemd-repart sfdisk losetup mkfs.ext4 sha256sum; do
        command -v "$t" >/dev/null || skip "needs $t (scripts/install-deps.sh)"
done
needs_tmux_and_gcc
DEB=$("$TOP/tests/guests/build.sh" debian-systemd | tail -n 1)
[ -d "$DEB" ] || die "no debian-systemd guest tree (tests/guests/build.sh debian-systemd)"
BB=$("$TOP/tests/guests/build.sh" busybox | tail -n 1)
[ -d "$BB" ] || die "no busybox guest tree (tests/guests/build.sh busybox)"
tmux_harness

# repart IMG DEFS…: a new GPT image IMG, its partitions defined by DEFS (each "NAME|conf lines",
# lines separated by ";"; CopyFiles= sources are host paths: repart only reads them).
repart() {
        local img=$1 defs=$WORK/defs.$RANDOM d
        shift
        mkdir "$defs"
        for d in "$@"; do printf '[Partition]\n%s\n' "${d#*|}" | tr ';' '\n' >"$defs/${d%%|*}.conf"; done
        systemd-repart --definitions="$defs" --empty=create --size=auto --dry-run=no --pretty=no "$img" \
                >"$WORK/repart.log" 2>&1 || die "systemd-repart $img failed: $(tail -n 3 "$WORK/repart.log")"
}

# no_loop WHAT IMG: no loop device is bound to IMG (losetup itself succeeding).
no_loop() {
        local out rc=0
        out=$(losetup -j "$2" 2>&1) || rc=$?
        if [ "$rc" = 0 ] && [ -z "$out" ]; then pass "$1"; else fail "$1: status $rc, '$out'"; fi
}

# A fixed size: Minimize= (not in bookworm's repart anyway) guessed too small and copied part of it.
IMG=$WORK/debian.raw
repart "$IMG" "10-root|Type=root;Format=ext4;CopyFiles=$DEB:/;SizeMinBytes=600M;SizeMaxBytes=600M"
# /usr on its own partition: the root from a copy of the tree without usr (bookworm's repart has no
# ExcludeFiles=, and a CopyFiles= of /bin or /lib would follow their symlinks into usr).
mkdir "$WORK/rootfs" "$WORK/rootfs/usr"
find "$DEB" -mindepth 1 -maxdepth 1 ! -name usr -exec cp -a -t "$WORK/rootfs" {} + || die "copying the tree failed"
USRIMG=$WORK/debian-usr.raw
repart "$USRIMG" "10-root|Type=root;Format=ext4;CopyFiles=$WORK/rootfs:/;SizeMinBytes=100M;SizeMaxBytes=100M" \
        "20-usr|Type=usr;Format=ext4;CopyFiles=$DEB/usr:/;SizeMinBytes=400M;SizeMaxBytes=400M"
log "images: $(sfdisk -d "$USRIMG" | grep -o 'type=[0-9A-F-]*' | tr '\n' ' ')"

# --- the Debian image boots, takes a login, powers off --------------------------------------------
up debimg --image="$IMG" || die "the Debian image did not boot"
assert_eq running "$(systemd_state debimg)" "debimg: the Debian image's systemd is running"
assert_empty_ok "debimg: no failed unit" in_guest debimg systemctl --failed --plain --no-legend
assert_eq "$IMG" "$(machine_state debimg rootfs)" "debimg: the state file names the image"

# login in a tmux pane: the guest's prompt, root/root, a shell of root answers
tm new-session -d -s a -x 100 -y 30 env NSPAWNLITE_RUNTIME_DIR="$NSPAWNLITE_RUNTIME_DIR" \
        NSPAWNLITE_CGROUP_PARENT="$NSPAWNLITE_CGROUP_PARENT" PS1='pane$ ' TERM=screen bash --norc --noprofile
wait_pane a '^pane\$' 10 || die "no shell prompt in the tmux pane: $(pane_tail a)"
type_line a "$NSPAWNLITE login debimg; echo LOGIN_RC:\$?"
if wait_pane a 'debimg login: *$' 20; then
        type_line a root
        wait_pane a 'Password: *$' 10 || true
        type_line a root
        wait_pane a '[#$] *$' 15 || true
        for _ in 1 2; do
                type_line a "echo WHO:\$(id -un)"
                wait_marker a WHO 5 && break
        done
        assert_eq root "$(marker_value a WHO)" "debimg: login on the image's guest gives root a shell"
        tm send-keys -t a C-] C-] C-]
        wait_marker a LOGIN_RC 10 || true
        assert_eq 0 "$(marker_value a LOGIN_RC)" "debimg: login detaches with Ctrl-] x3, exit 0"
else
        fail "debimg: no login prompt: $(pane_tail a)"
fi
down debimg
no_loop "debimg: no loop device left after poweroff" "$IMG"

# --- /usr on a partition of its own ---------------------------------------------------------------
up debusr --image="$USRIMG" || die "the Debian image with a /usr partition did not boot"
assert_eq running "$(systemd_state debusr)" "debusr: the image with /usr on its own partition is running"
assert_empty_ok "debusr: no failed unit" in_guest debusr systemctl --failed --plain --no-legend
devs=$(in_guest debusr stat -c %d / /usr 2>&1 | sort -u | wc -l)
assert_eq 2 "$devs" "debusr: / and /usr are two filesystems in the guest"
down debusr
no_loop "debusr: no loop device left after poweroff" "$USRIMG"

# --- --ephemeral leaves the image's bytes as they were --------------------------------------------
sum=$(sha256sum <"$IMG")
up debeph --ephemeral --image="$IMG" || die "the Debian image did not boot --ephemeral"
assert_eq running "$(systemd_state debeph)" "debeph: the image boots --ephemeral to running"
in_guest debeph sh -c 'echo ephemeral >/root/eph-marker' || fail "debeph: writing in the guest failed"
down debeph
no_loop "debeph: no loop device left after poweroff" "$IMG"
assert_eq "$sum" "$(sha256sum <"$IMG")" "--ephemeral --image: the image's sha256 is unchanged"

# --- a writable image keeps what the guest wrote ---------------------------------------------------
out=$("$NSPAWNLITE" run --network=none --image="$IMG" sh -c 'echo kept >/root/kept-marker' 2>&1)
assert_eq "" "$out" "a write in the writable image runs quietly"
out=$("$NSPAWNLITE" run --network=none --read-only --image="$IMG" cat /root/kept-marker /root/eph-marker 2>&1 || true)
assert_match "^kept" "$out" "the file written by a guest is in the image at the next run"
assert_match "eph-marker: No such file" "$out" "the file written under --ephemeral is not"
no_loop "after the runs: no loop device left" "$IMG"

# --- XFS and btrfs images of the busybox tree ------------------------------------------------------
if command -v mkfs.xfs >/dev/null; then
        truncate -s 320M "$WORK/bb-xfs.raw"
        mkfs.xfs -q "$WORK/bb-xfs.raw" || die "mkfs.xfs failed"
        mkdir "$WORK/fill"
        if ! { mount -o loop "$WORK/bb-xfs.raw" "$WORK/fill" && cp -a "$BB/." "$WORK/fill/" && umount "$WORK/fill"; }; then
                die "filling the XFS image failed"
        fi
        assert_empty_ok "an XFS image runs /bin/true" "$NSPAWNLITE" run --network=none --image="$WORK/bb-xfs.raw" /bin/true
        no_loop "XFS: no loop device left" "$WORK/bb-xfs.raw"
else
        log "no mkfs.xfs: XFS not tested (scripts/install-deps.sh installs xfsprogs)"
fi
if command -v mkfs.btrfs >/dev/null; then
        truncate -s 128M "$WORK/bb-btrfs.raw"
        mkfs.btrfs -q --rootdir "$BB" "$WORK/bb-btrfs.raw" >/dev/null || die "mkfs.btrfs failed"
        assert_empty_ok "a btrfs image runs /bin/true" "$NSPAWNLITE" run --network=none --image="$WORK/bb-btrfs.raw" /bin/true
        no_loop "btrfs: no loop device left" "$WORK/bb-btrfs.raw"
else
        log "no mkfs.btrfs: btrfs not tested (scripts/install-deps.sh installs btrfs-progs)"
fi
assert_clean
