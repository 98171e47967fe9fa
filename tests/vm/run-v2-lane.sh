#!/bin/bash
# run-v2-lane.sh: the cgroup v2 test lane. As root:
#   1. takes Debian's kernel from the package that linux-image-amd64 depends on (apt-get download,
#      dpkg-deb -x), cached in /var/cache/nspawnlite-tests/vm/PACKAGE_VERSION/;
#   2. builds an initramfs: busybox, build/nspawnlite with its libraries and loader, a busybox guest
#      tree at /guest, init.sh as /init and vm-tests.sh;
#   3. boots it with qemu-system-x86_64 -accel tcg, cgroup2 the only hierarchy (cgroup_no_v1=all);
#      the tests report on the serial console, saved to a log file;
#   4. boots the kernel once more with systemd as PID 1 on a Debian root (sd-host.sh): the checks of
#      nspawnlite on a systemd host, "vm-sd:" lines (NSPAWNLITE_VM_SYSTEMD=0 leaves it out).
# Exit status: 0 if every in-VM check passed; 1 if one failed or the VM did not report; 77 (skip)
# when not root, not on x86-64, or when qemu cannot run here or the kernel cannot be fetched.
# The last line is "vm-v2: N passed, M failed" (both boots). The whole lane is bounded by NSPAWNLITE_VM_BUDGET
# seconds (600). Environment: NSPAWNLITE (the binary), NSPAWNLITE_VM_CACHE, NSPAWNLITE_VM_LOG.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUDGET=${NSPAWNLITE_VM_BUDGET:-600}
NSPAWNLITE=${NSPAWNLITE:-$TOP/build/nspawnlite}
CACHE=${NSPAWNLITE_VM_CACHE:-/var/cache/nspawnlite-tests/vm}
if [ -d "$TOP/build/meson-logs" ]; then
	LOG=${NSPAWNLITE_VM_LOG:-$TOP/build/meson-logs/vm-v2-serial.log}
else
	LOG=${NSPAWNLITE_VM_LOG:-/tmp/nspawnlite-vm-v2-serial.log}
fi
APPEND="console=ttyS0 quiet panic=-1 systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all init=/init"

say() { echo "vm-v2: $*" >&2; }
skip() {
	echo "SKIP: vm-v2: $*"
	exit 77
}
failed() {
	echo "FAIL: vm-v2: $*"
	echo "vm-v2: 0 passed, 1 failed"
	exit 1
}

[ "$(id -u)" = 0 ] || skip "needs root (apt-get, the cache, mknod for the initramfs)"
[ "$(uname -m)" = x86_64 ] || skip "needs an x86-64 host (Debian's amd64 kernel under qemu-system-x86_64)"

# The whole lane under one time bound: the outer instance only waits for the inner one.
if [ -z "${NSPAWNLITE_VM_LANE_INNER:-}" ]; then
	export NSPAWNLITE_VM_LANE_INNER=1
	export NSPAWNLITE_VM_LANE_START=$SECONDS
	rc=0
	timeout -k 15 "$BUDGET" "$0" "$@" || rc=$?
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		failed "the lane did not finish within $BUDGET s (serial log: $LOG)"
	fi
	exit "$rc"
fi

[ -x "$NSPAWNLITE" ] || failed "$NSPAWNLITE is not built (ninja -C build)"

WORK=$(mktemp -d /tmp/nspawnlite-vm-v2.XXXXXX)
trap 'rm -rf -- "$WORK"' EXIT

# --- tools -------------------------------------------------------------------------------------------
apt_updated=0
apt_update_once() {
	[ "$apt_updated" = 0 ] || return 0
	apt_updated=1
	say "apt-get update"
	apt-get update -q >"$WORK/apt-update.log" 2>&1 || say "apt-get update failed: $(tail -n 2 "$WORK/apt-update.log" | tr '\n' ' ')"
}

# need COMMAND PACKAGE: install PACKAGE if COMMAND is missing; fails if that does not help.
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	say "installing $2 (for $1)"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" >"$WORK/apt-$2.log" 2>&1; then
		apt_update_once
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" >"$WORK/apt-$2.log" 2>&1 || true
	fi
	command -v "$1" >/dev/null 2>&1
}

