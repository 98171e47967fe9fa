#!/bin/bash
# bench-cycle.sh: what nspawnlite itself costs per machine (issue 17): the whole boot → poweroff
# cycle of a busybox guest whose init powers off at once, against systemd-nspawn on the same tree
# and the kernel's floor, in one run. A benchmark, not a test: a missed target never fails it; it
# exits non-zero only when a tool fails to run (and 77, skipped, when not root or a tool is missing).
#
# Wall time, fork to reaping, interleaved (A, B, C, A, B, C …), BENCH_CYCLE_N rounds (15), medians:
#   nspawnlite boot --network=none --console=pipe     against  systemd-nspawn --private-network -b
#   nspawnlite boot --network=bridge --console=pipe   against  systemd-nspawn --network-veth -b
#   the floor: unshare -fpmiunC chroot TREE /bin/true
# (a machine booted first keeps the bridge up, so a bridge run adds and removes its own veth only;
# bench-network.sh measures the bridge's own creation). Own part = (cycle - floor) / (nspawn's
# cycle - floor), target <= 0.1; the raw ratio is printed too. Then where the time goes: before
# init, guest, after init (tracefs exec and exit events), and step by step (BENCH_CYCLE_N_STEPS
# more rounds: nspawnlite's debug lines' timestamps, and the time of every system call, from
# tracefs too: the kernel's work in each step).
#
# nspawnlite's runtime dir is on a tmpfs, as /run is on systemd hosts and as systemd-nspawn's
# /run/systemd/nspawn is here; one more row has it on disk, as /run is on the build machines.
#
# Environment: NSPAWNLITE, BENCH_CYCLE_N, BENCH_CYCLE_N_STEPS (3), BENCH_LOG_DIR, TMPDIR. See
# README.md beside this file.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"

N=${BENCH_CYCLE_N:-15}
N_STEPS=${BENCH_CYCLE_N_STEPS:-3}
LIMIT=30 # seconds a single cycle may take before the watchdog stops it
TARGET=0.1

outer_main() {
	bench_checks
	local n
	for n in "$N" "$N_STEPS"; do
		[[ $n =~ ^[0-9]+$ ]] || { msg "BENCH_CYCLE_N* must be integers"; exit 2; }
	done
	[ "$N" -gt 0 ] || { msg "BENCH_CYCLE_N must be positive"; exit 2; }
	local src
	src=$("$TOP/tests/guests/build.sh" busybox | tail -n 1)
	[ -d "$src" ] || { msg "no busybox guest tree"; exit 1; }
	bench_outer_start
	cp -a --reflink=auto -- "$src" "$WORK/tree"
	cp -a --reflink=auto -- "$src" "$WORK/keeper"
	# The guest's init powers off at once: the cycle is the tools' setup and teardown, and the
	# kernel's. (busybox's poweroff -f calls sync() first, under either tool alike.)
	printf '::sysinit:/bin/busybox poweroff -f\n' >"$WORK/tree/etc/inittab"
	bench_run_inner "$WORK" "$SLICE" "$src"
}

# ---------------------------------------------------------------------------------------------
# Inner part (private mount and network namespaces).
# ---------------------------------------------------------------------------------------------

# watchdog, timed, failed, median, the trace_* and split_* helpers: lib.sh.

KEYS=(nl-none ns-priv nl-bridge ns-veth floor nl-disk)
declare -A LABEL=(
	[nl-none]="nspawnlite --network=none"
	[nl-disk]="nspawnlite none, state on disk"
	[ns-priv]="systemd-nspawn --private-network"
	[nl-bridge]="nspawnlite --network=bridge"
	[ns-veth]="systemd-nspawn --network-veth"
	[floor]="floor: unshare + chroot /bin/true"
)

