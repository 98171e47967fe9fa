#!/bin/bash
# bench-image.sh: what --image= costs (issue 14), in one run. A benchmark, not a test: a missed
# target never fails it; it exits non-zero only when a tool fails to run (and 77, skipped, when not
# root or a tool is missing).
#
# A GPT image of the Debian systemd tree (systemd-repart, Discoverable Partitions root type, ext4),
# interleaved, medians:
#   - BENCH_IMG_N_RUN rounds (11): `nspawnlite run --image=IMG --read-only /bin/true`, against
#     systemd's own image machinery on the same image, `systemd-dissect --read-only --mount IMG DIR`
#     then `umount -R DIR` (probe, loop device, mounts, unmount: no process started inside;
#     `systemd-nspawn --image=` needs udev, which this host does not run), and against
#     `nspawnlite run --read-only TREE /bin/true` on the same tree as a directory, and the kernel's
#     floor (`unshare` of every namespace + `chroot TREE /bin/true`).
#     Target (issue 14): nspawnlite run --image / systemd-dissect mount+umount <= 0.3. A whole run
#     can't reach it where the floor alone is near 0.3 of dissect's cycle, so the bench reports both:
#     the image's own part (run --image minus run TREE, round by round) against dissect's cycle, and
#     the raw ratio.
#   - BENCH_IMG_N_BOOT rounds (5): boot -> poweroff with --ephemeral, of the image and of the tree.
#
# Environment: NSPAWNLITE, BENCH_IMG_N_RUN, BENCH_IMG_N_BOOT, BENCH_LOG_DIR, TMPDIR (where the
# tree copy and the image go, default /var/tmp). See README.md beside this file.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"

N_RUN=${BENCH_IMG_N_RUN:-11}
N_BOOT=${BENCH_IMG_N_BOOT:-5}
RUN_LIMIT=30
BOOT_LIMIT=60
TARGET=0.3
MARKER="NSPAWNLITE-BENCH-MULTI-USER-REACHED"
MARKDIR=/var/lib/nspawnlite-bench # in the guest: bound from the host, so that --ephemeral keeps it

# prepare_tree DIR: bench.target reaches multi-user.target, then a oneshot writes the marker into
# $MARKDIR/reached and powers the machine off (as in bench-boot.sh).
prepare_tree() {
	local sd=$1/etc/systemd/system
	mkdir -p -- "$1$MARKDIR"
	printf '[Unit]\nRequires=multi-user.target\nAfter=multi-user.target\nAllowIsolate=yes\n' >"$sd/bench.target"
	printf '[Unit]\nRequires=multi-user.target\nAfter=multi-user.target\n[Service]\nType=oneshot\n%s\n%s\n%s\n' \
		"StandardOutput=append:$MARKDIR/reached" "ExecStart=/bin/echo $MARKER" \
		"ExecStart=/bin/systemctl poweroff --no-block" >"$sd/bench-poweroff.service"
	mkdir -p -- "$sd/bench.target.wants"
	ln -sf ../bench-poweroff.service "$sd/bench.target.wants/bench-poweroff.service"
}

outer_main() {
	bench_checks --mount-only
	local t
	for t in systemd-repart systemd-dissect; do
		command -v "$t" >/dev/null || skip "needs $t (Debian package systemd)"
	done
	if ! [[ $N_RUN =~ ^[1-9][0-9]*$ && $N_BOOT =~ ^[1-9][0-9]*$ ]]; then
		msg "BENCH_IMG_N_RUN and BENCH_IMG_N_BOOT must be positive integers"
		exit 2
	fi
	local src
	src=$("$TOP/tests/guests/build.sh" debian-systemd | tail -n 1)
	[ -d "$src" ] || { msg "no debian-systemd guest tree"; exit 1; }
	bench_outer_start
	cp -a --reflink=auto -- "$src" "$WORK/tree"
	prepare_tree "$WORK/tree"
	mkdir -p "$WORK/defs" "$WORK/mark" "$WORK/dissect"
	# a fixed size: the tree is 165 MB; bookworm's repart has no Minimize=
	printf '[Partition]\nType=root\nFormat=ext4\nCopyFiles=%s:/\nSizeMinBytes=600M\nSizeMaxBytes=600M\n' \
		"$WORK/tree" >"$WORK/defs/10-root.conf"
	bench_run_inner --mount-only "$WORK" "$SLICE" "$src"
}

