#!/bin/bash
# Builder of the "debian-RELEASE" guests (bullseye, bookworm, trixie, sid): whatever
# `nspawnlite create NAME --release=RELEASE` makes (Debian minbase with systemd), root's password
# "root". The guest matrix of test-releases.sh boots them. Called by build.sh:
#   debian-release.sh params RELEASE       print the parameters that go into the hash
#   debian-release.sh build DIR RELEASE    build the tree into DIR (which must not exist)
# The nspawnlite binary: $NSPAWNLITE, else the build directory's.
set -euo pipefail
here=$(dirname -- "$(readlink -f -- "$0")")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
TOP=$(cd "$here/../.." && pwd)
NSPAWNLITE=${NSPAWNLITE:-$TOP/build/nspawnlite}

params() {
	local f
	printf 'release=%s\narch=%s\nmirror=%s\n' "$1" "$(debian_arch)" \
		"$(grep -rhoE '^(deb[[:space:]]+|URIs:[[:space:]]*)[^[:space:]]+' /etc/apt/sources.list /etc/apt/sources.list.d 2>/dev/null | head -n 1)"
	# the recipe (packages and steps per init) is in create's code: part of the hash
	for f in machines/images/create-recipes.c; do
		printf '== %s\n' "$f"
		cat -- "$TOP/$f"
	done
}

build() {
	local dir=$1 release=$2 store name
	[ -x "$NSPAWNLITE" ] || die "no nspawnlite binary at $NSPAWNLITE (build it, or set NSPAWNLITE)"
	name=debian-$release
	store=$(dirname -- "$dir")/store
	mkdir -p -- "$store"
	printf '%s\n' "$GUEST_ROOT_PASSWORD" >"$store/.password"
	NSPAWNLITE_MACHINES_DIR=$store "$NSPAWNLITE" create "$name" --release="$release" \
		--root-password-file="$store/.password"
	mv -T -- "$store/$name" "$dir"
	rm -rf -- "$store"
}

case ${1:-} in
params)
	[ -n "${2:-}" ] || die "usage: $0 params RELEASE"
	params "$2"
	;;
build)
	[ -n "${2:-}" ] && [ -n "${3:-}" ] || die "usage: $0 build DIR RELEASE"
	build "$2" "$3"
	;;
*) die "usage: $0 params RELEASE | build DIR RELEASE" ;;
esac