cmd_of() {
	local tree=$WORK/tree
	local -a nl=("$NSPAWNLITE" boot -q -M bench --console=pipe)
	local -a ns=(systemd-nspawn --register=no --keep-unit -q -M bench2 --console=pipe)
	case $1 in
	nl-none) CMD=("${nl[@]}" --network=none "$tree") ;;
	nl-disk) CMD=("$NSPAWNLITE" boot -q -M bench-disk --console=pipe --network=none "$tree") ;;
	nl-bridge) CMD=("${nl[@]}" --network=bridge "$tree") ;;
	ns-priv) CMD=("${ns[@]}" --private-network -b -D "$tree") ;;
	ns-veth) CMD=("${ns[@]}" --network-veth -b -D "$tree") ;;
	floor) CMD=(unshare -fpmiunC chroot "$tree" /bin/true) ;;
	esac
}

# children_cpu_us: user + system time of this shell's reaped children so far (bash's `times`, which
# counts what they reaped in turn: the guest, the tools' helpers), in µs, into CPU_US; no fork.
children_cpu_us() {
	local line u s
	times >"$WORK/times"
	{ read -r _ && read -r u s; } <"$WORK/times"
	CPU_US=0
	for line in "$u" "$s"; do
		[[ $line =~ ^([0-9]+)m([0-9]+)\.([0-9]{3})s$ ]] || continue
		CPU_US=$((CPU_US + (BASH_REMATCH[1] * 60 + 10#${BASH_REMATCH[2]}) * 1000000 + 10#${BASH_REMATCH[3]} * 1000))
	done
}

# run_one KEY LOG [debug]: one timed cycle; fails the bench if the tool failed. Sets T_US and
# T_CPU (its processor time, µs, to the ms). With "debug", nspawnlite prints its debug lines
# (without -q, which would silence them).
run_one() {
	local before
	cmd_of "$1"
	trace_clear
	children_cpu_us
	before=$CPU_US
	if [ "${3:-}" = debug ]; then
		local -a c=()
		local a
		for a in "${CMD[@]}"; do [ "$a" = -q ] || c+=("$a"); done
		NSPAWNLITE_LOG_LEVEL=debug timed "$2" $LIMIT "${c[@]}"
	elif [ "$1" = nl-disk ]; then
		NSPAWNLITE_RUNTIME_DIR=$DISK_RUNTIME timed "$2" $LIMIT "${CMD[@]}"
	else
		timed "$2" $LIMIT "${CMD[@]}"
	fi
	children_cpu_us
	T_CPU=$((CPU_US - before))
	[ "$T_RC" -eq 0 ] || failed "${LABEL[$1]}" "$2"
}

# Steps are the intervals between nspawnlite's debug lines that name them (their prefix, then the
# step's label here, in the order they happen; each line ends the step it names). Their timestamps
# are CLOCK_MONOTONIC, the trace's clock. Lines marked "~" are the supervisor's work while its child
# sets the tree up: not in the chain, each timed from the one before it (the first from the last
# step before the clone).
STEP_TABLE="Launch step: starting machine|start-up: exec, command line, checks
Launch step: name locked|name lock, state directory
Launch step: cgroups made|cgroups made in every hierarchy
Launch step: machine set up|limits, network, control socket, signals
~Launch step: child cloned|  supervisor meanwhile: clone3 returned
~Launch step: network attached|  supervisor meanwhile: veth, registration sent
Launch step: child in its cgroups|child: clone3, v1 cgroups joined, cgroup ns
Launch step: root bound|child: root bound on itself
Launch step: API filesystems mounted|child: /proc /sys /dev /run /tmp mounts
Launch step: /dev populated|child: /dev nodes
Launch step: run/host, console and ttys|child: /run/host, console, ttys
Launch step: pivoted|child: pivot_root
Launch step: hostname, network and console|child: hostname, go, lo and host0, setsid
Launch step: capabilities and seccomp|child: capabilities, seccomp
@init-exec|execve of init
@init-exit|guest: init runs and powers off
Launch step: init ended|after: init reaped
Teardown step: cgroups removed|after: cgroups killed and removed
Teardown step: network released|after: network released
Teardown step: state removed|after: name, state, console removed
@exit|after: exit"

# steps_of PID LOG: "LABEL<TAB>WALL<TAB>SYSCALL_TIME<TAB>SYSCALLS" (µs) for every step of the cycle
# whose tool ran as PID: from the trace (its exec, the exec of init, the exit of init, its exit,
# and every system call of the tool's processes) and the debug lines in LOG. Without debug lines
# (systemd-nspawn), three steps: before init, guest, after init.
steps_of() {
	awk -v p="$1" -v table="$STEP_TABLE" -v logfile="$2" '
	function ts(i) { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) return substr($i, 1, length($i) - 1) * 1e6 }
	function val(k, i) { for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2) }
	function tid(i) { for (i = 1; i <= NF; i++) if ($i ~ /^\[[0-9]+\]$/) { sub(/.*-/, "", $(i - 1)); return $(i - 1) } }
	BEGIN {
		# x86-64 numbers of the calls that wait for something else (another process, a
		# signal, a reply) rather than make the kernel work: read, poll, select, pause,
		# nanosleep, recvfrom, recvmsg, vfork, wait4, flock, rt_sigtimedwait, rt_sigsuspend,
		# futex, epoll_wait, clock_nanosleep, waitid, pselect6, ppoll, epoll_pwait.
		split("0 7 23 34 35 45 47 58 61 73 128 130 202 232 230 247 270 271 281", w, " ")
		for (i in w) waits[w[i]] = 1
		n = split(table, rows, "\n")
		for (i = 1; i <= n; i++) {
			k = index(rows[i], "|"); key[i] = substr(rows[i], 1, k - 1); lab[i] = substr(rows[i], k + 1)
			if (key[i] ~ /^~/) { key[i] = substr(key[i], 2); aside[i] = 1 }
		}
		while ((getline line < logfile) > 0) {
			if (line !~ /^nspawnlite\[[0-9]+\.[0-9]+ /) continue
			t = substr(line, 12) * 1e6
			for (i = 1; i <= n; i++) if (key[i] !~ /^@/ && index(line, key[i]) && !(i in at)) { at[i] = t; debug = 1 }
		}
	}
	/ sched_process_exec: / {
		if (val("pid") == p && !t0) t0 = ts()
		else if (t0 && !t1 && val("filename") ~ /^(\/usr)?(\/lib\/systemd\/systemd|\/sbin\/init)$/) { t1 = ts(); g = val("pid") }
		next
	}
	/ sched_process_exit: / {
		if (t1 && !t2 && val("pid") == g) t2 = ts()
		else if (t2 && val("pid") == p) t3 = ts()
		next
	}
	/ sys_enter: NR / { enter[tid()] = ts(); next }
	/ sys_exit: NR / {
		i = tid(); nr = $(NF - 2) + 0
		if (!(i in enter)) next
		if (!(nr in waits)) { sc_t[++nsc] = ts(); sc_d[nsc] = sc_t[nsc] - enter[i] }
		delete enter[i]
	}
	END {
		if (!t3) exit
		for (i = 1; i <= n; i++) {
			if (key[i] == "@init-exec") at[i] = t1
			else if (key[i] == "@init-exit") at[i] = t2
			else if (key[i] == "@exit") at[i] = t3
			if (!debug && key[i] !~ /^@/) delete at[i]
		}
		for (i = 1; i <= n; i++) if (!debug && key[i] == "@init-exec") lab[i] = "before init"
		for (i = 1; i <= n; i++) if (!debug && key[i] == "@exit") lab[i] = "after init"
		m = 0; prev = t0; aprev = 0
		for (i = 1; i <= n; i++) {
			if (!(i in at)) continue
			m++; e[m] = at[i]; l[m] = lab[i]
			if (i in aside) { s[m] = aprev ? aprev : prev; aprev = at[i]; side[m] = 1 }
			else { s[m] = prev; prev = at[i] }
		}
		# A system call counts in the step of the chain during which it returned.
		for (j = 1; j <= nsc; j++) for (k = 1; k <= m; k++) if (!(k in side) && sc_t[j] > s[k] && sc_t[j] <= e[k]) { sd[k] += sc_d[j]; sn[k]++; break }
		for (k = 1; k <= m; k++)
			if (k in side) printf "%s\t%.0f\t-\t-\n", l[k], e[k] - s[k]
			else printf "%s\t%.0f\t%.0f\t%d\n", l[k], e[k] - s[k], sd[k], sn[k]
	}' "$TRACE/trace"
}

# syscalls_trace setup|on|off: the system calls of this shell's children into the trace
# (raw_syscalls, for the processes forked from here only: set_event_pid with event-fork); "on" and
# "off" around each run, so that the bench's own reading of the trace is not traced.
syscalls_trace() {
	[ -n "$TRACE" ] || return 1
	case $1 in
	setup) { echo $$ >"$TRACE/set_event_pid" && echo 1 >"$TRACE/options/event-fork" &&
		echo 16384 >"$TRACE/buffer_size_kb"; } 2>/dev/null ;;
	on) echo 1 2>/dev/null >"$TRACE/events/raw_syscalls/enable" ;;
	off) echo 0 2>/dev/null >"$TRACE/events/raw_syscalls/enable" || true ;;
	esac
}

