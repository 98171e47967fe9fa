#!/bin/bash
# bench-ephemeral.sh: what --ephemeral costs (issue 14), nspawnlite against systemd-nspawn on the
# same tree, in one run. A benchmark, not a test: a missed target never fails it; it exits non-zero
# only when a tool fails to run (and 77, skipped, when not root or a tool is missing).
#
# Wall time of `run /bin/true`, interleaved, BENCH_EPH_N rounds (5), medians: nspawnlite on the tree
# itself, nspawnlite --ephemeral (an overlay whose upper layer is a tmpfs: the same cost whatever
# the tree's size), systemd-nspawn --ephemeral (on a filesystem without btrfs snapshots it copies
# the whole tree first, and removes the copy at the end).
# Target (issue 14): nspawnlite --ephemeral / systemd-nspawn --ephemeral <= 0.05.
#
# Environment: NSPAWNLITE, BENCH_EPH_N, BENCH_LOG_DIR, TMPDIR (where the tree copy goes, and so
# systemd-nspawn's copies, default /var/tmp). See README.md beside this file.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"

N=${BENCH_EPH_N:-5}
RUN_LIMIT=300 # seconds a single run may take (systemd-nspawn copies the tree)
TARGET=0.05

outer_main() {
	bench_checks --mount-only
	[[ $N =~ ^[1-9][0-9]*$ ]] || { msg "BENCH_EPH_N must be a positive integer"; exit 2; }
	local src
	src=$("$TOP/tests/guests/build.sh" debian-systemd | tail -n 1)
	[ -d "$src" ] || { msg "no debian-systemd guest tree"; exit 1; }
	bench_outer_start
	cp -a --reflink=auto -- "$src" "$WORK/tree"
	bench_run_inner --mount-only "$WORK" "$SLICE" "$src"
}

# The commands, by key, in the order of each round.
KEYS=(nl-tree nl-eph ns-eph)
declare -A LABEL=(
	[nl-tree]="nspawnlite (the tree itself)"
	[nl-eph]="nspawnlite --ephemeral"
	[ns-eph]="systemd-nspawn --ephemeral"
)

cmd_of() {
	local key=$1 tree=$WORK/tree
	local -a nl=("$NSPAWNLITE" run -q -M bench --console=pipe --network=none)
	case $key in
	nl-tree) CMD=("${nl[@]}" "$tree" /bin/true) ;;
	nl-eph) CMD=("${nl[@]}" --ephemeral "$tree" /bin/true) ;;
	ns-eph) CMD=(systemd-nspawn --register=no --keep-unit -q -M bench2 --console=pipe --private-network
		--ephemeral -D "$tree" /bin/true) ;;
	esac
}

declare -A S=() # samples by key: space-separated µs

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

	printf 'nspawnlite ephemeral bench: %s vs systemd-nspawn, run /bin/true\n' \
		"$("$NSPAWNLITE" --version 2>/dev/null | head -n 1)"
	printf '  tree: copy of %s (%s, %s files) on %s\n' "$src" "$(du -sh "$WORK/tree" | cut -f1)" \
		"$(find "$WORK/tree" -xdev | wc -l)" "$(stat -f -c %T "$WORK/tree")"
	printf '  kernel %s, %s, %s CPUs, load average %s\n' "$(uname -r)" \
		"$(systemd-nspawn --version | head -n 1)" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)"
	printf '  %s rounds, interleaved; a warm-up run of each command first, not counted\n' "$N"

	local sum_before
	sum_before=$(cd "$WORK/tree" && find . -printf '%p %s\n' | sort | sha256sum)
	for key in "${KEYS[@]}"; do
		cmd_of "$key"
		timed "$L/warm-$key.log" $RUN_LIMIT "${CMD[@]}"
		[ "$T_RC" -eq 0 ] || failed "${LABEL[$key]} /bin/true" "$L/warm-$key.log"
	done
	msg "$N rounds"
	for ((i = 1; i <= N; i++)); do
		for key in "${KEYS[@]}"; do
			cmd_of "$key"
			timed "$L/$key-$i.log" $RUN_LIMIT "${CMD[@]}"
			[ "$T_RC" -eq 0 ] || failed "${LABEL[$key]} /bin/true" "$L/$key-$i.log"
			S[$key]+="$T_US "
		done
	done
	local -A M=()
	for key in "${KEYS[@]}"; do
		# shellcheck disable=SC2086 # one sample a word
		M[$key]=$(median ${S[$key]})
	done
	local r fmt='%-36s %10s\n'
	printf '\n'
	# shellcheck disable=SC2059 # the format is ours
	{
		printf "$fmt" "run /bin/true (ms, median)" ""
		for key in "${KEYS[@]}"; do printf "$fmt" "${LABEL[$key]}" "$(fmt_ms "${M[$key]}")"; done
		r=$(ratio "${M[nl-eph]}" "${M[ns-eph]}")
		printf '\n%-36s %10s %9s  %s\n' "ratio nl --ephemeral / nspawn" "$r" "<= $TARGET" \
			"$(meets "$r" "$TARGET")"
		printf '%-36s %10s\n' "ratio nl --ephemeral / nl tree" "$(ratio "${M[nl-eph]}" "${M[nl-tree]}")"
	}
	[ "$sum_before" = "$(cd "$WORK/tree" && find . -printf '%p %s\n' | sort | sha256sum)" ] &&
		printf '\nThe tree is unchanged after every run.\n' ||
		printf '\nWARNING: the tree changed during the bench.\n'
	printf 'Samples (ms):\n'
	for key in "${KEYS[@]}"; do
		# shellcheck disable=SC2086 # one sample a word
		printf '  %-36s %s\n' "${LABEL[$key]}" "$(list_ms ${S[$key]})"
	done
}

if [ "${1:-}" = --inner ]; then
	shift
	inner_main "$@"
else
	outer_main "$@"
fi
