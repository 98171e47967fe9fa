#!/bin/bash
# bench-network.sh: what a machine's network costs (issue 4), nspawnlite against systemd-nspawn on
# the same tree, in one run. A benchmark, not a test: a missed target never fails it; it exits
# non-zero only when a tool fails to run (and 77, skipped, when not root or a tool is missing).
#
# Wall time of `run /bin/true`, interleaved (A, B, C, A, B, C …), BENCH_NET_N rounds (15), medians:
#   nspawnlite --network=none | bridge | veth, systemd-nspawn without --private-network (the host's
#   network) | --private-network | --network-veth, and the floor (unshare + chroot);
# in two cases:
#   alone:     no other machine runs, so every `run --network=bridge` creates the bridge
#              nspawnlite0 and the nftables table, and removes them when it ends (first and last
#              machine);
#   bridge up: one machine (`boot -d --network=bridge`) keeps the bridge and the table up, so a
#              run only adds and removes its veth.
# Target (issue 4): --network=bridge adds at most 5 ms to --network=none.
# Everything runs in private network and mount namespaces: the bridge and NAT are the bench's own.
#
# Environment: NSPAWNLITE, BENCH_NET_N, BENCH_NET_TREE (busybox (default) or debian-systemd),
# BENCH_LOG_DIR, TMPDIR. See README.md beside this file.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"

N=${BENCH_NET_N:-15}
KIND=${BENCH_NET_TREE:-busybox}
RUN_LIMIT=30  # seconds a single run may take before the watchdog stops it
BOOT_LIMIT=60 # the machine that keeps the bridge up
TARGET_MS=5

outer_main() {
	bench_checks
	[[ $N =~ ^[1-9][0-9]*$ ]] || { msg "BENCH_NET_N must be a positive integer"; exit 2; }
	case $KIND in
	busybox | debian-systemd) ;;
	*) msg "BENCH_NET_TREE must be busybox or debian-systemd"; exit 2 ;;
	esac
	local src
	src=$("$TOP/tests/guests/build.sh" "$KIND" | tail -n 1)
	[ -d "$src" ] || { msg "no $KIND guest tree"; exit 1; }
	bench_outer_start
	cp -a --reflink=auto -- "$src" "$WORK/tree"
	bench_run_inner "$WORK" "$SLICE" "$src"
}

# ---------------------------------------------------------------------------------------------
# Inner part (private mount and network namespaces).
# ---------------------------------------------------------------------------------------------

# watchdog, timed and failed: lib.sh.

# What the private network namespace holds besides lo, and nspawnlite's nftables table. The last
# machine's bridge and table are deleted by a detached child holding the network lock: wait for it
# (the veth pairs go with their namespaces, in the kernel's own time: a moment too).
net_leftovers() {
	local lock=$NSPAWNLITE_RUNTIME_DIR/network/setup.lock i
	[ ! -e "$lock" ] || flock "$lock" true
	for ((i = 0; i < 50; i++)); do
		ip -o link show | grep ': ve-' | grep -qv ': ve-keeper' || break
		sleep 0.1
	done
	ip -o link show | awk -F': ' '$2 != "lo" { sub(/@.*/, "", $2); printf "link:%s ", $2 }'
	if command -v nft >/dev/null; then
		nft list tables 2>/dev/null | awk '{ printf "nft:%s/%s ", $2, $3 }'
	fi
	if [ -d "$NSPAWNLITE_RUNTIME_DIR/machines" ]; then
		find "$NSPAWNLITE_RUNTIME_DIR/machines" -mindepth 1 -maxdepth 1 -printf 'state:%f '
	fi
}

# warm_up CASE WHAT: one run of every command (not counted); a command that fails, fails the bench.
warm_up() {
	local key
	for key in "${KEYS[@]}"; do
		cmd_of "$key" /bin/true
		timed "$L/warm-$1-$key.log" $RUN_LIMIT "${CMD[@]}"
		[ "$T_RC" -eq 0 ] || failed "${LABEL[$key]} /bin/true$2" "$L/warm-$1-$key.log"
	done
}