need qemu-system-x86_64 qemu-system-x86 || skip "qemu-system-x86_64 is not installed and apt-get install qemu-system-x86 failed: $(tail -n 2 "$WORK/apt-qemu-system-x86.log" | tr '\n' ' ')"
need cpio cpio || failed "cannot install cpio"
need dpkg-deb dpkg || failed "no dpkg-deb"
static_busybox() {
	local out
	[ -x /bin/busybox ] || return 1
	out=$(LC_ALL=C ldd /bin/busybox 2>&1) || true
	[[ $out == *"not a dynamic executable"* ]]
}
if ! static_busybox; then
	say "installing busybox-static"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends busybox-static >"$WORK/apt-busybox.log" 2>&1 ||
		{ apt_update_once && DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >"$WORK/apt-busybox.log" 2>&1; } ||
		failed "cannot install busybox-static"
fi

# Can qemu run at all here (TCG, no KVM)? Start an empty machine and quit it from its monitor.
if ! printf 'quit\n' | timeout 60 qemu-system-x86_64 -accel tcg -M none -nodefaults -display none -monitor stdio -S \
	>"$WORK/qemu-probe.log" 2>&1; then
	skip "qemu-system-x86_64 -accel tcg cannot run here: $(tail -n 3 "$WORK/qemu-probe.log" | tr '\n' ' ')"
fi

# --- the kernel ----------------------------------------------------------------------------------------
# kernel_package: the real package behind linux-image-amd64, e.g. linux-image-6.1.0-26-amd64.
kernel_package() {
	LC_ALL=C apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1
}
KPKG=$(kernel_package)
if [ -z "$KPKG" ]; then
	apt_update_once
	KPKG=$(kernel_package)
