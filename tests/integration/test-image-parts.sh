#!/bin/bash
# --image= with every Discoverable Partitions kind (issue 14): a GPT made by systemd-repart with a
# root, /home, /srv, /var, /var/tmp, XBOOTLDR and an ESP; `run` sees each in its place with its
# content, the boot partitions nosuid,nodev,noexec; a detached boot shows none of them in the host's
# mount table and leaves no loop device; --ephemeral and --volatile=overlay put an overlay on each
# partition, --volatile=state keeps its tmpfs /var; under -U each partition is idmapped; the ESP goes to /boot without XBOOTLDR, to /efi when the
# root has /efi; two partitions of one kind, or one without a filesystem, are one clear line; a
# symlink in the image never puts a mount on the host.
. "$(dirname "$0")/lib.sh"

for t in systemd-repart sfdisk losetup mkfs.ext4; do
        command -v "$t" >/dev/null || skip "needs $t (scripts/install-deps.sh)"
done
TREE=$("$TOP/tests/guests/build.sh" busybox | tail -n 1)
[ -d "$TREE" ] || die "no busybox guest tree"

# The ESP and XBOOTLDR are vfat, as their specifications have them, where this kernel mounts vfat
# (the build machines' kernel has no FAT): else ext4, which the same code mounts with the same flags.
modprobe vfat >/dev/null 2>&1 || true
if grep -qw vfat /proc/filesystems && command -v mkfs.vfat >/dev/null; then
        BOOTFS=vfat
else
        BOOTFS=ext4
        log "no vfat in this kernel (or no dosfstools): the ESP and XBOOTLDR are ext4 here"
fi

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
# part KIND TYPE [FORMAT]: a partition definition of 16 MiB holding $WORK/content/KIND.
part() { echo "$1|Type=$2;Format=${3:-ext4};CopyFiles=$WORK/content/$1:/;SizeMinBytes=16M;SizeMaxBytes=16M"; }
root() { echo "root|Type=root;Format=ext4;CopyFiles=$1:/;SizeMinBytes=32M;SizeMaxBytes=32M"; }