KEYS=(nl-img sd-dissect nl-tree floor)
BOOT_KEYS=(nl-img-boot nl-tree-boot)
declare -A LABEL=(
	[nl-img]="nspawnlite run --image --read-only"
	[sd-dissect]="systemd-dissect --mount + umount -R"
	[nl-tree]="nspawnlite run --read-only TREE"
	[floor]="floor: unshare + chroot TREE"
	[nl-img-boot]="boot --ephemeral --image"
	[nl-tree-boot]="boot --ephemeral TREE"
)

# systemd's image machinery on the image: probe, loop device, mount, then unmount it all.
dissect_cycle() { systemd-dissect --read-only --mount "$IMG" "$WORK/dissect" && umount -R "$WORK/dissect"; }

cmd_of() {
	local -a nl=("$NSPAWNLITE" run -q -M bench --console=pipe --network=none --read-only)
	local -a boot=("$NSPAWNLITE" boot -q -M bench --console=read-only --network=none --ephemeral
		--bind="$WORK/mark:$MARKDIR")
	case $1 in
	nl-img) CMD=("${nl[@]}" --image="$IMG" /bin/true) ;;
	sd-dissect) CMD=(dissect_cycle) ;;
	nl-tree) CMD=("${nl[@]}" "$WORK/tree" /bin/true) ;;
	floor) CMD=(unshare --mount --pid --fork --uts --ipc --net --cgroup chroot "$WORK/tree" /bin/true) ;;
	nl-img-boot) CMD=("${boot[@]}" --image="$IMG" systemd.unit=bench.target) ;;
	nl-tree-boot) CMD=("${boot[@]}" "$WORK/tree" systemd.unit=bench.target) ;;
	esac
}

declare -A S=() # samples by key: space-separated µs

# one KEY LOG LIMIT: a timed run of KEY; a boot must also leave the marker.
one() {
	cmd_of "$1"
	rm -f -- "$WORK/mark/reached"
	timed "$2" "$3" "${CMD[@]}"
	[ "$T_RC" -eq 0 ] || failed "${LABEL[$1]}" "$2"
	if [[ $1 == *-boot ]] && ! grep -q "$MARKER" "$WORK/mark/reached" 2>/dev/null; then
		T_RC="0, but the guest wrote no marker: multi-user.target not reached"
		failed "${LABEL[$1]}" "$2"
	fi
}