fi
[ -n "$KPKG" ] || skip "cannot resolve linux-image-amd64's kernel package (apt-cache depends linux-image-amd64)"
KVER=$(LC_ALL=C apt-cache show --no-all-versions "$KPKG" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
[ -n "$KVER" ] || skip "apt-cache knows no version of $KPKG"
KDIR=$CACHE/${KPKG}_$KVER
mkdir -p "$CACHE"
exec {lockfd}>"$CACHE/.kernel.lock"
flock "$lockfd"
# The modules --image= needs (loop, ext4 and what ext4 needs), in load order: Debian builds them as
# modules, and busybox insmod knows no dependencies. About 2.5 MB, 0.9 MB in the gzip'd initramfs.
VM_MODULES="crc16 mbcache jbd2 crc32c_generic ext4 loop"
# The systemd boot (sd-host.sh) mounts its root from a virtio disk: those modules and ext4's first.
VM_SD_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk crc16 mbcache jbd2 crc32c_generic ext4"
kernel_cached() {
	local m
	[ -f "$KDIR/vmlinuz" ] || return 1
	for m in $VM_MODULES $VM_SD_MODULES; do
		[ -f "$KDIR/modules/$m.ko" ] || return 1
	done
}
if ! kernel_cached; then
	say "fetching $KPKG $KVER"
	dl=$(mktemp -d "$CACHE/.fetch.XXXXXX")
	chmod 0755 "$dl" # apt downloads as _apt
	if ! (cd "$dl" && apt-get download "$KPKG=$KVER") >"$WORK/apt-download.log" 2>&1; then
		apt_update_once
		(cd "$dl" && apt-get download "$KPKG=$KVER") >"$WORK/apt-download.log" 2>&1 || {
			rm -rf -- "$dl"
			skip "cannot fetch $KPKG $KVER: $(tail -n 2 "$WORK/apt-download.log" | tr '\n' ' ')"
		}
	fi
	dpkg-deb -x "$dl"/"${KPKG}"_*.deb "$dl/x"
	mkdir "$dl/out"
	# The image, its config and the modules above: serial console, cgroup2 and namespaces are built
	# in; veth and bridge are modules, so the VM's tests use --network=none.
	cp "$dl"/x/boot/vmlinuz-* "$dl/out/vmlinuz"
	cp "$dl"/x/boot/config-* "$dl/out/config"
	mkdir "$dl/out/modules"
	for m in $VM_MODULES $VM_SD_MODULES; do
		[ ! -f "$dl/out/modules/$m.ko" ] || continue
		ko=$(find "$dl"/x/lib/modules -name "$m.ko" | head -n 1)
		[ -n "$ko" ] || { rm -rf -- "$dl"; failed "$KPKG has no $m.ko"; }
		cp "$ko" "$dl/out/modules/"
	done
	printf '%s %s\n' "$KPKG" "$KVER" >"$dl/out/package"
	if [ -f "$KDIR/vmlinuz" ]; then
		# A cache with fewer modules: replace them, and leave the kernel in place for a lane
		# that may be booting it.
		rm -rf -- "$KDIR/modules.old"
		[ ! -d "$KDIR/modules" ] || mv "$KDIR/modules" "$KDIR/modules.old"
		mv "$dl/out/modules" "$KDIR/modules"
		rm -rf -- "$KDIR/modules.old"
	else
		rm -rf -- "$KDIR"
		mv "$dl/out" "$KDIR"
	fi
	rm -rf -- "$dl"
	# Older kernels of this cache go.
	find "$CACHE" -mindepth 1 -maxdepth 1 -type d -name 'linux-image-*' ! -path "$KDIR" -exec rm -rf {} +
fi
flock -u "$lockfd"
for opt in CONFIG_SERIAL_8250_CONSOLE=y CONFIG_CGROUPS=y CONFIG_MEMCG=y CONFIG_CGROUP_PIDS=y \
	CONFIG_CFS_BANDWIDTH=y CONFIG_PID_NS=y CONFIG_NET_NS=y CONFIG_DEVTMPFS=y CONFIG_RD_GZIP=y; do
	grep -qx "$opt" "$KDIR/config" || failed "$KPKG lacks $opt"
done
say "kernel: $KPKG $KVER ($KDIR)"

# --- the initramfs --------------------------------------------------------------------------------------
TREE=$("$TOP/tests/guests/build.sh" busybox | tail -n 1) || failed "tests/guests/build.sh busybox failed"
[ -x "$TREE/bin/busybox" ] || failed "no busybox guest tree: '$TREE'"

R=$WORK/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,run,tmp,vmtests}
chmod 1777 "$R/tmp"
install -m 0755 /bin/busybox "$R/bin/busybox"
while read -r link; do
	case $link in
	bin/busybox | "" | linuxrc) continue ;;
	bin/* | sbin/*) ln -sfn /bin/busybox "$R/$link" ;;
	usr/bin/* | usr/sbin/*) ln -sfn /bin/busybox "$R/$link" ;;
	esac
done < <(/bin/busybox --list-full)
for a in bin/sh usr/bin/nsenter sbin/switch_root; do
	[ -L "$R/$a" ] || failed "the host's busybox lacks $a"
done

install -m 0755 "$NSPAWNLITE" "$R/usr/bin/nspawnlite"
# Every library ldd names (by the path it resolves), and the dynamic loader; and the libraries
# nspawnlite loads only when it uses them (dlopen) that the lane needs: libblkid for --image.
DLOPENED=(libblkid.so.1)
objects=("$NSPAWNLITE")
for so in "${DLOPENED[@]}"; do
	# (awk reads to the end: an early exit would kill ldconfig with SIGPIPE, and pipefail the lane)
	path=$(ldconfig -p | awk -v s="$so" '$1 == s && /x86-64/ && !p { p = $NF } END { if (p) print p }')
	[ -n "$path" ] || failed "the host lacks $so, which nspawnlite loads for the lane's image boot"
	objects+=("$path")
done
while read -r lib; do
	mkdir -p "$R$(dirname "$lib")"
	cp -L "$lib" "$R$lib"
done < <(for o in "${objects[@]}"; do
	ldd "$o" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
	[ "$o" = "$NSPAWNLITE" ] || echo "$o"
done | sort -u)
[ -e "$R/lib64/ld-linux-x86-64.so.2" ] || failed "ldd named no dynamic loader for $NSPAWNLITE"

# The security tests' static probe: the filter's i386 rules are checked here (vm-tests.sh, 1b).
command -v gcc >/dev/null || failed "no gcc for the static seccomp probe"
gcc -static -O2 -o "$R/vmtests/nlsec-probe" "$TOP/tests/integration/security/nlsec-probe.c" >"$WORK/gcc-probe.log" 2>&1 ||
	failed "cannot build the static seccomp probe: $(tail -n 3 "$WORK/gcc-probe.log" | tr '\n' ' ')"
cp -a "$TREE" "$R/guest"
# --image=: the guest tree as a small ext4 image (mostly zeros: little in the gzip'd initramfs), and
# the modules that mount it, loaded by init.sh in this order.
command -v mkfs.ext4 >/dev/null || failed "no mkfs.ext4 (e2fsprogs) for the VM's image"
mkfs.ext4 -q -d "$TREE" "$R/vmtests/guest.ext4" 8M >"$WORK/mkfs.log" 2>&1 ||
	failed "mkfs.ext4 -d of the guest tree failed: $(tail -n 2 "$WORK/mkfs.log" | tr '\n' ' ')"
mkdir -p "$R/vmtests/modules"
for m in $VM_MODULES; do
	cp "$KDIR/modules/$m.ko" "$R/vmtests/modules/"
done
echo "$VM_MODULES" >"$R/vmtests/modules/order"
install -m 0755 "$HERE/init.sh" "$R/init"
install -m 0755 "$HERE/vm-tests.sh" "$R/vmtests/vm-tests.sh"
cp /etc/os-release "$R/etc/os-release" 2>/dev/null || echo 'ID=nspawnlite-vm' >"$R/etc/os-release"
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
mknod -m 0600 "$R/dev/console" c 5 1
mknod -m 0666 "$R/dev/null" c 1 3
(cd "$R" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$WORK/initrd.gz"
say "initramfs: $(du -h "$WORK/initrd.gz" | cut -f1) (nspawnlite $(stat -c %s "$NSPAWNLITE") bytes, guest $TREE)"

# --- the VM ----------------------------------------------------------------------------------------------
elapsed=$((SECONDS - ${NSPAWNLITE_VM_LANE_START:-0}))
vm_budget=$((BUDGET - elapsed - 30))
[ "$vm_budget" -ge 60 ] || failed "only $vm_budget s left of $BUDGET for the VM"
mkdir -p "$(dirname "$LOG")"
say "booting the VM (TCG, at most $vm_budget s); serial log: $LOG"
start=$SECONDS
qrc=0
timeout -k 5 "$vm_budget" qemu-system-x86_64 -accel tcg -m 1024 -smp 2 -nographic -no-reboot \
	-kernel "$KDIR/vmlinuz" -initrd "$WORK/initrd.gz" -append "$APPEND" </dev/null >"$LOG" 2>&1 || qrc=$?
took=$((SECONDS - start))
tr -d '\r' <"$LOG" >"$WORK/serial"

grep -E '^(PASS|FAIL|SKIP): |^== |^NSPAWNLITE-VM' "$WORK/serial" || true
result=$(sed -n 's/^NSPAWNLITE-VM-RESULT: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "$WORK/serial" | tail -n 1)
if [ -z "$result" ]; then
	echo "--- the last lines of the serial console:"
	tail -n 30 "$WORK/serial"
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		failed "the VM did not report within $vm_budget s (qemu killed; serial log: $LOG)"
	fi
	failed "the VM did not report (qemu status $qrc, after $took s; serial log: $LOG)"
fi
read -r npass nfail <<<"$result"
say "the VM ran for $took s (qemu status $qrc); serial log: $LOG"

# --- the second VM: systemd as PID 1 ---------------------------------------------------------------------
# shellcheck source-path=SCRIPTDIR source=sd-host.sh
. "$HERE/sd-host.sh"
sd_lane
if [ -n "$SD_SKIPPED" ]; then
	echo "SKIP: vm-sd: $SD_SKIPPED"
else
	echo "vm-sd: $SD_PASSED passed, $SD_FAILED failed"
fi
npass=$((npass + SD_PASSED))
nfail=$((nfail + SD_FAILED))
echo "vm-v2: $npass passed, $nfail failed"
[ "$nfail" = 0 ] && [ "$npass" -gt 0 ]
