#!/bin/sh
# shellcheck shell=sh
# /init of the systemd boot's initramfs (busybox sh), see README.md beside this file: load the
# virtio disk and ext4 modules (Debian builds them as modules), mount the root image (/dev/vda; the
# VM writes to a throw-away snapshot of it) and the checks' disk (/dev/vdb) at /vmtests, add the
# checks' unit and the boot's settings to the root, and switch_root into systemd.
PATH=/bin:/sbin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
echo "NSPAWNLITE-VM: initramfs up at $(cut -d' ' -f1 /proc/uptime) s"
for m in $(cat /modules/order); do
	insmod "/modules/$m.ko" || echo "NSPAWNLITE-VM: insmod $m failed"
done
n=0
while [ ! -b /dev/vdb ] && [ "$n" -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
R=/newroot
mkdir -p $R
if ! mount -t ext4 /dev/vda $R || ! mkdir -p $R/vmtests || ! mount -t ext4 /dev/vdb $R/vmtests; then
	echo "NSPAWNLITE-VM-SD-RESULT: 0 passed, 1 failed (cannot mount /dev/vda or /dev/vdb: $(ls /dev/vd* 2>&1))"
	poweroff -f
fi
E=$R/etc/systemd/system
# Not needed here, and they cost boot time under TCG (or would talk on the serial console).
for u in serial-getty@ttyS0.service getty@tty1.service console-getty.service systemd-timesyncd.service \
	systemd-networkd.service systemd-networkd-wait-online.service systemd-resolved.service \
	apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer \
	man-db.timer systemd-tmpfiles-clean.timer systemd-firstboot.service systemd-logind.service \
	getty.target; do
	ln -sfn /dev/null "$E/$u"
done
mkdir -p "$E/multi-user.target.wants"
cp $R/vmtests/nspawnlite-vm-tests.service "$E/"
ln -sfn ../nspawnlite-vm-tests.service "$E/multi-user.target.wants/nspawnlite-vm-tests.service"
# A machine id of its own: an empty /etc/machine-id would make this a first boot.
tr -dc 0-9a-f </dev/urandom | head -c 32 >$R/etc/machine-id
echo >>$R/etc/machine-id
echo nspawnlite-sd >$R/etc/hostname
umount /proc /sys
mount --move /dev $R/dev
exec switch_root $R /lib/systemd/systemd
