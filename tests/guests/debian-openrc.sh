#!/bin/bash
# Builder of the "debian-openrc" guest: Debian minbase with OpenRC as the rc
# system under sysvinit's init (Debian's way of running OpenRC), booting to
# OpenRC's default runlevel. Called by build.sh:
#   debian-openrc.sh params       print the parameters that go into the hash
#   debian-openrc.sh build DIR    build the tree into the empty directory DIR
set -euo pipefail
here=$(dirname -- "$(readlink -f -- "$0")")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

# debootstrap takes the first of sysvinit-core's "sysv-rc | file-rc | openrc",
# and openrc conflicts with sysv-rc: so sysvinit first, then openrc with apt
# (which removes sysv-rc).
PACKAGES=(sysvinit-core initscripts iproute2 iputils-ping procps)
APT_PACKAGES=(openrc)

build() {
	local t=$1
	debian_bootstrap "$t" "${PACKAGES[@]}"
	chroot_apt "$t" install "${APT_PACKAGES[@]}"
	if [ ! -x "$t/sbin/openrc" ] || [ -e "$t/usr/lib/systemd/systemd" ]; then
		die "openrc is not installed, or systemd is"
	fi
	# OpenRC recognises a container only from a few values of $container
	# (lxc, systemd-nspawn…); say so here so that it does whatever the manager.
	sed -i 's/^#\?rc_sys=.*/rc_sys="systemd-nspawn"/' "$t/etc/rc.conf"
	grep -qx 'rc_sys="systemd-nspawn"' "$t/etc/rc.conf" || die "could not set rc_sys"
	debian_sysv_inittab "$t"
	debian_sysv_container "$t"
	debian_finish "$t"
}

case ${1:-} in
params)
	debian_params
	printf 'packages=%s\napt-packages=%s\n' "${PACKAGES[*]}" "${APT_PACKAGES[*]}"
	;;
build)
	[ -n "${2:-}" ] || die "usage: $0 build DIR"
	build "$2"
	;;
*) die "usage: $0 params | build DIR" ;;
esac
