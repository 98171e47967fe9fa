#!/bin/bash
# lib.sh: helpers shared by the benchmarks of this directory. Sourced, never
# run. The caller sets `set -euo pipefail` first.
#
# The scripts have two parts: an outer part (checks, temporary directory, the trap that removes
# everything) and an inner part that the outer one runs in private mount and network namespaces
# (`unshare --mount --net --propagation private`), with a private NSPAWNLITE_RUNTIME_DIR and
# NSPAWNLITE_CGROUP_PARENT. bench-boot.sh passes --mount-only to bench_checks, bench_run_inner and
# bench_inner_setup: its inner part has a private mount namespace only (the host's network, so no
# `ip` is needed), and its shell moves only into the hierarchies systemd-nspawn --keep-unit works
# in (the v1 controllers are left alone).
export LC_ALL=C

TOP=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
NSPAWNLITE=${NSPAWNLITE:-$TOP/build/nspawnlite}
ME=${0##*/}

msg() { printf '%s: %s\n' "$ME" "$*" >&2; }
skip() {
	printf 'SKIP: %s: %s\n' "$ME" "$*"
	exit 77
}

# Every cgroup hierarchy mounted under /sys/fs/cgroup (v1 controllers, name=systemd, cgroup2).
cgroup_roots() {
	local d
	for d in /sys/fs/cgroup /sys/fs/cgroup/*; do
		{ [ -d "$d" ] && [ ! -L "$d" ]; } || continue
		case $(stat -f -c %T "$d") in
		cgroup2fs | cgroupfs) printf '%s\n' "$d" ;;
		esac
	done
}

# The hierarchies systemd-nspawn --keep-unit works in: the cgroup2 one, and name=systemd on a
# hybrid host. One a line.
nspawn_cgroup_roots() {
	local root
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
		printf '%s\n' /sys/fs/cgroup
		return
	fi
	for root in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do
		case $(stat -f -c %T "$root" 2>/dev/null) in
		cgroup2fs | cgroupfs) printf '%s\n' "$root" ;;
		esac
	done
}

# bench_checks [--mount-only]: what every bench needs (skips with 77 otherwise); with --mount-only
# (bench-boot.sh), neither ip nor bash 5.1.
# shellcheck disable=SC2120 # the argument is optional
bench_checks() {
	local mount_only=
	[ "${1:-}" != --mount-only ] || mount_only=1
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	command -v systemd-nspawn >/dev/null || skip "needs systemd-nspawn (Debian package systemd-container)"
	command -v unshare >/dev/null || skip "needs unshare (util-linux)"
	[ -n "$mount_only" ] || command -v ip >/dev/null || skip "needs ip (iproute2)"
	[ -n "${EPOCHREALTIME:-}" ] || skip "needs bash 5 (EPOCHREALTIME)"
	[ -n "$mount_only" ] || ((BASH_VERSINFO[0] > 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] >= 1))) ||
		skip "needs bash 5.1 (wait -n -p)"
	[ -x "$NSPAWNLITE" ] || {
		msg "$NSPAWNLITE is not built (ninja -C build)"
		exit 1
	}
	if [ -n "$(find "$TOP/nspawnlite" "$TOP/machines" "$TOP/network" -name '*.[ch]' -newer "$NSPAWNLITE" 2>/dev/null | head -n 1)" ]; then
		msg "warning: $NSPAWNLITE is older than its sources (ninja -C build)"
	fi
}

# bench_outer_cleanup: the outer trap. Copies the logs if asked, kills whatever is left in the
# private cgroup parent (only processes the bench started can be there: nspawnlite's detached
# supervisors and systemd-nspawn included), removes that parent in every hierarchy, and the
# temporary directory.
bench_outer_cleanup() {
	local rc=$? i pids root
	trap - EXIT INT TERM HUP
	# The inner part first (it may not have moved into the cgroup parent yet).
	if [ -n "${INNER:-}" ]; then
		kill -KILL "$INNER" 2>/dev/null || true
		{ wait "$INNER"; } 2>/dev/null || true
	fi
	if [ -n "${BENCH_LOG_DIR:-}" ] && [ -d "${WORK:-}/logs" ]; then
		{ mkdir -p -- "$BENCH_LOG_DIR" && cp -a -- "$WORK/logs/." "$BENCH_LOG_DIR/"; } || true
	fi
	if [ -n "${SLICE:-}" ]; then
		# A supervisor killed in the middle of its v1 kill (freeze, SIGKILL, thaw) leaves its
		# machine frozen, and a frozen task does not die of SIGKILL there: thaw first.
		find "/sys/fs/cgroup/freezer/$SLICE" -name freezer.state 2>/dev/null |
			while read -r f; do echo THAWED >"$f"; done 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			pids=$(for root in $(cgroup_roots); do
				[ -d "$root/$SLICE" ] || continue
				find "$root/$SLICE" -name cgroup.procs -exec cat {} + 2>/dev/null
			done | sort -un)
			[ -n "$pids" ] || break
			# shellcheck disable=SC2086 # one PID a word
			kill -KILL $pids 2>/dev/null || true
			sleep 0.1
		done
		for root in $(cgroup_roots); do
			[ -d "$root/$SLICE" ] || continue
			find "$root/$SLICE" -depth -type d -exec rmdir {} + 2>/dev/null || true
			[ ! -d "$root/$SLICE" ] || msg "warning: could not remove $root/$SLICE"
		done
	fi
	if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
		# Mounts made by the inner part died with its mount namespace; these are plain dirs here.
		rm -rf --one-file-system -- "$WORK" || msg "warning: could not remove $WORK"
	fi
	exit "$rc"
}

# bench_outer_start: sets SLICE and WORK and the traps.
bench_outer_start() {
	SLICE=nspawnlite-bench-$$.slice
	trap bench_outer_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/nspawnlite-bench.XXXXXX")
	mkdir -p "$WORK/logs"
}

# bench_run_inner [--mount-only] ARGS…: runs this script again with --inner ARGS… in private mount
# and network namespaces (--mount-only: a private mount namespace only), in the background so that
# a signal to the outer part is handled at once (its trap then kills the inner part and everything
# under the cgroup parent); exits with its status.
bench_run_inner() {
	local rc=0 namespaces=(--mount --net)
	[ "${1:-}" != --mount-only ] || { namespaces=(--mount); shift; }
	unshare "${namespaces[@]}" --propagation private -- "$BASH" "$(readlink -f -- "$0")" --inner "$@" &
	INNER=$!
	wait "$INNER" || rc=$?
	INNER=
	exit "$rc"
}

# bench_inner_setup [--mount-only] WORK SLICE: in the private namespaces. lo up; a private tmpfs
# on /run/systemd/nspawn (on disk on these hosts: nothing of systemd-nspawn's is left); the shell
# into SLICE/host.scope, so that what systemd-nspawn --keep-unit makes beside its own cgroup lands
# under the private parent, and so that the processes the bench starts share, under the v1 cpu
# controller, the same parent as nspawnlite's machines rather than weighing each as much as that
# parent from the root cgroup (memory is left alone: the shell stays where it was accounted, and
# cpuset, whose new cgroups have no CPUs); the private runtime dir and cgroup parent; SLEEP_FD, a
# FIFO nobody writes, for sleeps without a fork (read -t). With --mount-only (no network namespace
# of its own), lo is left alone and the shell moves only in nspawn_cgroup_roots (no v1 controller).
bench_inner_setup() {
	local root roots=cgroup_roots
	if [ "${1:-}" = --mount-only ]; then
		roots=nspawn_cgroup_roots
		shift
	fi
	WORK=$1 SLICE=$2
	[ "$roots" = nspawn_cgroup_roots ] || ip link set lo up
	mkdir -p /run/systemd/nspawn
	mount -t tmpfs -o mode=0755 nspawnlite-bench /run/systemd/nspawn
	for root in $($roots); do
		case $root in
		/sys/fs/cgroup/memory | /sys/fs/cgroup/cpuset) continue ;;
		esac
		mkdir -p "$root/$SLICE/host.scope"
		echo $$ >"$root/$SLICE/host.scope/cgroup.procs"
	done
	export NSPAWNLITE_RUNTIME_DIR=$WORK/runtime NSPAWNLITE_CGROUP_PARENT=$SLICE
	export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 # the guest sees cgroup2 only, as with nspawnlite
	mkdir -p "$NSPAWNLITE_RUNTIME_DIR" "$WORK/logs"
	mkfifo "$WORK/sleep.fifo"
	exec {SLEEP_FD}<>"$WORK/sleep.fifo"
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
}

# nap SECONDS: sleep without forking.
nap() { read -rt "$1" -u "$SLEEP_FD" _ || true; }

# The watchdog: stops the tool named in $WATCH ("PID DEADLINE") with SIGTERM at its deadline and
# SIGKILL 5 s later. One process for the whole bench, started (`watchdog &`) before anything is
# timed, so that no fork of a per-run watchdog falls inside a measured interval.
watchdog() {
	local pid deadline
	trap - EXIT
	while :; do
		nap 1
		[ -s "$WATCH" ] || continue
		read -r pid deadline <"$WATCH" || continue
		{ [ -n "${pid:-}" ] && [ -n "${deadline:-}" ]; } || continue
		if ((EPOCHSECONDS >= deadline + 5)); then
			kill -KILL "$pid" 2>/dev/null || true
		elif ((EPOCHSECONDS >= deadline)); then
			kill -TERM "$pid" 2>/dev/null || true
		fi
	done
}

# timed LOG LIMIT CMD…: runs CMD (stdin /dev/null, stdout and stderr to LOG) under the watchdog;
# sets T_US (wall time in µs, fork to reaping, as hyperfine measures it), T_RC and T_PID (the
# tool's process).
timed() {
	local log=$1 limit=$2 pid s e
	shift 2
	s=${EPOCHREALTIME/./}
	"$@" </dev/null >"$log" 2>&1 {SLEEP_FD}>&- &
	pid=$!
	printf '%s %s\n' "$pid" "$((EPOCHSECONDS + limit))" >"$WATCH"
	T_RC=0
	wait "$pid" || T_RC=$?
	e=${EPOCHREALTIME/./}
	: >"$WATCH"
	# shellcheck disable=SC2034 # for the caller
	T_US=$((e - s)) T_PID=$pid
}

# alive PID: the process exists and is not a zombie.
alive() {
	local key val state=
	{ while read -r key val _; do
		[ "$key" != State: ] || { state=$val; break; }
	done <"/proc/$1/status"; } 2>/dev/null || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# proc_kib PID KEY: a "KEY: N kB" line of /proc/PID/status (VmRSS, VmHWM…); empty if gone.
proc_kib() {
	local key val
	{ while read -r key val _; do
		[ "$key" != "$2:" ] || { printf '%s' "$val"; return 0; }
	done <"/proc/$1/status"; } 2>/dev/null || true
}

# pss_kib PID: proportional set size (KiB) from /proc/PID/smaps_rollup; empty if gone.
pss_kib() {
	local key val
	{ while read -r key val _; do
		[ "$key" != Pss: ] || { printf '%s' "$val"; return 0; }
	done <"/proc/$1/smaps_rollup"; } 2>/dev/null || true
}

mem_available_kib() { awk '$1 == "MemAvailable:" { print $2 }' /proc/meminfo; }

# cgroup_mem_bytes CGROUP: memory charged to the cgroup (v1 memory.usage_in_bytes, or v2
# memory.current); empty when neither can be read.
cgroup_mem_bytes() {
	local f
	for f in "/sys/fs/cgroup/memory/$1/memory.usage_in_bytes" "/sys/fs/cgroup/$1/memory.current"; do
		[ -r "$f" ] || continue
		cat -- "$f" 2>/dev/null && return 0
	done
	return 0
}

median() {
	[ "$#" -gt 0 ] || { echo -; return; }
	printf '%s\n' "$@" | sort -n |
		awk '{ a[NR] = $1 } END { printf "%.0f\n", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
max() {
	[ "$#" -gt 0 ] || { echo -; return; }
	printf '%s\n' "$@" | sort -n | tail -n 1
}

# fmt_ms MICROSECONDS, fmt_s MICROSECONDS ("-" stays "-")
fmt_ms() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else printf "%.1f", v / 1000 }'; }
fmt_s() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else printf "%.2f", v / 1000000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && a >= 0 && b > 0) printf "%.3f", a / b; else print "n/a" }'; }
# meets VALUE TARGET: "met" when VALUE (a ratio or a figure; "n/a" or "-" when there is none) is at
# most TARGET, else "MISSED".
meets() { awk -v v="$1" -v t="$2" 'BEGIN { print (v != "n/a" && v != "-" && v <= t) ? "met" : "MISSED" }'; }
list_ms() {
	local v out=
	for v in "$@"; do out+=" $(fmt_ms "$v")"; done
	printf '%s' "${out# }"
}

# log_tail FILE: the end of a tool's output, indented, escape sequences removed.
log_tail() {
	sed 's/\x1b\[[0-9;]*[a-zA-Z]//g' -- "$1" 2>/dev/null | tail -n "${2:-15}" | sed 's/^/    | /' >&2
}

# failed WHAT LOG: reports a tool that did not run as it should (status $T_RC), with the end of its
# output, and exits 1.
failed() {
	msg "FAILED: $1 (exit status $T_RC); last lines of its output ($2):"
	log_tail "$2" 25
	exit 1
}

# Where a boot's wall time goes (bench-boot.sh, bench-cycle.sh). A tracefs instance of the bench's
# own records the exec and the exit of every process (sched_process_exec and sched_process_exit,
# monotonic clock); for a boot, "before" is the tool's exec to the guest init's exec, "guest" that
# to the exit of the same process (the guest's PID 1), "after" that to the tool's exit.
# Without tracefs (or its instances), TRACE stays empty and the split is left out.
TRACE=
trace_start() {
	local t=/sys/kernel/tracing e
	[ -d "$t/instances" ] || mount -t tracefs nspawnlite-bench "$t" 2>/dev/null || return 0
	mkdir -- "$t/instances/nspawnlite-bench-$$" 2>/dev/null || return 0
	TRACE=$t/instances/nspawnlite-bench-$$
	{ echo mono >"$TRACE/trace_clock" &&
		for e in sched_process_exec sched_process_exit; do echo 1 >"$TRACE/events/sched/$e/enable"; done; } 2>/dev/null ||
		trace_stop
}
trace_stop() {
	[ -z "$TRACE" ] || rmdir -- "$TRACE" 2>/dev/null || true
	TRACE=
}

# trace_marks PID: "EXEC INIT_EXEC INIT_EXIT EXIT" (µs, monotonic clock) of the boot whose tool ran
# as PID, from the events recorded since trace_clear; nothing if one of the four is missing.
trace_marks() {
	[ -n "$TRACE" ] || return 0
	awk -v p="$1" '
	function ts(i) { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) return substr($i, 1, length($i) - 1) * 1e6 }
	function val(k, i) { for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2) }
	/ sched_process_exec: / {
		if (val("pid") == p && !t0) t0 = ts()
		else if (t0 && !t1 && val("filename") ~ /^(\/usr)?(\/lib\/systemd\/systemd|\/sbin\/init)$/) { t1 = ts(); g = val("pid") }
	}
	/ sched_process_exit: / {
		if (t1 && !t2 && val("pid") == g) t2 = ts()
		else if (t2 && val("pid") == p) t3 = ts()
	}
	END { if (t3) printf "%.0f %.0f %.0f %.0f\n", t0, t1, t2, t3 }
	' "$TRACE/trace"
}

# trace_split PID: "BEFORE GUEST AFTER" (µs) of the same boot.
trace_split() {
	local t0 t1 t2 t3
	read -r t0 t1 t2 t3 < <(trace_marks "$1") || return 0
	printf '%s %s %s\n' "$((t1 - t0))" "$((t2 - t1))" "$((t3 - t2))"
}

# trace_clear: empties the trace before a timed run.
trace_clear() {
	[ -z "$TRACE" ] || : 2>/dev/null >"$TRACE/trace" || true
}

# split_add NAME: appends the split of the boot just timed (T_PID) to the array NAME.
split_add() {
	local -n arr=$1
	local v
	v=$(trace_split "$T_PID" 2>/dev/null) || v=
	[ -z "$v" ] || arr+=("$v")
}

# split_median N SPLIT…: the median of part N (1 before, 2 guest, 3 after, 4 before + after).
split_median() {
	local n=$1 v x y z out=()
	shift
	for v in "$@"; do
		read -r x y z <<<"$v"
		case $n in 1) out+=("$x") ;; 2) out+=("$y") ;; 3) out+=("$z") ;; 4) out+=("$((x + z))") ;; esac
	done
	median "${out[@]}"
}

# split_row LABEL SPLIT…: the medians of each part and of before + after, and the count.
split_row() {
	local label=$1
	shift
	printf '  %-26s %12s %10s %12s %11s %6s\n' "$label" "$(fmt_ms "$(split_median 1 "$@")")" \
		"$(fmt_ms "$(split_median 2 "$@")")" "$(fmt_ms "$(split_median 3 "$@")")" \
		"$(fmt_ms "$(split_median 4 "$@")")" "$#"
}