# The commands, by key, in the order of each round.
KEYS=(nl-none nl-bridge nl-veth ns-host ns-priv ns-veth floor)
declare -A LABEL=(
	[nl-none]="nspawnlite --network=none"
	[nl-bridge]="nspawnlite --network=bridge"
	[nl-veth]="nspawnlite --network=veth"
	[ns-host]="systemd-nspawn (host's network)"
	[ns-priv]="systemd-nspawn --private-network"
	[ns-veth]="systemd-nspawn --network-veth"
	[floor]="floor: unshare + chroot"
)

cmd_of() {
	local key=$1 tree=$WORK/tree
	shift
	local -a nl=("$NSPAWNLITE" run -q -M bench --console=pipe)
	local -a ns=(systemd-nspawn --register=no --keep-unit -q -M bench2 --console=pipe)
	case $key in
	nl-none) CMD=("${nl[@]}" --network=none "$tree" "$@") ;;
	nl-bridge) CMD=("${nl[@]}" --network=bridge "$tree" "$@") ;;
	nl-veth) CMD=("${nl[@]}" --network=veth "$tree" "$@") ;;
	ns-host) CMD=("${ns[@]}" -D "$tree" "$@") ;;
	ns-priv) CMD=("${ns[@]}" --private-network -D "$tree" "$@") ;;
	ns-veth) CMD=("${ns[@]}" --network-veth -D "$tree" "$@") ;;
	floor) CMD=(unshare --mount --pid --fork --uts --ipc --net --cgroup chroot "$tree" "$@") ;;
	esac
}

# Samples, by "CASE.KEY" (CASE alone or up): space-separated µs.
declare -A S=()

# round CASE I
round() {
	local c=$1 i=$2 key
	for key in "${KEYS[@]}"; do
		cmd_of "$key" /bin/true
		timed "$L/$c-$key-$i.log" $RUN_LIMIT "${CMD[@]}"
		[ "$T_RC" -eq 0 ] || failed "${LABEL[$key]} /bin/true ($c)" "$L/$c-$key-$i.log"
		S[$c.$key]+="$T_US "
	done
}

# check_iface KEY CASE: the guest of KEY has a host0 interface (the network was really set up).
check_iface() {
	cmd_of "$1" /bin/cat /proc/net/dev
	timed "$L/iface-$2-$1.log" $RUN_LIMIT "${CMD[@]}"
	[ "$T_RC" -eq 0 ] || failed "${LABEL[$1]} cat /proc/net/dev ($2)" "$L/iface-$2-$1.log"
	grep -q 'host0:' "$L/iface-$2-$1.log" || {
		T_RC="0, but no host0 in the guest"
		failed "${LABEL[$1]} ($2)" "$L/iface-$2-$1.log"
	}
}

med_of() {
	# shellcheck disable=SC2086 # one sample a word
	median ${S[$1]}
}
diff_ms() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.1f", (a - b) / 1000 }'; }

