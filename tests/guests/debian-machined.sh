#!/bin/bash
# Builder of the "debian-machined" guest: the debian-systemd guest plus
# systemd-container (systemd-machined, machinectl), so that it can serve as
# a systemd host for nspawnlite nested inside it. Called by build.sh:
#   debian-machined.sh params       print the parameters that go into the hash
#   debian-machined.sh build DIR    build the tree into the empty directory DIR
set -euo pipefail
here=$(dirname -- "$(readlink -f -- "$0")")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

PACKAGES=(systemd systemd-sysv dbus libpam-systemd iproute2 iputils-ping procps systemd-container)

build() {
	local t=$1
	debian_bootstrap "$t" "${PACKAGES[@]}"
	[ "$(in_chroot "$t" readlink -f /sbin/init)" = /usr/lib/systemd/systemd ] ||
		die "/sbin/init is not systemd"
	[ -x "$t/usr/bin/machinectl" ] || die "no machinectl in the tree"
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