inner_main() {
	bench_inner_setup --mount-only "$1" "$2"
	local src=$3 i key
	L=$WORK/logs
	WATCH=$WORK/watch
	: >"$WATCH"
	watchdog &
	local wd=$!
	# shellcheck disable=SC2064 # expand now
	trap "kill $wd 2>/dev/null || true" EXIT

	IMG=$WORK/debian.raw
	systemd-repart --definitions="$WORK/defs" --empty=create --size=auto --dry-run=no --pretty=no \
		"$IMG" >"$L/repart.log" 2>&1 || { T_RC=$?; failed "systemd-repart" "$L/repart.log"; }

	printf 'nspawnlite image bench: %s, run --image and boot --ephemeral --image\n' \
		"$("$NSPAWNLITE" --version 2>/dev/null | head -n 1)"
	printf '  tree: copy of %s (%s, %s files); image: GPT, one ext4 root of 600M (%s allocated)\n' \
		"$src" "$(du -sh "$WORK/tree" | cut -f1)" "$(find "$WORK/tree" -xdev | wc -l)" "$(du -sh "$IMG" | cut -f1)"
	printf '  kernel %s, %s, %s CPUs, load average %s\n' "$(uname -r)" \
		"$(systemd-dissect --version | head -n 1)" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)"
	printf '  %s run rounds, %s boot rounds, interleaved; a warm-up of each command first, not counted\n' \
		"$N_RUN" "$N_BOOT"

	local sum
	sum=$(sha256sum <"$IMG")
	for key in "${KEYS[@]}" "${BOOT_KEYS[@]}"; do
		local limit=$RUN_LIMIT
		[[ $key != *-boot ]] || limit=$BOOT_LIMIT
		one "$key" "$L/warm-$key.log" "$limit"
	done
	msg "$N_RUN run rounds"
	for ((i = 1; i <= N_RUN; i++)); do
		for key in "${KEYS[@]}"; do
			one "$key" "$L/$key-$i.log" $RUN_LIMIT
			S[$key]+="$T_US "
		done
	done
	msg "$N_BOOT boot rounds"
	for ((i = 1; i <= N_BOOT; i++)); do
		for key in "${BOOT_KEYS[@]}"; do
			one "$key" "$L/$key-$i.log" $BOOT_LIMIT
			S[$key]+="$T_US "
		done
	done
	local -A M=()
	for key in "${KEYS[@]}" "${BOOT_KEYS[@]}"; do
		# shellcheck disable=SC2086 # one sample a word
		M[$key]=$(median ${S[$key]})
	done
	local r fmt='%-40s %10s\n'
	printf '\n'
	# shellcheck disable=SC2059 # the format is ours
	{
		printf "$fmt" "run /bin/true (ms, median)" ""
		for key in "${KEYS[@]}"; do printf "$fmt" "${LABEL[$key]}" "$(fmt_ms "${M[$key]}")"; done
		# The image's own part: what --image adds to the same run of the tree (probe, loop devices,
		# the mount and its teardown, the guest's first reads through the loop), per round, since
		# the rounds are interleaved; that part is what compares with dissect's mount + umount.
		M[img-part]=$(paired_median "${S[nl-img]}" "${S[nl-tree]}")
		printf "$fmt" "  of which the image's own part" "$(fmt_ms "${M[img-part]}")"
		r=$(ratio "${M[img-part]}" "${M[sd-dissect]}")
		printf '\n%-40s %10s %9s  %s\n' "ratio image's own part / dissect+umount" "$r" "<= $TARGET" \
			"$(meets "$r" "$TARGET")"
		r=$(ratio "${M[nl-img]}" "${M[sd-dissect]}")
		printf '%-40s %10s %9s  %s\n' "ratio raw: run --image / dissect+umount" "$r" "<= $TARGET" \
			"$(meets "$r" "$TARGET")"
		printf '%-40s %10s\n' "ratio run --image / run TREE" "$(ratio "${M[nl-img]}" "${M[nl-tree]}")"
		printf '(the raw ratio includes a whole container start; %s ms of it is the kernel floor alone)\n' \
			"$(fmt_ms "${M[floor]}")"
		printf '\n'
		printf "$fmt" "boot -> poweroff (ms, median)" ""
		for key in "${BOOT_KEYS[@]}"; do printf "$fmt" "${LABEL[$key]}" "$(fmt_ms "${M[$key]}")"; done
		printf '%-40s %10s\n' "ratio image / tree" "$(ratio "${M[nl-img-boot]}" "${M[nl-tree-boot]}")"
	}
	[ "$sum" = "$(sha256sum <"$IMG")" ] && printf '\nThe image is unchanged after every run.\n' ||
		printf '\nWARNING: the image changed during the bench (every run was --read-only or --ephemeral).\n'
	printf 'Samples (ms):\n'
	for key in "${KEYS[@]}" "${BOOT_KEYS[@]}"; do
		# shellcheck disable=SC2086 # one sample a word
		printf '  %-40s %s\n' "${LABEL[$key]}" "$(list_ms ${S[$key]})"
	done
}

# paired_median "A-SAMPLES" "B-SAMPLES": the median of A[i] - B[i] (µs, round by round).
paired_median() {
	# shellcheck disable=SC2206 # one sample a word
	local -a a=($1) b=($2) d=()
	local i
	for ((i = 0; i < ${#a[@]} && i < ${#b[@]}; i++)); do d+=($((a[i] - b[i]))); done
	median "${d[@]}"
}

if [ "${1:-}" = --inner ]; then
	shift
	inner_main "$@"
else
	outer_main "$@"
fi
