# shellcheck shell=bash disable=SC2034,SC2153 # SD_* are read by run-v2-lane.sh, which sets TREE, BUDGET…
# sd-host.sh: the lane's second boot, systemd as PID 1 (sourced by run-v2-lane.sh, which has fetched
# the kernel into $KDIR with the modules of $VM_SD_MODULES). See README.md beside this file:
#   root: the debian-machined guest tree (systemd, dbus, machined) as an ext4 image, cached by the
#         tree's name (which holds its builder's hash) in $CACHE; the VM writes to a snapshot of it;
#   /dev/vdb: a small ext4 disk made for this run: the built nspawnlite, the busybox guest,
#         nspawnlite@.service as meson makes it, sd-tests.sh and the unit that runs it;
#   initramfs: busybox and the modules, sd-init.sh as /init (mounts both, switch_root to systemd).
# Sets SD_PASSED and SD_FAILED; SD_SKIPPED to a reason when this boot cannot be had here.
SD_PASSED=0
SD_FAILED=0
SD_SKIPPED=
SD_LOG=${LOG%.log}-systemd.log
SD_APPEND="console=ttyS0 quiet panic=-1 systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all systemd.show_status=0"

sd_fail() {
	echo "FAIL: vm-sd: $*"
	SD_FAILED=$((SD_FAILED + 1))
}

# sd_root_image TREE: the cached ext4 image of TREE (made once, under a lock); older ones go.
sd_root_image() {
	local tree=$1 img fd
	img=$CACHE/sd-root-$(basename "$tree").ext4
	exec {fd}>"$CACHE/.sd-root.lock"
	flock "$fd"
	if [ ! -f "$img" ]; then
		say "making the systemd root image from $tree"
		# 1 GiB, sparse: the tree is ~170 MB, the rest is room for the VM's writes (a snapshot).
		if ! mkfs.ext4 -q -L nlsdroot -d "$tree" "$img.tmp" 1G >"$WORK/mkfs-sd.log" 2>&1; then
			rm -f -- "$img.tmp"
			flock -u "$fd"
			return 1
		fi
		mv "$img.tmp" "$img"
		find "$CACHE" -maxdepth 1 -name 'sd-root-*.ext4' ! -path "$img" -delete
	fi
	flock -u "$fd"
	echo "$img"
}

sd_lane() {
	local root img d r link took qrc=0 start result
	if [ "${NSPAWNLITE_VM_SYSTEMD:-1}" = 0 ]; then
		SD_SKIPPED="NSPAWNLITE_VM_SYSTEMD=0"
		return 0
	fi
	root=$("$TOP/tests/guests/build.sh" debian-machined 2>"$WORK/guest-sd.log" | tail -n 1) || true
	if [ ! -x "$root/lib/systemd/systemd" ]; then
		SD_SKIPPED="no debian-machined guest tree (tests/guests/build.sh debian-machined: $(tail -n 2 "$WORK/guest-sd.log" | tr '\n' ' '))"
		return 0
	fi
	img=$(sd_root_image "$root") || {
		sd_fail "mkfs.ext4 -d of $root failed: $(tail -n 2 "$WORK/mkfs-sd.log" | tr '\n' ' ')"
		return 0
	}

	# The checks' disk.
	d=$WORK/sd-disk
	mkdir -p "$d"
	install -m 0755 "$NSPAWNLITE" "$d/nspawnlite"
	cp -a "$TREE" "$d/guest"
	sed "s|@BINDIR@|/usr/bin|" "$TOP/nspawnlite/units/nspawnlite@.service.in" >"$d/nspawnlite@.service"
	install -m 0755 "$HERE/sd-tests.sh" "$d/sd-tests.sh"
	install -m 0644 "$HERE/nspawnlite-vm-tests.service" "$d/nspawnlite-vm-tests.service"
	echo "SCOPE_STOP=${NSPAWNLITE_VM_SCOPE_STOP:-1}" >"$d/options"
	if ! mkfs.ext4 -q -L nlsdtests -d "$d" "$WORK/sd-tests.ext4" 64M >"$WORK/mkfs-sdt.log" 2>&1; then
		sd_fail "mkfs.ext4 -d of the checks' disk failed: $(tail -n 2 "$WORK/mkfs-sdt.log" | tr '\n' ' ')"
		return 0
	fi

	# The initramfs: busybox, the modules, /init.
	r=$WORK/sd-initrd
	mkdir -p "$r"/{bin,sbin,dev,proc,sys,newroot,modules}
	install -m 0755 /bin/busybox "$r/bin/busybox"
	while read -r link; do
		case $link in
		bin/busybox | "" | linuxrc) ;;
		bin/* | sbin/*) ln -sfn /bin/busybox "$r/$link" ;;
		esac
	done < <(/bin/busybox --list-full)
	for m in $VM_SD_MODULES; do
		cp "$KDIR/modules/$m.ko" "$r/modules/"
	done
	echo "$VM_SD_MODULES" >"$r/modules/order"
	install -m 0755 "$HERE/sd-init.sh" "$r/init"
	mknod -m 0600 "$r/dev/console" c 5 1
	(cd "$r" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$WORK/sd-initrd.gz"

	local elapsed=$((SECONDS - ${NSPAWNLITE_VM_LANE_START:-0}))
	local budget=$((BUDGET - elapsed - 20))
	if [ "$budget" -lt 60 ]; then
		sd_fail "only $budget s left of $BUDGET for the systemd VM"
		return 0
	fi
	say "booting the systemd VM (TCG, at most $budget s; root $img); serial log: $SD_LOG"
	start=$SECONDS
	# The root's snapshot goes beside the work files, not to /var/tmp.
	TMPDIR=$WORK timeout -k 5 "$budget" qemu-system-x86_64 -accel tcg -m 2048 -smp 2 -nographic -no-reboot \
		-kernel "$KDIR/vmlinuz" -initrd "$WORK/sd-initrd.gz" -append "$SD_APPEND" \
		-drive "file=$img,format=raw,if=virtio,snapshot=on" \
		-drive "file=$WORK/sd-tests.ext4,format=raw,if=virtio" </dev/null >"$SD_LOG" 2>&1 || qrc=$?
	took=$((SECONDS - start))
	tr -d '\r' <"$SD_LOG" >"$WORK/sd-serial"
	grep -E '^vm-sd: |^NSPAWNLITE-VM' "$WORK/sd-serial" || true
	result=$(sed -n 's/^NSPAWNLITE-VM-SD-RESULT: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "$WORK/sd-serial" | tail -n 1)
	if [ -z "$result" ]; then
		echo "--- the last lines of the systemd VM's serial console:"
		tail -n 30 "$WORK/sd-serial"
		if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
			sd_fail "the systemd VM did not report within $budget s (qemu killed; serial log: $SD_LOG)"
		else
			sd_fail "the systemd VM did not report (qemu status $qrc, after $took s; serial log: $SD_LOG)"
		fi
		return 0
	fi
	read -r SD_PASSED SD_FAILED <<<"$result"
	say "the systemd VM ran for $took s (qemu status $qrc); serial log: $SD_LOG"
}