# Samples, by key: space-separated µs of wall (S) and processor (C) time; splits (trace_split)
# and steps (steps_of) by key.
declare -A S=() C=() SPLIT=() STEPS=()

inner_main() {
	bench_inner_setup "$1" "$2"
	local src=$3 i key
	# nspawnlite's runtime dir on a tmpfs, as /run is on systemd hosts (and as the bench gives
	# systemd-nspawn's /run/systemd/nspawn); these build machines have /run on disk, where every
	# file the runtime dir gains or loses is a journal entry: the "state on disk" rows measure that.
	DISK_RUNTIME=$NSPAWNLITE_RUNTIME_DIR
	mkdir -p "$WORK/runtime-tmpfs"
	mount -t tmpfs -o mode=0755 nspawnlite-bench "$WORK/runtime-tmpfs"
	export NSPAWNLITE_RUNTIME_DIR=$WORK/runtime-tmpfs
	L=$WORK/logs
	WATCH=$WORK/watch
	: >"$WATCH"
	watchdog &
	local wd=$!
	# shellcheck disable=SC2064 # expand now
	trap "kill $wd 2>/dev/null || true; trace_stop" EXIT
	trace_start

	printf 'nspawnlite cycle bench: %s vs systemd-nspawn, boot -> poweroff of a busybox guest that powers off at once\n' \
		"$("$NSPAWNLITE" --version 2>/dev/null | head -n 1)"
	printf '  tree: copy of %s, /etc/inittab: ::sysinit:/bin/busybox poweroff -f\n' "$src"
	printf '  kernel %s, %s, %s CPUs, load average %s; cgroup: %s\n' "$(uname -r)" \
		"$(systemd-nspawn --version | head -n 1)" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" \
		"$( [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && echo unified || echo 'v1 hybrid')"
	printf '  %s rounds, interleaved, after a warm-up run of each command; a machine keeps the bridge up\n' "$N"
	printf '  /run here: %s\n\n' "$(stat -f -c %T /run)"

	msg "booting the machine that keeps the bridge up"
	timed "$L/keeper-boot.log" $LIMIT "$NSPAWNLITE" boot -q -d --wait-ready --network=bridge -M keeper "$WORK/keeper"
	[ "$T_RC" -eq 0 ] || failed "nspawnlite boot -d --network=bridge (the machine keeping the bridge up)" "$L/keeper-boot.log"

	msg "warm-up"
	for key in "${KEYS[@]}"; do run_one "$key" "$L/warm-$key.log"; done
	msg "$N rounds"
	for ((i = 1; i <= N; i++)); do
		for key in "${KEYS[@]}"; do
			run_one "$key" "$L/$key-$i.log"
			S[$key]+="$T_US "
			C[$key]+="$T_CPU "
			[ "$key" = floor ] || SPLIT[$key]+="$(trace_split "$T_PID") "$'\n'
		done
	done

	# Where the time goes, step by step: more rounds with nspawnlite's debug lines and every system
	# call in the trace (both cost a little themselves: these rounds are not counted above).
	if [ "$N_STEPS" -gt 0 ] && syscalls_trace setup; then
		msg "$N_STEPS rounds with debug lines and system calls traced"
		for ((i = 1; i <= N_STEPS; i++)); do
			for key in nl-none ns-priv nl-bridge ns-veth; do
				syscalls_trace on
				run_one "$key" "$L/steps-$key-$i.log" debug
				syscalls_trace off
				STEPS[$key]+=$(steps_of "$T_PID" "$L/steps-$key-$i.log")$'\n'
			done
		done
		: 2>/dev/null >"$TRACE/set_event_pid" || true
	fi

	timed "$L/keeper-poweroff.log" $LIMIT "$NSPAWNLITE" poweroff keeper
	[ "$T_RC" -eq 0 ] || failed "nspawnlite poweroff keeper" "$L/keeper-poweroff.log"

	report
}

med_of() {
	# shellcheck disable=SC2086 # one sample a word
	median ${S[$1]}
}
# own X NSPAWN FLOOR: (X - FLOOR) / (NSPAWN - FLOOR)
own() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { if (b - f > 0) printf "%.3f", (a - f) / (b - f); else print "n/a" }'; }

# step_rows KEY KEY: one line per step, the medians of its wall time, system call time and count
# under each of the two keys.
step_rows() {
	{
		printf '%s' "${STEPS[$1]}" | sed '/^$/d; s/^/a\t/'
		printf '%s' "${STEPS[$2]}" | sed '/^$/d; s/^/b\t/'
	} | awk -F'\t' '
	{ if (!($2 in seen)) { seen[$2] = ++n; name[n] = $2 } for (c = 3; c <= 5; c++) v[$1, $2, c] = v[$1, $2, c] " " $c }
	function med(s, scale, a, k, i, j, t) {
		k = split(s, a, " "); if (!k || a[1] == "-") return "-"
		for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return sprintf(scale == 1 ? "%.0f" : "%.2f", (k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2) / scale)
	}
	END {
		for (i = 1; i <= n; i++) printf "  %-44s %7s %7s %6s  %7s %7s %6s\n", name[i],
			med(v["a", name[i], 3], 1000), med(v["a", name[i], 4], 1000), med(v["a", name[i], 5], 1),
			med(v["b", name[i], 3], 1000), med(v["b", name[i], 4], 1000), med(v["b", name[i], 5], 1)
	}'
}

report() {
	local -A M=()
	local key nl ns o r fmt
	local -A MC=()
	for key in "${KEYS[@]}"; do
		M[$key]=$(med_of "$key")
		# shellcheck disable=SC2086 # one sample a word
		MC[$key]=$(median ${C[$key]})
	done
	fmt='%-40s %10s %14s %7s %9s %9s %8s  %s\n'
	# shellcheck disable=SC2059 # the format is ours
	{
		printf "$fmt" "boot -> poweroff (ms, median)" nspawnlite systemd-nspawn floor "raw ratio" "own part" target result
		for nl in nl-none nl-bridge; do
			ns="ns-veth"
			[ "$nl" != nl-none ] || ns="ns-priv"
			o=$(own "${M[$nl]}" "${M[$ns]}" "${M[floor]}")
			r=$(ratio "${M[$nl]}" "${M[$ns]}")
			printf "$fmt" "${LABEL[$nl]#nspawnlite } / ${LABEL[$ns]#systemd-nspawn }" "$(fmt_ms "${M[$nl]}")" \
				"$(fmt_ms "${M[$ns]}")" "$(fmt_ms "${M[floor]}")" "$r" "$o" "<= $TARGET" "$(meets "$o" "$TARGET")"
			printf "$fmt" "  processor time, user + system" "$(fmt_ms "${MC[$nl]}")" "$(fmt_ms "${MC[$ns]}")" \
				"$(fmt_ms "${MC[floor]}")" "$(ratio "${MC[$nl]}" "${MC[$ns]}")" \
				"$(own "${MC[$nl]}" "${MC[$ns]}" "${MC[floor]}")" - ""
		done
	}
	o=$(own "${M[nl-disk]}" "${M[ns-priv]}" "${M[floor]}")
	# shellcheck disable=SC2059 # the format is ours
	printf "$fmt" "--network=none, state on disk" "$(fmt_ms "${M[nl-disk]}")" "$(fmt_ms "${M[ns-priv]}")" \
		"$(fmt_ms "${M[floor]}")" "$(ratio "${M[nl-disk]}" "${M[ns-priv]}")" "$o" "<= $TARGET" "$(meets "$o" "$TARGET")"
	printf '\nnspawnlite'"'"'s runtime dir (its state, lock, control socket) is on a tmpfs, as /run is on systemd hosts\n'
	printf 'and as systemd-nspawn'"'"'s /run/systemd/nspawn is here; "state on disk": in %s, as /run is on these\n' "${DISK_RUNTIME%/*}"
	printf 'build machines (each file it makes or removes there is a journal entry of the disk'"'"'s file system).\n'
	printf '\nown part = (cycle - floor) / (systemd-nspawn'"'"'s cycle - floor); raw ratio = cycle / systemd-nspawn'"'"'s.\n'
	printf 'floor = unshare -fpmiunC chroot TREE /bin/true: what the kernel alone costs for the namespaces and an exec.\n'
	printf 'processor time: of the tool and all it reaped (the guest too), to the ms; it leaves out waits (RCU grace\n'
	printf 'periods, the disk) and other jobs'"'"' load, which the wall times count.\n'

	if [ -n "${SPLIT[nl-none]:-}" ]; then
		printf '\nWhere the cycle goes (ms, medians; exec and exit events from tracefs):\n'
		printf '  %-36s %12s %10s %12s %11s %6s\n' "" "before init" guest "after init" "tool's own" runs
		for key in nl-none ns-priv nl-bridge ns-veth; do
			local -a sp=()
			mapfile -t sp < <(printf '%s' "${SPLIT[$key]}" | sed '/^ *$/d')
			[ "${#sp[@]}" -gt 0 ] || continue
			printf '  %-36s %12s %10s %12s %11s %6s\n' "${LABEL[$key]}" "$(fmt_ms "$(split_median 1 "${sp[@]}")")" \
				"$(fmt_ms "$(split_median 2 "${sp[@]}")")" "$(fmt_ms "$(split_median 3 "${sp[@]}")")" \
				"$(fmt_ms "$(split_median 4 "${sp[@]}")")" "${#sp[@]}"
		done
	fi

	if [ -n "${STEPS[nl-none]:-}" ]; then
		printf '\nStep by step (ms, medians of %s more runs with debug lines and system calls traced): wall time,\n' "$N_STEPS"
		printf 'and of it the time in system calls (all processes of the tool: the kernel'"'"'s work) and their count:\n'
		printf '  %-44s %22s  %22s\n' "" "--network=none" "--network=bridge"
		printf '  %-44s %7s %7s %6s  %7s %7s %6s\n' "" wall kernel calls wall kernel calls
		step_rows nl-none nl-bridge
		printf '  %-44s %22s  %22s\n' "systemd-nspawn" "--private-network" "--network-veth"
		step_rows ns-priv ns-veth
	fi

	printf '\nSamples (ms):\n'
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