# no_trace WHAT IMG: no loop device is bound to IMG (losetup succeeding) and nothing is mounted
# under the runtime dir.
no_trace() {
        local loops rc=0 mounts
        loops=$(losetup -j "$2" 2>&1) || rc=$?
        mounts=$(grep -c " $NSPAWNLITE_RUNTIME_DIR/" /proc/self/mountinfo || true)
        if [ "$rc" = 0 ] && [ -z "$loops" ] && [ "$mounts" = 0 ]; then
                pass "$1"
        else
                fail "$1: losetup status $rc, loops '$loops', $mounts mounts"
        fi
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

# mount_opts MOUNTINFO PATH: the per-mount options of PATH in the mountinfo text.
mount_opts() { echo "$1" | awk -v p="$2" '$5 == p { print $6 }'; }

for k in home srv var tmp xbootldr esp; do
        mkdir -p "$WORK/content/$k" || die "content for $k"
        echo "in-$k" >"$WORK/content/$k/marker"
done

# --- every kind: each in its place, with its content and flags -------------------------------------
IMG=$WORK/parts.raw
repart "$IMG" "$(part esp esp "$BOOTFS")" "$(part xbootldr xbootldr "$BOOTFS")" "$(root "$TREE")" \
        "$(part home home)" "$(part srv srv)" "$(part var var)" "$(part tmp tmp)"
log "image: $(sfdisk -d "$IMG" | grep -o 'type=[0-9A-F-]*' | tr '\n' ' ')"

rc=0
out=$("$NSPAWNLITE" run --network=none --image="$IMG" sh -c \
        'cat /home/marker /srv/marker /var/marker /var/tmp/marker /boot/marker /efi/marker; echo ===; cat /proc/self/mountinfo' 2>&1) || rc=$?
assert_eq 0 "$rc" "run of the image with every partition kind exits 0"
assert_eq "in-home in-srv in-var in-tmp in-xbootldr in-esp" "$(echo "${out%%===*}" | tr -s '\n' ' ' | sed 's/ $//')" \
        "/home, /srv, /var, /var/tmp, /boot (XBOOTLDR) and /efi (ESP) hold their partitions' files"
MI=${out#*===}
srcs=
for p in / /home /srv /var /var/tmp /boot /efi; do
        src=$(echo "$MI" | awk -v p="$p" '$5 == p { for (i = 7; i < NF; i++) if ($i == "-") print $(i + 2) }')
        assert_match "^/dev/loop[0-9]+$" "$src" "$p is mounted from a loop device"
        assert_match "(^|,)nodev(,|$)" "$(mount_opts "$MI" "$p")" "$p is nodev"
        srcs="$srcs$src"$'\n'
done
assert_eq 7/7 "$(echo "$srcs" | grep -c . || true)/$(echo "$srcs" | grep . | sort -u | wc -l)" \
        "seven partitions on seven distinct loop devices"
for p in /boot /efi; do
        assert_match "nosuid,nodev,noexec" "$(mount_opts "$MI" "$p")" "$p (a boot partition) is nosuid,nodev,noexec"
done
assert_match "^rw,nodev,relatime$" "$(mount_opts "$MI" /home)" "/home is rw,nodev and not noexec"
if [ "$BOOTFS" = vfat ]; then
        assert_match "fmask=0077,dmask=0077" "$(echo "$MI" | awk '$5 == "/efi"')" "the vfat ESP is mounted umask=0077"
fi
no_trace "after the run: no loop device or mount left" "$IMG"

# --- --ephemeral / --volatile=overlay: every partition there, writable, and the image unchanged --------
SUM=$(sha256sum "$IMG")
for mode in --ephemeral --volatile=overlay; do
        out=$("$NSPAWNLITE" run --network=none --image="$IMG" $mode sh -c \
                'cat /home/marker /var/marker /efi/marker && echo x >/home/new && echo x >/var/tmp/new && echo WROTE' 2>&1) || true
        assert_eq "in-home in-var in-esp WROTE" "$(echo "$out" | tr -s '\n' ' ' | sed 's/ $//')" \
                "$mode: the partitions are there and take writes"
done
# the overlay the guest sees the ESP through keeps its nosuid,noexec
MI=$("$NSPAWNLITE" run --network=none --image="$IMG" --ephemeral cat /proc/self/mountinfo 2>&1) || true
assert_match "nosuid,nodev,noexec.* - overlay " "$(echo "$MI" | awk '$5 == "/efi"' | tail -n 1)" \
        "--ephemeral: the ESP's overlay is nosuid,nodev,noexec"
assert_eq "$SUM" "$(sha256sum "$IMG")" "--ephemeral and --volatile=overlay leave the image's bytes unchanged"
# --volatile=state: /var is the machine's tmpfs, not the image's /var; /home is there, read-only
out=$("$NSPAWNLITE" run --network=none --image="$IMG" --volatile=state sh -c \
        'test -e /var/marker && echo VAR; cat /home/marker; (echo x >/home/new) 2>/dev/null && echo WROTE; echo done' 2>&1) || true
assert_eq "in-home done" "$(echo "$out" | tr -s '\n' ' ' | sed 's/ $//')" \
        "--volatile=state: a tmpfs /var instead of the image's, /home there read-only"
no_trace "after the layered runs: no loop device or mount left" "$IMG"

# --- -U: every partition idmapped, the guest's root owns their files; --ephemeral -U writes vanish --
out=$("$NSPAWNLITE" run -U --network=none --image="$IMG" sh -c \
        'stat -c %u /home/marker /srv/marker /var/marker /var/tmp/marker /boot/marker /efi/marker' 2>&1) || true
assert_eq "0 0 0 0 0 0" "$(echo "$out" | tr -s '\n' ' ' | sed 's/ $//')" \
        "-U: each partition's files are the guest's root's (idmapped)"
SUM=$(sha256sum "$IMG")
out=$("$NSPAWNLITE" run -U --ephemeral --network=none --image="$IMG" sh -c \
        'echo x >/home/u-new && echo x >/srv/u-new && cat /efi/marker' 2>&1) || true
assert_eq in-esp "$out" "-U --ephemeral: the partitions take writes"
assert_eq "$SUM" "$(sha256sum "$IMG")" "-U --ephemeral left the image's bytes unchanged"
no_trace "after the -U runs: no loop device or mount left" "$IMG"

# --- a detached boot: nothing in the host's mount table, all loops gone after ----------------------
LOG=$WORK/boot.log
boot_bg partsbox "$LOG" --network=none --image="$IMG"
wait_running partsbox 20 || die "the image did not boot: $(cat "$LOG")"
loops=$(losetup -j "$IMG" | cut -d: -f1) || true
assert_eq 7 "$(echo "$loops" | grep -c '^/dev/loop' || true)" "the booted machine holds seven loop devices"
leaked=
for l in $loops; do
        if grep -q " $l " /proc/self/mountinfo /proc/1/mountinfo; then leaked="$leaked $l"; fi
done
if [ -n "$loops" ] && [ -z "$leaked" ]; then
        pass "none of the machine's partitions shows in the host's mount table"
else
        fail "the host's mount table shows loop devices of the machine: '$leaked' (loops '$loops')"
fi
assert_eq in-esp "$(in_guest partsbox cat /efi/marker 2>&1)" "the running machine has its ESP on /efi"
"$NSPAWNLITE" poweroff partsbox >/dev/null 2>&1 || fail "poweroff failed"
wait_exit "$BOOT_PID" 30
assert_eq 0 "$EXIT_RC" "boot of the image powers off, exit 0"
no_trace "after the boot: no loop device or mount left" "$IMG"

# --- the ESP's place: /boot without XBOOTLDR, /efi when the root has /efi --------------------------
ESPIMG=$WORK/esp.raw
repart "$ESPIMG" "$(part esp esp "$BOOTFS")" "$(root "$TREE")"
out=$("$NSPAWNLITE" run --network=none --image="$ESPIMG" sh -c 'cat /boot/marker; test -e /efi && echo EFI' 2>&1) || true
assert_eq in-esp "$out" "without XBOOTLDR the ESP is on /boot (and there is no /efi)"
EFITREE=$WORK/efitree
cp -a "$TREE" "$EFITREE" || die "copying the tree failed"
mkdir "$EFITREE/efi"
EFIIMG=$WORK/efi.raw
repart "$EFIIMG" "$(part esp esp "$BOOTFS")" "$(root "$EFITREE")"
out=$("$NSPAWNLITE" run --network=none --image="$EFIIMG" sh -c 'cat /efi/marker; test -e /boot/marker && echo BOOT' 2>&1) || true
assert_eq in-esp "$out" "a root with /efi gets the ESP there"
no_trace "ESP images: no loop device or mount left" "$ESPIMG"

# --- a symlink in the image is resolved inside it: the mount never lands on the host --------------
# /srv -> ../../…/$WORK/hostdir: followed on the host side it would mount /srv on our hostdir; in
# the image's root it names $WORK/hostdir inside the image (under the guest's /tmp, hidden by its
# tmpfs, so the guest's mountinfo is what shows it).
mkdir "$WORK/hostdir"
LINKTREE=$WORK/linktree
cp -a "$TREE" "$LINKTREE" || die "copying the tree failed"
ln -s "../../../../../../..$WORK/hostdir" "$LINKTREE/srv"
LINKIMG=$WORK/link.raw
repart "$LINKIMG" "$(root "$LINKTREE")" "$(part srv srv)"
boot_bg linkbox "$WORK/link.log" --network=none --image="$LINKIMG"
wait_running linkbox 20 || die "the symlink image did not boot: $(cat "$WORK/link.log")"
assert_eq 1 "$(in_guest linkbox cat /proc/self/mountinfo 2>&1 | awk -v p="$WORK/hostdir" '$5 == p' | wc -l)" \
        "/srv through a symlink in the image is mounted inside the image's tree"
assert_empty_ok "the symlink's host namesake stays empty" ls -A "$WORK/hostdir"
assert_eq 0 "$(awk -v p="$WORK/hostdir" '$5 == p' /proc/self/mountinfo /proc/1/mountinfo | wc -l)" \
        "nothing is mounted on the symlink's host namesake"
"$NSPAWNLITE" poweroff linkbox >/dev/null 2>&1 || fail "poweroff of linkbox failed"
wait_exit "$BOOT_PID" 30
no_trace "symlink image: no loop device or mount left" "$LINKIMG"

# --- bad images: one line, non-zero, nothing left --------------------------------------------------
ROOT_T=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
HOME_T=933AC7E1-2EB4-4F13-B844-0E14E2AEF915
SRV_T=3B8F8425-20E0-4F3B-907F-1A25A76F98E8
# the root partition of $IMG copied into a new table, beside the partitions under test
ROOT_START=$(sfdisk -d "$IMG" | awk -F'[=,]' "/type=$ROOT_T/ { print \$2 + 0 }")
[ -n "$ROOT_START" ] || die "no root in $IMG"
make_bad() { # FILE "start=…, size=…, type=…"…
        local f=$1
        shift
        truncate -s 80M "$f" && printf 'label: gpt\n' >"$WORK/table" &&
                printf 'start=2048, size=65536, type=%s\n' "$ROOT_T" >>"$WORK/table" &&
                printf '%s\n' "$@" >>"$WORK/table" && sfdisk -q "$f" <"$WORK/table" &&
                dd if="$IMG" of="$f" bs=512 skip="$ROOT_START" seek=2048 count=65536 conv=notrunc status=none
}
make_bad "$WORK/twohomes.raw" "start=67584, size=8192, type=$HOME_T" "start=75776, size=8192, type=$HOME_T" ||
        die "making the image with two /home failed"
refused "two /home partitions are refused" "more than one candidate /home partition" \
        run --network=none --image="$WORK/twohomes.raw" /bin/true
no_trace "two /home: no loop device or mount left" "$WORK/twohomes.raw"
make_bad "$WORK/nofs-srv.raw" "start=67584, size=8192, type=$SRV_T" || die "making the image failed"
refused "a /srv partition without a filesystem is refused" \
        "the /srv partition at offset [0-9]+ holds no filesystem that could be recognised" \
        run --network=none --image="$WORK/nofs-srv.raw" /bin/true
no_trace "/srv without a filesystem: no loop device or mount left" "$WORK/nofs-srv.raw"
# read-only, a root without the mount point: it cannot be made, and the user is told so
NEWIMG=$WORK/fresh.raw
repart "$NEWIMG" "$(root "$TREE")" "$(part home home)"
refused "--read-only with no /home in the root is refused" "no directory /home for its /home partition" \
        run --network=none --read-only --image="$NEWIMG" /bin/true
no_trace "--read-only without /home: no loop device or mount left" "$NEWIMG"
refused "-U with no /home in the root is refused" "no directory /home for its /home partition.*use --ephemeral" \
        run -U --network=none --image="$NEWIMG" /bin/true
no_trace "-U without /home: no loop device or mount left" "$NEWIMG"
# ... while --ephemeral makes it in its overlay, for boot (whose trial looks at the image first) too
SUM=$(sha256sum "$NEWIMG")
boot_bg ephbox "$WORK/eph.log" --network=none --ephemeral --image="$NEWIMG"
if wait_running ephbox 20; then
        assert_eq in-home "$(in_guest ephbox cat /home/marker 2>&1)" "boot --ephemeral: /home made in the overlay holds /home"
        "$NSPAWNLITE" poweroff ephbox >/dev/null 2>&1 || fail "poweroff of ephbox failed"
        wait_exit "$BOOT_PID" 30
else
        fail "boot --ephemeral of an image whose root lacks /home did not start: $(cat "$WORK/eph.log")"
fi
assert_eq "$SUM" "$(sha256sum "$NEWIMG")" "boot --ephemeral left the image's bytes unchanged"
no_trace "boot --ephemeral without /home: no loop device or mount left" "$NEWIMG"

# --- a vfat ESP: mounted umask=0077 where the kernel has vfat, else one line saying it has none ----
if command -v mkfs.vfat >/dev/null; then
        VFAT=$WORK/vfat.raw
        ESP_T=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
        make_bad "$VFAT" "start=67584, size=32768, type=$ESP_T" || die "making the vfat image failed"
        mkfs.vfat --offset=67584 "$VFAT" 32768 >/dev/null 2>&1 || die "mkfs.vfat failed"
        if grep -qw vfat /proc/filesystems; then
                out=$("$NSPAWNLITE" run --network=none --image="$VFAT" cat /proc/self/mountinfo 2>&1) || true
                assert_match "nosuid,nodev,noexec.* - vfat .*fmask=0077,dmask=0077" "$(echo "$out" | awk '$5 == "/boot"')" \
                        "a vfat ESP (no XBOOTLDR) is on /boot, nosuid,nodev,noexec, umask=0077"
        else
                refused "a vfat ESP on a kernel without vfat: one line" "vfat ESP filesystem \(this kernel has no vfat" \
                        run --network=none --image="$VFAT" /bin/true
        fi
        no_trace "vfat ESP: no loop device or mount left" "$VFAT"
fi

assert_clean
