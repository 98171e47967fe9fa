# shellcheck shell=bash
# Helpers shared by the guest tree builders (sourced by build.sh and the
# KIND.sh builders). Everything here writes to stderr only: a builder's
# stdout belongs to build.sh, which prints nothing there but the tree path.
# This file is part of every tree's content hash.

GUEST_CACHE=${NSPAWNLITE_GUEST_CACHE:-/var/cache/nspawnlite-tests}
GUEST_SUITE=${NSPAWNLITE_GUEST_SUITE:-bookworm}
GUEST_MIRROR=${NSPAWNLITE_GUEST_MIRROR:-http://deb.debian.org/debian}

# The password of root in every guest (tests log in with it).
GUEST_ROOT_PASSWORD=root

msg() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

die() {
	msg "error: $*"
	exit 1
}

# Remove a (possibly half-built) tree: unmount anything still mounted below
# it first, deepest first, so rm never walks into /proc, /sys or a bound /dev.
remove_tree() {
	local dir=$1 m
	[ -e "$dir" ] || [ -L "$dir" ] || return 0
	dir=$(readlink -f -- "$dir")
	[ "$dir" != / ] || die "refusing to remove /"
	while read -r m; do
		umount -l -- "$m" 2>/dev/null || true
	done < <(awk -v p="$dir/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	rm -rf --one-file-system -- "$dir"
}

# Directories that cleanup (an EXIT trap) removes with remove_tree.
CLEANUP=()
cleanup() {
	local d
	for d in "${CLEANUP[@]}"; do
		remove_tree "$d"
	done
}

# The Debian architecture the Debian guests are built for.
debian_arch() {
	dpkg --print-architecture
}

# Parameters of every Debian builder; part of the content hash.
debian_params() {
	printf 'suite=%s\nmirror=%s\narch=%s\n' "$GUEST_SUITE" "$GUEST_MIRROR" "$(debian_arch)"
}

# debian_bootstrap TARGET PACKAGE... : a minbase tree of $GUEST_SUITE plus
# PACKAGE... (and their dependencies). The .debs go through a download cache
# shared by all Debian kinds; debootstrap writes into it in place, so the
# whole run holds an exclusive lock on it.
debian_bootstrap() {
	local target=$1 include debs lockfd
	shift
	include=$(IFS=,; printf '%s' "$*")
	debs=$GUEST_CACHE/debs
	mkdir -p -- "$debs"
	exec {lockfd}>"$debs/.lock"
	flock "$lockfd"
	# LC_ALL=C: the host's locale may be missing in the new tree.
	if ! LC_ALL=C debootstrap --variant=minbase --arch="$(debian_arch)" \
		--include="$include" --cache-dir="$debs" \
		"$GUEST_SUITE" "$target" "$GUEST_MIRROR"; then
		if [ -f "$target/debootstrap/debootstrap.log" ]; then
			printf '%s\n' '--- debootstrap.log (tail) ---'
			tail -n 30 -- "$target/debootstrap/debootstrap.log"
		fi
		exec {lockfd}>&-
		die "debootstrap failed"
	fi
	exec {lockfd}>&-
}

# in_chroot TARGET CMD...: run CMD in the tree with a clean environment.
in_chroot() {
	local target=$1
	shift
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME=/root \
		DEBIAN_FRONTEND=noninteractive chroot "$target" "$@"
}

# chroot_apt TARGET APT-GET-ARGS...: apt-get in the tree, with /proc and /dev
# mounted, services kept from starting (policy-rc.d), and the shared .deb
# cache as apt's archive dir. The caller runs in a private mount namespace
# (build.sh sees to that), so the mounts cannot outlive it.
chroot_apt() {
	local target=$1 debs=$GUEST_CACHE/debs lockfd rc=0
	shift
	mkdir -p -- "$debs"
	exec {lockfd}>"$debs/.lock"
	flock "$lockfd"
	printf '#!/bin/sh\nexit 101\n' >"$target/usr/sbin/policy-rc.d"
	chmod 0755 "$target/usr/sbin/policy-rc.d"
	mount -t proc proc "$target/proc"
	mount --bind /dev "$target/dev"
	mount --bind "$debs" "$target/var/cache/apt/archives"
	in_chroot "$target" apt-get -y -q -o APT::Install-Recommends=false \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" || rc=$?
	umount "$target/var/cache/apt/archives" "$target/dev" "$target/proc"
	rm -f -- "$target/usr/sbin/policy-rc.d" "$debs/lock"
	exec {lockfd}>&-
	[ "$rc" -eq 0 ] || die "apt-get $* failed in the tree"
}

# set_root_password TARGET: root's password, hashed by the tree's own PAM.
set_root_password() {
	printf 'root:%s\n' "$GUEST_ROOT_PASSWORD" | in_chroot "$1" chpasswd
}

# write_getty_wrapper TARGET PATH GETTY-CMD...: a script, called with a tty
# name (tty1, console…), that runs GETTY-CMD with "@TTY@" replaced by that
# name when /dev/TTY exists, and otherwise sleeps for ever: the container
# manager decides which ttys exist, and a respawning getty on a missing tty
# would spin.
write_getty_wrapper() {
	local target=$1 path=$2
	shift 2
	local cmd=$*
	cmd=${cmd//@TTY@/\"\$tty\"}
	cat >"$target$path" <<-EOF
	#!/bin/sh
	# ${path##*/} TTY: a getty on /dev/TTY if the container has that tty,
	# else sleep for ever, so that init's respawn does not spin.
	tty=\${1:?usage: ${path##*/} TTY}
	if [ -c "/dev/\$tty" ]; then
	    exec $cmd
	fi
	exec sleep 2147483647
	EOF
	chmod 0755 "$target$path"
}

# debian_sysv_inittab TARGET: Debian's /etc/inittab, with every tty getty
# replaced by the wrapper and a getty added on the console.
debian_sysv_inittab() {
	local target=$1 f=$1/etc/inittab
	[ -f "$f" ] || die "no /etc/inittab in the tree"
	write_getty_wrapper "$target" /sbin/nspawnlite-getty \
		/sbin/agetty --noclear --keep-baud @TTY@ 115200,38400,9600 vt220
	sed -i -E 's|^([1-6]):([0-9]+):respawn:/sbin/getty .*(tty[1-6])$|\1:\2:respawn:/sbin/nspawnlite-getty \3|' "$f"
	grep -q '^co:' "$f" || printf 'co:2345:respawn:/sbin/nspawnlite-getty console\n' >>"$f"
	if grep -E '^[^#].*:respawn:/sbin/getty' "$f" >&2; then
		die "getty lines left in inittab"
	fi
}

# debian_sysv_container TARGET: turn off the boot scripts that have nothing
# to do in a container and only fail or complain there. They stay installed
# (`update-rc.d NAME defaults`, or `rc-update add` with OpenRC, brings one back):
#   hwclock.sh   saves the system clock to an RTC the guest cannot reach
#   umountfs     unmounts the manager's mounts (/run/host…), fails   (emptied)
#   umountroot   remounts / read-only: "mount point is busy"           (emptied)
#   checkfs.sh   fsck of fstab file systems (none); setterm errors on a pty
#   procps       sysctl: /proc/sys is read-only in a container
#   bootlogs     dmesg: the kernel log is not readable in a container
debian_sysv_container() {
	local target=$1 s
	if [ -x "$target/sbin/openrc" ]; then
		# OpenRC's own way: a keyword (read for LSB scripts too) that skips
		# the service in containers; a need on it is then still satisfied,
		# whereas a service merely taken out of its runlevel gets started
		# anyway by the services that need it (mountall needs checkfs…).
		mkdir -p -- "$target/etc/conf.d"
		for s in hwclock.sh umountfs umountroot checkfs.sh procps bootlogs; do
			printf '# nspawnlite test guest: not in containers\nrc_keyword="-containers"\n' \
				>>"$target/etc/conf.d/$s"
		done
	else
		# Stop-only scripts have no start links to disable: remove them.
		for s in hwclock.sh; do
			[ ! -e "$target/etc/init.d/$s" ] || in_chroot "$target" update-rc.d -f "$s" remove
		done
		# umountfs and umountroot order halt after sendsigs in insserv's
		# stop sequence: keep them there with their LSB headers, but empty.
		for s in umountfs umountroot; do
			[ -e "$target/etc/init.d/$s" ] || continue
			sed -n '1,/^### END INIT INFO/p' "$target/etc/init.d/$s" >"$target/etc/init.d/$s.new"
			printf '# nspawnlite test guest: nothing to unmount in a container\nexit 0\n' \
				>>"$target/etc/init.d/$s.new"
			chmod 0755 "$target/etc/init.d/$s.new"
			mv -- "$target/etc/init.d/$s.new" "$target/etc/init.d/$s"
		done
		# Others depend on these: disable, so that insserv keeps them.
		for s in checkfs.sh procps bootlogs; do
			[ ! -e "$target/etc/init.d/$s" ] || in_chroot "$target" update-rc.d "$s" disable
		done
	fi
	# checkroot.sh would otherwise warn at boot that it creates this link.
	ln -sfn /proc/mounts "$target/etc/mtab"
	# sysvinit 3.06 complains at every boot when it is missing.
	mkdir -p -- "$target/etc/inittab.d"
	# halt -i would take down the network interfaces: the manager's job.
	sed -i 's/^NETDOWN=.*/NETDOWN=no/' "$target/etc/default/halt"
}

# debian_finish TARGET: what every Debian guest gets after its packages.
debian_finish() {
	local target=$1
	set_root_password "$target"
	# The container manager sets the hostname.
	rm -f -- "$target/etc/hostname"
	# Empty: systemd then takes the machine id from container_uuid.
	: >"$target/etc/machine-id"
	if [ -e "$target/var/lib/dbus/machine-id" ] || [ -L "$target/var/lib/dbus/machine-id" ]; then
		ln -sfn /etc/machine-id "$target/var/lib/dbus/machine-id"
	fi
	# debootstrap copied the host's resolver configuration; a guest with its
	# own network has no resolver until somebody configures one.
	rm -f -- "$target/etc/resolv.conf"
	install -m 0644 /dev/null "$target/etc/resolv.conf"
	cat >"$target/etc/hosts" <<-'EOF'
	127.0.0.1	localhost
	::1		localhost ip6-localhost ip6-loopback
	ff02::1		ip6-allnodes
	ff02::2		ip6-allrouters
	EOF
	if grep -rqs '^[^#]*pam_securetty' "$target/etc/pam.d"; then
		die "pam_securetty is configured; it would block logins on pts"
	fi
	# Keep the tree small.
	in_chroot "$target" apt-get clean
	rm -rf -- "$target"/var/lib/apt/lists/* "$target"/var/cache/apt/*.bin \
		"$target"/var/cache/debconf/*-old "$target"/var/lib/dpkg/*-old \
		"$target"/var/log/apt/* "$target"/var/log/bootstrap.log
	mkdir -p -- "$target/var/lib/apt/lists/partial"
}
