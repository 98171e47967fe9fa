#!/bin/bash
# bench-boot.sh: nspawnlite against systemd-nspawn on the same Debian systemd tree, in one run.
# A benchmark, not a test: a missed target never fails it; it exits non-zero only
# when a tool fails to run (and 77, skipped, when not root or systemd-nspawn is missing).
#
# Measures, interleaved so that noise spreads evenly over the tools:
#   a) run /bin/true: wall time of `nspawnlite run`, `systemd-nspawn … /bin/true` and the floor
#      (`unshare` of every namespace + `chroot … /bin/true`); BENCH_N_RUN rounds (15), medians;
#   b) boot → poweroff: wall time of a full boot of the guest to multi-user.target and its
#      poweroff, for both tools; BENCH_N_BOOT rounds (11), medians; every boot must exit 0 and the
#      bench unit must have written its marker file (proof that multi-user.target was reached);
#   c) peak RSS (VmHWM) of the supervisor process of each tool (not the guest's) during a boot
#      cycle, polled every 50 ms; BENCH_N_RSS rounds (3), medians.
# Also systemd-nspawn with --private-network and nspawnlite boot --network=host: nspawnlite gives the
# guest its own network namespace by default and systemd-nspawn does not; the "same:" rows compare
# boots with the same network on both sides.
#
# Environment: NSPAWNLITE (binary, default build/nspawnlite), BENCH_N_RUN, BENCH_N_BOOT,
# BENCH_N_RSS, BENCH_LOG_DIR (if set, every console log is copied there at the end), TMPDIR.
# See README.md beside this file.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"

N_RUN=${BENCH_N_RUN:-15}
N_BOOT=${BENCH_N_BOOT:-11}
N_RSS=${BENCH_N_RSS:-3}
RUN_LIMIT=30   # seconds a single `run /bin/true` may take before the watchdog stops it
BOOT_LIMIT=60  # seconds a single boot → poweroff cycle may take
MARKER="NSPAWNLITE-BENCH-MULTI-USER-REACHED"
REACHED=/var/lib/nspawnlite-bench/reached # in the guest

# ---------------------------------------------------------------------------------------------
# Outer part: checks, the bench's copy of the tree, then the inner part in a private mount
# namespace; on every exit path (bench_outer_cleanup, lib.sh), removes the processes and cgroups
# under the private parent and the temporary directory.
# ---------------------------------------------------------------------------------------------

# prepare_tree DIR: a target that reaches multi-user.target and then a oneshot unit that writes
# the marker into $REACHED and powers the machine off. Booted with `systemd.unit=bench.target`, the
# same way by both tools. (Not a marker on the console: console-getty starts at the same time and
# its agetty flushes the console's pending output, so such a marker is sometimes lost.)
prepare_tree() {
	local t=$1 sd=$1/etc/systemd/system
	mkdir -p -- "$t${REACHED%/*}"
	cat >"$sd/bench.target" <<-'EOF'
		[Unit]
		Description=nspawnlite bench: multi-user, then power off
		Requires=multi-user.target
		After=multi-user.target
		AllowIsolate=yes
	EOF
	cat >"$sd/bench-poweroff.service" <<-EOF
		[Unit]
		Description=nspawnlite bench: report multi-user and power off
		Requires=multi-user.target
		After=multi-user.target

		[Service]
		Type=oneshot
		StandardOutput=append:$REACHED
		ExecStart=/bin/echo $MARKER
		ExecStart=/bin/systemctl poweroff --no-block

		[Install]
		WantedBy=bench.target
	EOF
	mkdir -p -- "$sd/bench.target.wants"
	ln -sf ../bench-poweroff.service "$sd/bench.target.wants/bench-poweroff.service"
	{ [ -x "$t/bin/systemctl" ] && [ -x "$t/bin/echo" ]; } || {
		msg "the tree $t has no /bin/systemctl or /bin/echo"
		exit 1
	}
}

