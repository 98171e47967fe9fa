#!/bin/sh
# shellcheck shell=sh
# /init of the cgroup v2 lane's initramfs (busybox sh), see README.md beside this file.
#
# Stage 1 (PID 1 on the kernel's rootfs): pivot_root(2), which nspawnlite uses to enter the guest's
# tree, cannot move away from rootfs, so copy everything into a tmpfs and switch_root into it.
# Stage 2: mount proc, sysfs, devtmpfs, devpts, cgroup2 (the only hierarchy), tmpfs on /run and /tmp;
# run the tests; print the result line on the serial console; power off.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

if [ "${1:-}" != stage2 ]; then
	exec </dev/console >/dev/console 2>&1
	echo "NSPAWNLITE-VM: initramfs up at $(cut -d' ' -f1 /proc/uptime 2>/dev/null || echo '?') s"
	mkdir -p /newroot
	mount -t tmpfs -o mode=0755 tmpfs /newroot
	for d in /*; do
		case $d in
		/newroot | /proc | /sys | /dev | /run | /tmp) continue ;;
		esac
		cp -a "$d" /newroot/
	done
	mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/run /newroot/tmp
	exec switch_root /newroot /init stage2
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t cgroup2 none /sys/fs/cgroup
# loop and ext4 for the --image= checks (modules of Debian's kernel, see run-v2-lane.sh)
for m in $(cat /vmtests/modules/order 2>/dev/null); do
	insmod "/vmtests/modules/$m.ko" || echo "NSPAWNLITE-VM: insmod $m failed"
done
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
exec </dev/console >/dev/console 2>&1
hostname nspawnlite-vm
echo "NSPAWNLITE-VM: kernel $(uname -r), tests start at $(cut -d' ' -f1 /proc/uptime) s"

rc=0
/vmtests/vm-tests.sh || rc=$?
if ! grep -q '^NSPAWNLITE-VM-RESULT: ' /run/vm-result 2>/dev/null; then
	echo "NSPAWNLITE-VM-RESULT: 0 passed, 1 failed (the test script ended with status $rc before its summary)"
fi
echo "NSPAWNLITE-VM: done at $(cut -d' ' -f1 /proc/uptime) s"
sync
poweroff -f
sleep 5
echo o >/proc/sysrq-trigger