inner_main() {
	bench_inner_setup "$1" "$2"
	local src=$3 i c key
	L=$WORK/logs
	WATCH=$WORK/watch
	: >"$WATCH"
	watchdog &
	local wd=$!
	# shellcheck disable=SC2064 # expand now
	trap "kill $wd 2>/dev/null || true" EXIT

	printf 'nspawnlite network bench: %s vs systemd-nspawn, run /bin/true\n' \
		"$("$NSPAWNLITE" --version 2>/dev/null | head -n 1)"
	printf '  tree: copy of %s\n  kernel %s, %s, %s CPUs, load average %s; cgroup: %s\n' "$src" "$(uname -r)" \
		"$(systemd-nspawn --version | head -n 1)" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" \
		"$( [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && echo unified || echo 'v1 hybrid')"
	printf '  %s rounds per case, interleaved; a warm-up run of each command first, not counted\n' "$N"

	# Case "alone".
	msg "alone: warm-up"
	warm_up alone ""
	check_iface nl-bridge alone
	check_iface nl-veth alone
	check_iface ns-veth alone
	msg "alone: $N rounds"
	for ((i = 1; i <= N; i++)); do round alone "$i"; done
	local left_alone
	left_alone=$(net_leftovers)

	# Case "bridge up": a machine keeps the bridge and the nftables table.
	msg "bridge up: booting the machine that keeps it"
	timed "$L/keeper-boot.log" $BOOT_LIMIT "$NSPAWNLITE" boot -q -d --wait-ready --read-only \
		--network=bridge -M keeper "$WORK/tree"
	[ "$T_RC" -eq 0 ] || failed "nspawnlite boot -d --network=bridge (the machine keeping the bridge up)" "$L/keeper-boot.log"
	local during
	during=$(net_leftovers)
	warm_up up " (bridge up)"
	check_iface nl-bridge up
	msg "bridge up: $N rounds"
	for ((i = 1; i <= N; i++)); do round up "$i"; done
	timed "$L/keeper-poweroff.log" $BOOT_LIMIT "$NSPAWNLITE" poweroff keeper
	[ "$T_RC" -eq 0 ] || failed "nspawnlite poweroff keeper" "$L/keeper-poweroff.log"
	local left_end
	left_end=$(net_leftovers)

	local -A M=()
	for c in alone up; do
		for key in "${KEYS[@]}"; do M[$c.$key]=$(med_of "$c.$key"); done
	done
	local fmt='%-36s %10s %10s\n'
	printf '\n'
	# shellcheck disable=SC2059 # the format is ours
	{
		printf "$fmt" "run /bin/true (ms, median)" alone "bridge up"
		for key in "${KEYS[@]}"; do
			printf "$fmt" "${LABEL[$key]}" "$(fmt_ms "${M[alone.$key]}")" "$(fmt_ms "${M[up.$key]}")"
		done
		fmt='%-36s %10s %10s %9s  %s\n'
		printf '\n'
		printf "$fmt" "cost of the network (ms, medians)" alone "bridge up" target result
		local da du
		da=$(diff_ms "${M[alone.nl-bridge]}" "${M[alone.nl-none]}")
		du=$(diff_ms "${M[up.nl-bridge]}" "${M[up.nl-none]}")
		printf "$fmt" "nspawnlite bridge - none" "$da" "$du" "<= $TARGET_MS" \
			"alone $(meets "$da" "$TARGET_MS"), bridge up $(meets "$du" "$TARGET_MS")"
		printf "$fmt" "nspawnlite veth - none" "$(diff_ms "${M[alone.nl-veth]}" "${M[alone.nl-none]}")" \
			"$(diff_ms "${M[up.nl-veth]}" "${M[up.nl-none]}")" - ""
		printf "$fmt" "systemd-nspawn veth - private" "$(diff_ms "${M[alone.ns-veth]}" "${M[alone.ns-priv]}")" \
			"$(diff_ms "${M[up.ns-veth]}" "${M[up.ns-priv]}")" - ""
		printf "$fmt" "systemd-nspawn private - host" "$(diff_ms "${M[alone.ns-priv]}" "${M[alone.ns-host]}")" \
			"$(diff_ms "${M[up.ns-priv]}" "${M[up.ns-host]}")" - ""
		printf "$fmt" "ratio nl bridge / nspawn veth" "$(ratio "${M[alone.nl-bridge]}" "${M[alone.ns-veth]}")" \
			"$(ratio "${M[up.nl-bridge]}" "${M[up.ns-veth]}")" - ""
		printf "$fmt" "ratio nl none / nspawn private" "$(ratio "${M[alone.nl-none]}" "${M[alone.ns-priv]}")" \
			"$(ratio "${M[up.nl-none]}" "${M[up.ns-priv]}")" - ""
	}
	printf '\nLeft in the private netns: after "alone": %s; with the keeper up: %s; at the end: %s\n' \
		"${left_alone:-nothing}" "${during:-nothing}" "${left_end:-nothing}"
	printf 'Samples (ms):\n'
	for c in alone up; do
		for key in "${KEYS[@]}"; do
			# shellcheck disable=SC2086 # one sample a word
			printf '  %-5s %-34s %s\n' "$c" "${LABEL[$key]}" "$(list_ms ${S[$c.$key]})"
		done
	done
}

if [ "${1:-}" = --inner ]; then
	shift
	inner_main "$@"
else
	outer_main "$@"
fi