outer_main() {
	bench_checks --mount-only
	local n
	for n in "$N_RUN" "$N_BOOT" "$N_RSS"; do
		[[ $n =~ ^[1-9][0-9]*$ ]] || {
			msg "BENCH_N_* must be positive integers"
			exit 2
		}
	done

	local src
	src=$("$TOP/tests/guests/build.sh" debian-systemd | tail -n 1)
	[ -d "$src" ] || {
		msg "no debian-systemd guest tree"
		exit 1
	}

	bench_outer_start
	msg "copying $src"
	cp -a --reflink=auto -- "$src" "$WORK/tree"
	prepare_tree "$WORK/tree"
	bench_run_inner --mount-only "$WORK" "$SLICE" "$src"
}

# ---------------------------------------------------------------------------------------------
# Inner part (private mount namespace).
# ---------------------------------------------------------------------------------------------

# watchdog, timed, failed, median, fmt_ms, ratio, list_ms and the trace_* and split_* helpers: lib.sh.

# rss LOG LIMIT CMD…: like timed, but polls VmHWM of CMD's process every 50 ms until it exits and
# keeps the last value read (VmHWM only grows during the life of a program; a sample taken
# between fork and exec belongs to this shell and is overwritten); sets HWM_KIB and T_RC.
rss() {
	local log=$1 limit=$2 pid key val state hwm=0
	shift 2
	"$@" </dev/null >"$log" 2>&1 {SLEEP_FD}>&- &
	pid=$!
	printf '%s %s\n' "$pid" "$((EPOCHSECONDS + limit))" >"$WATCH"
	while :; do
		state=
		{ while read -r key val _; do
			case $key in
			State:) state=$val ;;
			VmHWM:) hwm=$val ;;
			esac
		done <"/proc/$pid/status"; } 2>/dev/null || break
		{ [ -n "$state" ] && [ "$state" != Z ]; } || break
		read -rt 0.05 -u "$SLEEP_FD" _ || true
	done
	T_RC=0
	wait "$pid" || T_RC=$?
	: >"$WATCH"
	HWM_KIB=$hwm
}

# boot_prep: before each boot, removes the marker of the previous one and empties the trace.
boot_prep() {
	rm -f -- "$TREE$REACHED"
	trace_clear
}

# check_boot WHAT LOG: the boot exited 0 and the guest reached multi-user.target.
check_boot() {
	[ "$T_RC" -eq 0 ] || failed "$1" "$2"
	grep -q "$MARKER" -- "$TREE$REACHED" 2>/dev/null || {
		T_RC="0, but the guest wrote no $REACHED: multi-user.target not reached"
		failed "$1" "$2"
	}
	local f
	f=$(grep -ac 'FAILED' -- "$2" || true)
	FAILED_UNITS[$1]=$((${FAILED_UNITS[$1]:-0} + f))
}


