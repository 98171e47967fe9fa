#!/bin/bash
# Builder of the "busybox" guest: Debian's static busybox as init, sh and
# everything else, with a busybox inittab. Called by build.sh:
#   busybox.sh params       print the parameters that go into the hash
#   busybox.sh build DIR    build the tree into the empty directory DIR
set -euo pipefail
here=$(dirname -- "$(readlink -f -- "$0")")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

# Where the busybox binary comes from: the host's, when it is busybox-static's
# static binary, else the busybox-static package of the host's apt sources.
host_busybox_ok() {
	local owner ldd
	[ -x /bin/busybox ] || return 1
	owner=$(dpkg-query -S /bin/busybox 2>/dev/null) || return 1
	ldd=$(LC_ALL=C ldd /bin/busybox 2>&1) || true
	[[ $owner == busybox-static:* && $ldd == *"not a dynamic executable"* ]]
}

params() {
	if host_busybox_ok; then
		printf 'busybox=host:%s\n' "$(sha256sum </bin/busybox | cut -d' ' -f1)"
	else
		printf 'busybox=package:%s\n' \
			"$(LC_ALL=C apt-cache policy busybox-static | awk '/Candidate:/ { print $2 }')"
	fi
}

fetch_busybox() {
	local dest=$1 tmp
	if host_busybox_ok; then
		install -m 0755 /bin/busybox "$dest"
		return
	fi
	tmp=$(mktemp -d)
	chmod 0755 "$tmp" # apt downloads as _apt
	(cd "$tmp" && apt-get download busybox-static) >&2
	dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/x"
	install -m 0755 "$tmp/x/bin/busybox" "$dest"
	rm -rf -- "$tmp"
}

build() {
	local t=$1 link dir version hash
	mkdir -p -- "$t"/{bin,sbin,usr/bin,usr/sbin,etc/init.d,proc,sys,dev,run,tmp,root,var}
	chmod 1777 "$t/tmp"
	chmod 0700 "$t/root"
	fetch_busybox "$t/bin/busybox"
	# Applet links where busybox says each applet lives (bin/sh, sbin/init…).
	while read -r link; do
		case $link in
		*/*) ;;
		*) continue ;; # "linuxrc": none at the root
		esac
		[ "$link" != bin/busybox ] || continue
		dir=${link%/*}
		case $dir in
		bin | sbin) ln -sfn ../bin/busybox "$t/$link" ;;
		usr/bin | usr/sbin) ln -sfn ../../bin/busybox "$t/$link" ;;
		*) die "unexpected applet path $link" ;;
		esac
	done < <(chroot "$t" /bin/busybox --list-full)
	for link in sbin/init bin/sh sbin/getty bin/login; do
		[ -L "$t/$link" ] || die "busybox lacks $link"
	done

	version=$(chroot "$t" /bin/busybox 2>&1 | sed -n '1s/^BusyBox v\([^ ]*\).*/\1/p')
	cat >"$t/etc/os-release" <<-EOF
	NAME="BusyBox"
	ID=busybox
	VERSION_ID="$version"
	PRETTY_NAME="BusyBox $version (nspawnlite test guest)"
	HOME_URL="https://busybox.net/"
	EOF

	hash=$(openssl passwd -6 -salt nspawnlite "$GUEST_ROOT_PASSWORD")
	cat >"$t/etc/passwd" <<-'EOF'
	root:x:0:0:root:/root:/bin/sh
	nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	EOF
	cat >"$t/etc/group" <<-'EOF'
	root:x:0:
	tty:x:5:
	nogroup:x:65534:
	EOF
	printf 'root:%s:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n' "$hash" >"$t/etc/shadow"
	chmod 0600 "$t/etc/shadow"

	# Getty lines on tty1..4 go through a wrapper that sleeps when the
	# manager gave no such tty; the console gets a getty, not a shell.
	write_getty_wrapper "$t" /sbin/nspawnlite-getty /sbin/getty -L 0 @TTY@ vt100
	cat >"$t/etc/inittab" <<-'EOF'
	::sysinit:/etc/init.d/rcS
	::respawn:/sbin/nspawnlite-getty tty1
	::respawn:/sbin/nspawnlite-getty tty2
	::respawn:/sbin/nspawnlite-getty tty3
	::respawn:/sbin/nspawnlite-getty tty4
	console::respawn:/sbin/getty -L 0 console vt100
	::ctrlaltdel:/sbin/reboot
	::shutdown:/bin/umount -a -r
	EOF

	# The manager mounts /proc, /sys, /dev, /run and /tmp: rcS mounts nothing.
	cat >"$t/etc/init.d/rcS" <<-'EOF'
	#!/bin/sh
	echo "nspawnlite-guest: busybox ready" >/dev/console
	if [ -x /etc/nspawnlite-test.sh ]; then
	    /etc/nspawnlite-test.sh
	fi
	EOF
	chmod 0755 "$t/etc/init.d/rcS"
	cat >"$t/etc/profile" <<-'EOF'
	export PATH=/usr/sbin:/usr/bin:/sbin:/bin
	EOF
}

case ${1:-} in
params) params ;;
build)
	[ -n "${2:-}" ] || die "usage: $0 build DIR"
	build "$2"
	;;
*) die "usage: $0 params | build DIR" ;;
esac
