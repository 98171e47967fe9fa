#!/bin/bash
# bench-systemd-host.sh: `nspawnlite run /bin/true` against `systemd-nspawn … /bin/true` on a host
# where systemd is PID 1 and systemd-machined runs: inside a Debian guest of nspawnlite's own (the
# debian-machined tree, booted as tests/integration/test-systemd-host.sh does), in one run.
# A benchmark, not a test: a missed target never fails it; it exits non-zero only when a tool fails
# to run (and 77, skipped, when not root).
#
# Inside that guest, BENCH_N_RUN rounds (15), interleaved, on a copy of the busybox tree:
#   registered:    nspawnlite run (registers with machined by default there) against systemd-nspawn's
#                  default (a transient scope through machined, registered);
#   not registered: both with --register=no (nspawn then still makes a transient scope, as
#                  nspawnlite does: neither uses --keep-unit);
#   floor:         unshare of every namespace + chroot TREE /bin/true.
# nspawnlite runs with --network=none (its own netns, which the floor has too), systemd-nspawn with
# its default (the host's network). Prints medians, the raw ratio and the own-part ratio
# (x - floor) / (nspawn - floor).
#
# Environment: NSPAWNLITE (binary, default build/nspawnlite), BENCH_N_RUN, TMPDIR.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"

N_RUN=${BENCH_N_RUN:-15}
RUN_LIMIT=30 # seconds a single run may take before the watchdog stops it
HOST=sdbench # the machine that is the systemd host

# ---------------------------------------------------------------------------------------------
# Outer part (on this host): the guest trees, then the inner part in private namespaces.
# ---------------------------------------------------------------------------------------------
outer_main() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	command -v unshare >/dev/null || skip "needs unshare (util-linux)"
	command -v ip >/dev/null || skip "needs ip (iproute2)"
	[ -x "$NSPAWNLITE" ] || {
		msg "$NSPAWNLITE is not built (ninja -C build)"
		exit 1
	}
	local host bb
	host=$("$TOP/tests/guests/build.sh" debian-machined | tail -n 1) || host=
	[ -d "$host" ] || { msg "no debian-machined guest tree (tests/guests/build.sh debian-machined)"; exit 1; }
	bb=$("$TOP/tests/guests/build.sh" busybox | tail -n 1) || bb=
	[ -d "$bb" ] || { msg "no busybox guest tree (tests/guests/build.sh busybox)"; exit 1; }
	bench_outer_start
	bench_run_inner "$WORK" "$SLICE" "$host" "$bb"
}

# ---------------------------------------------------------------------------------------------
# Inner part (private mount and network namespaces): boot the systemd host, run the guest part in
# it, terminate it. bench_outer_cleanup kills whatever is left under the private cgroup parent.
# ---------------------------------------------------------------------------------------------
inner_main() {
	bench_inner_setup "$1" "$2"
	local host=$3 bb=$4 libdir bin rc=0
	# The minbase guest lacks libc's neighbours the binary may dlopen (libsystemd is in it, the
	# rest is not): the host's library directory, as in test-systemd-host.sh.
	libdir=$(dirname "$(ldd "$NSPAWNLITE" | awk '/libc\.so/ { print $3 }')")
	bin=$(dirname -- "$(readlink -f -- "$NSPAWNLITE")")
	"$NSPAWNLITE" boot -d --wait-ready --timeout=60 -M "$HOST" --ephemeral --network=none \
		--bind-ro="$bin:/nl" --bind-ro="$libdir:/hostlib" --bind-ro="$bb:/bb" \
		--bind-ro="$(dirname -- "$(readlink -f -- "$0")"):/bench" "$host" \
		</dev/null >"$WORK/logs/boot-$HOST.log" 2>&1 || {
		T_RC=$?
		failed "nspawnlite boot of the systemd host" "$WORK/logs/boot-$HOST.log"
	}
	# Bounded, to keep within run-all.sh's budget (about 15 s on an idle machine).
	timeout 100 "$NSPAWNLITE" shell "$HOST" -- /bin/bash /bench/"$ME" --guest \
		"/nl/$(basename -- "$NSPAWNLITE")" "$N_RUN" </dev/null || rc=$?
	[ "$rc" -ne 124 ] || msg "FAILED: the rounds inside $HOST took more than 100 s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
	timeout 60 "$NSPAWNLITE" terminate "$HOST" >/dev/null 2>&1 || msg "warning: could not terminate $HOST"
	exit "$rc"
}

