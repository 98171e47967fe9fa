#!/bin/bash
# Builder of the "debian-systemd" guest: Debian minbase with systemd as init,
# meant to reach `systemctl is-system-running` = running with no failed unit
# in a container. Called by build.sh:
#   debian-systemd.sh params       print the parameters that go into the hash
#   debian-systemd.sh build DIR    build the tree into the empty directory DIR
set -euo pipefail
here=$(dirname -- "$(readlink -f -- "$0")")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

PACKAGES=(systemd systemd-sysv dbus libpam-systemd iproute2 iputils-ping procps)

build() {
	local t=$1
	debian_bootstrap "$t" "${PACKAGES[@]}"
	[ "$(in_chroot "$t" readlink -f /sbin/init)" = /usr/lib/systemd/systemd ] ||
		die "/sbin/init is not systemd"
	debian_finish "$t"
}

case ${1:-} in
params)
	debian_params
	printf 'packages=%s\n' "${PACKAGES[*]}"
	;;
build)
	[ -n "${2:-}" ] || die "usage: $0 build DIR"
	build "$2"
	;;
*) die "usage: $0 params | build DIR" ;;
esac