inner_main() {
	# A private tmpfs on /run/systemd/nspawn (systemd-nspawn's propagation directory, on disk on
	# these machines), and the shell in a cgroup under the private parent, so that the payload/
	# and supervisor/ cgroups systemd-nspawn --keep-unit makes beside itself land there too.
	bench_inner_setup --mount-only "$1" "$2"
	local src=$3 tree=$1/tree i
	TREE=$tree

	WATCH=$WORK/watch
	: >"$WATCH"
	watchdog &
	local wd=$!
	# shellcheck disable=SC2064 # expand now
	trap "kill $wd 2>/dev/null || true; trace_stop" EXIT
	trace_start

	local L=$WORK/logs
	local -a NL_RUN=("$NSPAWNLITE" run -q -M bench --network=none --console=pipe "$tree" /bin/true)
	local -a NS_RUN=(systemd-nspawn --register=no --keep-unit -q -M bench2 --console=pipe -D "$tree" /bin/true)
	local -a NSP_RUN=(systemd-nspawn --register=no --keep-unit -q -M bench2 --console=pipe --private-network -D "$tree" /bin/true)
	local -a FLOOR=(unshare --mount --pid --fork --uts --ipc --net --cgroup chroot "$tree" /bin/true)
	local -a NL_BOOT=("$NSPAWNLITE" boot -q -M bench --network=none --console=read-only "$tree" systemd.unit=bench.target)
	local -a NLH_BOOT=("$NSPAWNLITE" boot -q -M bench --network=host --console=read-only "$tree" systemd.unit=bench.target)
	local -a NS_BOOT=(systemd-nspawn --register=no --keep-unit -q -M bench2 --console=read-only -b -D "$tree" systemd.unit=bench.target)
	local -a NSP_BOOT=(systemd-nspawn --register=no --keep-unit -q -M bench2 --console=read-only --private-network -b -D "$tree" systemd.unit=bench.target)
	declare -gA FAILED_UNITS=()

	printf 'nspawnlite bench: %s vs systemd-nspawn on the same tree\n' "$("$NSPAWNLITE" --version 2>/dev/null | head -n 1)"
	printf '  tree: copy of %s\n  kernel %s, %s, %s CPUs; cgroup: %s\n' "$src" "$(uname -r)" \
		"$(systemd-nspawn --version | head -n 1)" "$(nproc)" \
		"$( [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && echo unified || echo 'v1 hybrid')"
	printf '  rounds: run %s, boot %s, rss %s (interleaved; first round of each a warm-up, not counted)\n\n' \
		"$N_RUN" "$N_BOOT" "$N_RSS"

	# Warm-up: page cache, the tree's first boot (machine-id and the like), and a check that
	# every command works at all.
	msg "warm-up"
	timed "$L/warm-nl-run.log" $RUN_LIMIT "${NL_RUN[@]}"; [ "$T_RC" -eq 0 ] || failed "nspawnlite run /bin/true" "$L/warm-nl-run.log"
	timed "$L/warm-ns-run.log" $RUN_LIMIT "${NS_RUN[@]}"; [ "$T_RC" -eq 0 ] || failed "systemd-nspawn /bin/true" "$L/warm-ns-run.log"
	timed "$L/warm-nsp-run.log" $RUN_LIMIT "${NSP_RUN[@]}"; [ "$T_RC" -eq 0 ] || failed "systemd-nspawn --private-network /bin/true" "$L/warm-nsp-run.log"
	timed "$L/warm-floor.log" $RUN_LIMIT "${FLOOR[@]}"; [ "$T_RC" -eq 0 ] || failed "unshare + chroot /bin/true" "$L/warm-floor.log"
	boot_prep; timed "$L/warm-nl-boot.log" $BOOT_LIMIT "${NL_BOOT[@]}"; check_boot "nspawnlite boot" "$L/warm-nl-boot.log"
	boot_prep; timed "$L/warm-ns-boot.log" $BOOT_LIMIT "${NS_BOOT[@]}"; check_boot "systemd-nspawn -b" "$L/warm-ns-boot.log"
	boot_prep; timed "$L/warm-nlh-boot.log" $BOOT_LIMIT "${NLH_BOOT[@]}"; check_boot "nspawnlite boot --network=host" "$L/warm-nlh-boot.log"
	FAILED_UNITS=()

	local -a t_nl=() t_ns=() t_nsp=() t_floor=()
	msg "a) run /bin/true, $N_RUN rounds"
	for ((i = 1; i <= N_RUN; i++)); do
		timed "$L/run-nl-$i.log" $RUN_LIMIT "${NL_RUN[@]}"
		[ "$T_RC" -eq 0 ] || failed "nspawnlite run /bin/true" "$L/run-nl-$i.log"
		t_nl+=("$T_US")
		timed "$L/run-ns-$i.log" $RUN_LIMIT "${NS_RUN[@]}"
		[ "$T_RC" -eq 0 ] || failed "systemd-nspawn /bin/true" "$L/run-ns-$i.log"
		t_ns+=("$T_US")
		timed "$L/run-floor-$i.log" $RUN_LIMIT "${FLOOR[@]}"
		[ "$T_RC" -eq 0 ] || failed "unshare + chroot /bin/true" "$L/run-floor-$i.log"
		t_floor+=("$T_US")
		timed "$L/run-nsp-$i.log" $RUN_LIMIT "${NSP_RUN[@]}"
		[ "$T_RC" -eq 0 ] || failed "systemd-nspawn --private-network /bin/true" "$L/run-nsp-$i.log"
		t_nsp+=("$T_US")
	done

	local -a b_nl=() b_ns=() b_nsp=() b_nlh=() p_nl=() p_ns=() p_nsp=() p_nlh=()
	msg "b) boot → poweroff, $N_BOOT rounds"
	for ((i = 1; i <= N_BOOT; i++)); do
		boot_prep
		timed "$L/boot-nl-$i.log" $BOOT_LIMIT "${NL_BOOT[@]}"
		check_boot "nspawnlite boot" "$L/boot-nl-$i.log"
		b_nl+=("$T_US")
		split_add p_nl
		boot_prep
		timed "$L/boot-ns-$i.log" $BOOT_LIMIT "${NS_BOOT[@]}"
		check_boot "systemd-nspawn -b" "$L/boot-ns-$i.log"
		b_ns+=("$T_US")
		split_add p_ns
		boot_prep
		timed "$L/boot-nsp-$i.log" $BOOT_LIMIT "${NSP_BOOT[@]}"
		check_boot "systemd-nspawn -b --private-network" "$L/boot-nsp-$i.log"
		b_nsp+=("$T_US")
		split_add p_nsp
		boot_prep
		timed "$L/boot-nlh-$i.log" $BOOT_LIMIT "${NLH_BOOT[@]}"
		check_boot "nspawnlite boot --network=host" "$L/boot-nlh-$i.log"
		b_nlh+=("$T_US")
		split_add p_nlh
	done

	local -a r_nl=() r_ns=()
	msg "c) supervisor peak RSS during a boot cycle, $N_RSS rounds"
	for ((i = 1; i <= N_RSS; i++)); do
		boot_prep
		rss "$L/rss-nl-$i.log" $BOOT_LIMIT "${NL_BOOT[@]}"
		check_boot "nspawnlite boot" "$L/rss-nl-$i.log"
		r_nl+=("$HWM_KIB")
		boot_prep
		rss "$L/rss-ns-$i.log" $BOOT_LIMIT "${NS_BOOT[@]}"
		check_boot "systemd-nspawn -b" "$L/rss-ns-$i.log"
		r_ns+=("$HWM_KIB")
	done

	local m_nl m_ns m_nsp m_floor q_nl q_ns q_nsp q_nlh s_nl s_ns r1 r2 r3 rp rb rh
	m_nl=$(median "${t_nl[@]}") m_ns=$(median "${t_ns[@]}") m_nsp=$(median "${t_nsp[@]}")
	m_floor=$(median "${t_floor[@]}")
	q_nl=$(median "${b_nl[@]}") q_ns=$(median "${b_ns[@]}") q_nsp=$(median "${b_nsp[@]}") q_nlh=$(median "${b_nlh[@]}")
	s_nl=$(median "${r_nl[@]}") s_ns=$(median "${r_ns[@]}")
	r1=$(ratio "$m_nl" "$m_ns") r2=$(ratio "$q_nl" "$q_ns") r3=$(ratio "$s_nl" "$s_ns")
	rp=$(ratio "$m_nl" "$m_nsp") rb=$(ratio "$q_nl" "$q_nsp") rh=$(ratio "$q_nlh" "$q_ns")

	local fmt='%-28s %12s %15s %8s %9s %10s  %s\n'
	# shellcheck disable=SC2059 # the format is ours
	{
		printf "$fmt" metric nspawnlite systemd-nspawn floor ratio target result
		printf "$fmt" "run /bin/true (ms, median)" "$(fmt_ms "$m_nl")" "$(fmt_ms "$m_ns")" "$(fmt_ms "$m_floor")" \
			"$r1" "<= 0.167" "$(meets "$r1" 0.16667)"
		printf "$fmt" "boot->poweroff (ms, median)" "$(fmt_ms "$q_nl")" "$(fmt_ms "$q_ns")" - \
			"$r2" "<= 0.85" "$(meets "$r2" 0.85)"
		printf "$fmt" "supervisor peak RSS (KiB)" "$s_nl" "$s_ns" - \
			"$r3" "<= 0.5" "$(meets "$r3" 0.5)"
		# The same network on both sides (the row above compares nspawnlite's own network
		# namespace with systemd-nspawn's default, the host's network):
		printf "$fmt" "  same: both host network" "$(fmt_ms "$q_nlh")" "$(fmt_ms "$q_ns")" - \
			"$rh" "<= 0.85" "$(meets "$rh" 0.85)"
		printf "$fmt" "  same: both own netns" "$(fmt_ms "$q_nl")" "$(fmt_ms "$q_nsp")" - \
			"$rb" "<= 0.85" "$(meets "$rb" 0.85)"
	}
	printf '\nratio = nspawnlite / systemd-nspawn; targets from the issue; floor = unshare of every namespace + chroot.\n'
	printf '"same:" boot->poweroff with the same network on both sides: nspawnlite --network=host against\n'
	printf 'systemd-nspawn (host network), nspawnlite --network=none against systemd-nspawn --private-network.\n'
	printf 'For information, systemd-nspawn --private-network (own netns, as nspawnlite by default):\n'
	printf '  run /bin/true %s ms (ratio %s), boot->poweroff %s ms (ratio %s)\n' \
		"$(fmt_ms "$m_nsp")" "$rp" "$(fmt_ms "$q_nsp")" "$rb"
	if [ "${#p_nl[@]}" -gt 0 ] && [ "${#p_ns[@]}" -gt 0 ]; then
		printf '\nWhere boot->poweroff goes (ms, medians; exec and exit events from tracefs):\n'
		printf '  %-26s %12s %10s %12s %11s %6s\n' "" "before init" guest "after init" "tool's own" boots
		split_row nspawnlite "${p_nl[@]}"
		split_row systemd-nspawn "${p_ns[@]}"
		[ "${#p_nlh[@]}" -eq 0 ] || split_row "nspawnlite --network=host" "${p_nlh[@]}"
		[ "${#p_nsp[@]}" -eq 0 ] || split_row "nspawn --private-network" "${p_nsp[@]}"
		printf "tool's own = before + after: ratio %s. The guest's part is the guest's own boot and poweroff;\n" \
			"$(ratio "$(split_median 4 "${p_nl[@]}")" "$(split_median 4 "${p_ns[@]}")")"
		printf 'with nothing before or after it, the boot->poweroff ratio would be %s (guest under nspawnlite /\n' \
			"$(ratio "$(split_median 2 "${p_nl[@]}")" "$q_ns")"
		printf 'systemd-nspawn total).\n'
	fi
	printf '\nSamples (ms unless noted):\n'
	printf '  run  nspawnlite:     %s\n' "$(list_ms "${t_nl[@]}")"
	printf '  run  systemd-nspawn: %s\n' "$(list_ms "${t_ns[@]}")"
	printf '  run  nspawn privnet: %s\n' "$(list_ms "${t_nsp[@]}")"
	printf '  run  floor:          %s\n' "$(list_ms "${t_floor[@]}")"
	printf '  boot nspawnlite:     %s\n' "$(list_ms "${b_nl[@]}")"
	printf '  boot systemd-nspawn: %s\n' "$(list_ms "${b_ns[@]}")"
	printf '  boot nspawn privnet: %s\n' "$(list_ms "${b_nsp[@]}")"
	printf '  boot nl host net:    %s\n' "$(list_ms "${b_nlh[@]}")"
	printf '  VmHWM KiB nspawnlite: %s; systemd-nspawn: %s\n' "${r_nl[*]}" "${r_ns[*]}"
	printf '  "FAILED" lines on the guest consoles over all counted boots: nspawnlite %s (host net %s), systemd-nspawn %s, privnet %s\n' \
		"${FAILED_UNITS[nspawnlite boot]:-0}" "${FAILED_UNITS[nspawnlite boot --network=host]:-0}" \
		"${FAILED_UNITS[systemd-nspawn -b]:-0}" "${FAILED_UNITS[systemd-nspawn -b --private-network]:-0}"
}

if [ "${1:-}" = --inner ]; then
	shift
	inner_main "$@"
else
	outer_main "$@"
fi