# ---------------------------------------------------------------------------------------------
# Guest part (inside the systemd host, in its init.scope): the rounds.
# ---------------------------------------------------------------------------------------------
guest_main() {
	NSPAWNLITE=$1 N_RUN=$2
	export LD_LIBRARY_PATH=/hostlib
	# systemd-nspawn gives a tree without systemd the legacy cgroup layout, whose tmpfs the
	# outer guest may not remount: the guest sees cgroup2, as under nspawnlite.
	export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
	systemctl is-system-running --wait >/dev/null 2>&1 || true
	WORK=$(mktemp -d /var/tmp/bench.XXXXXX)
	local tree=$WORK/tree i L=$WORK/logs
	mkdir -p "$L"
	cp -a /bb "$tree"
	mkfifo "$WORK/sleep.fifo"
	exec {SLEEP_FD}<>"$WORK/sleep.fifo"
	WATCH=$WORK/watch
	: >"$WATCH"
	watchdog &
	local wd=$!
	# shellcheck disable=SC2064 # expand now
	trap "kill $wd 2>/dev/null || true" EXIT

	local -a NL_REG=("$NSPAWNLITE" run -q -M nlbench --network=none --console=pipe "$tree" /bin/true)
	local -a NS_REG=(systemd-nspawn -q -M nsbench --console=pipe -D "$tree" /bin/true)
	local -a NL_NOREG=("$NSPAWNLITE" run -q -M nlnoreg --register=no --network=none --console=pipe "$tree" /bin/true)
	local -a NS_NOREG=(systemd-nspawn -q -M nsnoreg --register=no --console=pipe -D "$tree" /bin/true)
	local -a FLOOR=(unshare --mount --pid --fork --uts --ipc --net --cgroup chroot "$tree" /bin/true)
	# (A name of its own for each: systemd removes a scope a moment after its machine ended, and a
	# new one of that name waits for that.)

	printf 'nspawnlite bench: %s vs systemd-nspawn, nested in a Debian guest with systemd and machined\n' \
		"$("$NSPAWNLITE" --version 2>/dev/null | head -n 1)"
	printf '  kernel %s, %s, %s CPUs, load %s; rounds: %s (interleaved, after one warm-up round)\n\n' \
		"$(uname -r)" "$(systemd-nspawn --version | head -n 1)" "$(nproc)" \
		"$(cut -d' ' -f1-3 /proc/loadavg)" "$N_RUN"

	# Warm-up, and proof that the registered runs register: a longer run of each tool is in
	# machined's list while it runs.
	local what
	for what in NL_REG NS_REG NL_NOREG NS_NOREG FLOOR; do
		warm_up "$what"
	done
	check_registered nlbench "${NL_REG[@]/%\/bin\/true/\/bin\/sleep}"
	check_registered nsbench "${NS_REG[@]/%\/bin\/true/\/bin\/sleep}"

	local -a t_nlr=() t_nsr=() t_nln=() t_nsn=() t_floor=()
	for ((i = 1; i <= N_RUN; i++)); do
		timed "$L/nlr-$i.log" $RUN_LIMIT "${NL_REG[@]}"
		[ "$T_RC" -eq 0 ] || failed "nspawnlite run /bin/true" "$L/nlr-$i.log"
		t_nlr+=("$T_US")
		timed "$L/nsr-$i.log" $RUN_LIMIT "${NS_REG[@]}"
		[ "$T_RC" -eq 0 ] || failed "systemd-nspawn /bin/true" "$L/nsr-$i.log"
		t_nsr+=("$T_US")
		timed "$L/floor-$i.log" $RUN_LIMIT "${FLOOR[@]}"
		[ "$T_RC" -eq 0 ] || failed "unshare + chroot /bin/true" "$L/floor-$i.log"
		t_floor+=("$T_US")
		timed "$L/nln-$i.log" $RUN_LIMIT "${NL_NOREG[@]}"
		[ "$T_RC" -eq 0 ] || failed "nspawnlite run --register=no /bin/true" "$L/nln-$i.log"
		t_nln+=("$T_US")
		timed "$L/nsn-$i.log" $RUN_LIMIT "${NS_NOREG[@]}"
		[ "$T_RC" -eq 0 ] || failed "systemd-nspawn --register=no /bin/true" "$L/nsn-$i.log"
		t_nsn+=("$T_US")
	done

	local m_nlr m_nsr m_nln m_nsn m_floor
	m_nlr=$(median "${t_nlr[@]}") m_nsr=$(median "${t_nsr[@]}") m_floor=$(median "${t_floor[@]}")
	m_nln=$(median "${t_nln[@]}") m_nsn=$(median "${t_nsn[@]}")
	local rr rn or on
	rr=$(ratio "$m_nlr" "$m_nsr") rn=$(ratio "$m_nln" "$m_nsn")
	or=$(ratio "$((m_nlr - m_floor))" "$((m_nsr - m_floor))")
	on=$(ratio "$((m_nln - m_floor))" "$((m_nsn - m_floor))")
	local fmt='%-30s %11s %15s %7s %7s %9s %8s  %s\n'
	# shellcheck disable=SC2059 # the format is ours
	{
		printf "$fmt" "run /bin/true (ms, median)" nspawnlite systemd-nspawn floor ratio own-part target result
		printf "$fmt" "registered with machined" "$(fmt_ms "$m_nlr")" "$(fmt_ms "$m_nsr")" "$(fmt_ms "$m_floor")" \
			"$rr" "$or" "<= 0.25" "$(meets "$rr" 0.25)"
		printf "$fmt" "--register=no (both a scope)" "$(fmt_ms "$m_nln")" "$(fmt_ms "$m_nsn")" "$(fmt_ms "$m_floor")" \
			"$rn" "$on" - -
	}
	printf '\nratio = nspawnlite / systemd-nspawn; own-part = (nspawnlite - floor) / (systemd-nspawn - floor);\n'
	printf 'floor = unshare of every namespace + chroot. nspawnlite --network=none, systemd-nspawn its default\n'
	printf '(host network); both make the transient unit machine-NAME.scope through systemd.\n'
	printf '\nSamples (ms):\n'
	printf '  registered nspawnlite:     %s\n' "$(list_ms "${t_nlr[@]}")"
	printf '  registered systemd-nspawn: %s\n' "$(list_ms "${t_nsr[@]}")"
	printf '  no-reg nspawnlite:         %s\n' "$(list_ms "${t_nln[@]}")"
	printf '  no-reg systemd-nspawn:     %s\n' "$(list_ms "${t_nsn[@]}")"
	printf '  floor:                     %s\n' "$(list_ms "${t_floor[@]}")"
	rm -rf -- "$WORK"
}

# warm_up ARRAY: one run of the command in the array named ARRAY, not counted.
warm_up() {
	local -n cmd=$1
	timed "$WORK/logs/warm-$1.log" $RUN_LIMIT "${cmd[@]}"
	[ "$T_RC" -eq 0 ] || failed "${cmd[*]}" "$WORK/logs/warm-$1.log"
}

# check_registered NAME CMD…: CMD (a run of `/bin/sleep`, given 2 s to sleep) shows up in
# machined's list as NAME while it runs.
check_registered() {
	local name=$1 i seen=
	shift
	"$@" 2 </dev/null >"$WORK/logs/reg-$name.log" 2>&1 &
	local pid=$!
	for ((i = 0; i < 40; i++)); do
		machinectl show "$name" -p Name --value >/dev/null 2>&1 && { seen=1; break; }
		nap 0.05
	done
	wait "$pid" || true
	[ -n "$seen" ] || {
		T_RC="0, but machinectl never listed $name"
		failed "$* (registration)" "$WORK/logs/reg-$name.log"
	}
}

case ${1:-} in
--inner)
	shift
	inner_main "$@"
	;;
--guest)
	shift
	guest_main "$@"
	;;
*) outer_main "$@" ;;
esac
