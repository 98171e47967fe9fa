#!/bin/bash
# Builder of the "debian-sysvinit" guest: Debian minbase with sysvinit-core
# as init and sysv-rc, booting to runlevel 2. Called by build.sh:
#   debian-sysvinit.sh params       print the parameters that go into the hash
#   debian-sysvinit.sh build DIR    build the tree into the empty directory DIR
set -euo pipefail
here=$(dirname -- "$(readlink -f -- "$0")")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

PACKAGES=(sysvinit-core sysv-rc initscripts iproute2 iputils-ping procps)

build() {
	local t=$1
	debian_bootstrap "$t" "${PACKAGES[@]}"
	if [ ! -x "$t/sbin/init" ] || [ -e "$t/usr/lib/systemd/systemd" ]; then
		die "init is not sysvinit"
	fi
	debian_sysv_inittab "$t"
	debian_sysv_container "$t"
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
