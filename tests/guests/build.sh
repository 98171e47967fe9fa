#!/bin/bash
# build.sh KIND | all | prune
#
# Builds (once) the guest tree KIND (busybox, debian-systemd, debian-sysvinit,
# debian-openrc, and debian-RELEASE for bullseye, bookworm, trixie and sid, made
# by `nspawnlite create`) and prints its absolute path: the only output on stdout.
# `all` builds every kind and prints their paths, one a line, in that order;
# `prune` removes the cached trees of older builder versions.
#
# Trees live in ${NSPAWNLITE_GUEST_CACHE:-/var/cache/nspawnlite-tests}/KIND-HASH,
# HASH being the first 16 hex digits of the sha256 of the builder scripts
# (build.sh, lib.sh, KIND.sh or debian-release.sh) and of their parameters
# (suite, mirror…; for debian-RELEASE the code of create's recipes), so
# that editing a builder makes a new tree. A tree is built in a temporary
# directory beside it and renamed into place when complete, under a lock per
# kind. Set NSPAWNLITE_GUEST_REBUILD=1 to rebuild the current tree anyway.
set -euo pipefail
here=$(dirname -- "$(readlink -f -- "$0")")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

KINDS=(busybox debian-systemd debian-sysvinit debian-openrc debian-machined
	debian-bullseye debian-bookworm debian-trixie debian-sid)
trap cleanup EXIT

usage() {
	printf 'usage: %s KIND | all | prune\nKIND: %s\n' "${0##*/}" "${KINDS[*]}" >&2
	exit 2
}

is_kind() {
	local k
	for k in "${KINDS[@]}"; do
		[ "$k" != "$1" ] || return 0
	done
	return 1
}

# builder KIND: the builder script of KIND, and its argument (the debian-RELEASE kinds share one).
builder() {
	case $1 in
	debian-bullseye | debian-bookworm | debian-trixie | debian-sid) echo "debian-release.sh ${1#debian-}" ;;
	*) echo "$1.sh" ;;
	esac
}

kind_hash() {
	local kind=$1 f script arg
	read -r script arg < <(builder "$kind")
	{
		# What makes the tree: the shared helpers, the kind's builder and its parameters (not
		# build.sh's own bookkeeping, so that a new kind leaves the others' trees valid).
		for f in lib.sh "$script"; do
			printf '== %s\n' "$f"
			grep -v '^KINDS=' -- "$here/$f"
		done
		printf '== params\n'
		# shellcheck disable=SC2086 # no argument, or one word
		"$here/$script" params $arg
	} | sha256sum | cut -c1-16
}

# lock_kind KIND: take the build lock of KIND (held until this script exits).
lock_kind() {
	local fd
	exec {fd}>"$GUEST_CACHE/.$1.lock"
	flock "$fd"
}

build_one() {
	local kind=$1 hash final tmp log start script arg
	hash=$(kind_hash "$kind")
	final=$GUEST_CACHE/$kind-$hash
	if [ -f "$final/.nspawnlite-guest" ] && [ "${NSPAWNLITE_GUEST_REBUILD:-0}" != 1 ]; then
		printf '%s\n' "$final"
		return
	fi
	lock_kind "$kind"
	# Somebody else may have built it while we waited for the lock.
	if [ -f "$final/.nspawnlite-guest" ] && [ "${NSPAWNLITE_GUEST_REBUILD:-0}" != 1 ]; then
		printf '%s\n' "$final"
		return
	fi
	# Leftovers of interrupted builds of this kind (we hold its lock).
	for tmp in "$GUEST_CACHE/.$kind"-*.tmp.*; do
		[ ! -e "$tmp" ] || remove_tree "$tmp"
	done
	tmp=$(mktemp -d "$GUEST_CACHE/.$kind-$hash.tmp.XXXXXX")
	CLEANUP+=("$tmp")
	mkdir -p -- "$GUEST_CACHE/logs"
	log=$GUEST_CACHE/logs/$kind-$hash.log
	msg "building $kind (log: $log)"
	start=$SECONDS
	# A private mount namespace: whatever the builder mounts (debootstrap's
	# /proc and /sys, chroot_apt's binds) goes away with it, even if killed.
	read -r script arg < <(builder "$kind")
	# shellcheck disable=SC2086 # no argument, or one word
	if ! unshare --mount --propagation private \
		"$here/$script" build "$tmp/tree" $arg </dev/null >"$log" 2>&1; then
		tail -n 40 -- "$log" >&2
		die "building $kind failed; full log: $log"
	fi
	printf 'kind=%s\nhash=%s\n' "$kind" "$hash" >"$tmp/tree/.nspawnlite-guest"
	chmod 0755 "$tmp/tree"
	if [ -e "$final" ]; then
		mv -T -- "$final" "$tmp/old"
	fi
	mv -T -- "$tmp/tree" "$final"
	msg "built $kind in $((SECONDS - start)) s, $(du -sh --one-file-system -- "$final" | cut -f1): $final"
	printf '%s\n' "$final"
}

prune() {
	local kind hash d
	for kind in "${KINDS[@]}"; do
		hash=$(kind_hash "$kind")
		lock_kind "$kind"
		for d in "$GUEST_CACHE/$kind"-* "$GUEST_CACHE/.$kind"-*.tmp.* "$GUEST_CACHE/logs/$kind"-*.log; do
			if [ ! -e "$d" ] || [ "${d%.log}" = "$GUEST_CACHE/$kind-$hash" ] ||
				[ "$d" = "$GUEST_CACHE/logs/$kind-$hash.log" ]; then
				continue
			fi
			msg "removing $d"
			remove_tree "$d"
		done
	done
}

[ $# -eq 1 ] || usage
[ "$(id -u)" -eq 0 ] || die "must run as root"
case $GUEST_CACHE in
/*) ;;
*) die "NSPAWNLITE_GUEST_CACHE must be an absolute path" ;;
esac
[[ $GUEST_CACHE != *[[:space:]]* ]] || die "NSPAWNLITE_GUEST_CACHE must not contain spaces"
mkdir -p -- "$GUEST_CACHE"

case $1 in
all)
	for kind in "${KINDS[@]}"; do
		build_one "$kind"
	done
	;;
prune) prune ;;
*)
	is_kind "$1" || usage
	build_one "$1"
	;;
esac
