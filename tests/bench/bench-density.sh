#!/bin/bash
# bench-density.sh: many machines at once (issue 3), nspawnlite against systemd-nspawn on the
# same trees, in one run. A benchmark, not a test: a missed target never fails it; it exits
# non-zero only when a tool fails to run at all (and 77, skipped, when not root or a tool is
# missing).
#
# For each kind of guest, one tool after the other: N machines started at once, detached, each
# with its own (empty) network namespace; then, once every one is ready:
#   - wall time from the first start until the last machine is ready, and the median per machine;
#   - each supervisor's VmRSS (nspawnlite: `supervisor=` of the machine's state file;
#     systemd-nspawn: its own process), median and max;
#   - host memory per machine: MemAvailable before the starts minus after, divided by N; and the
#     memory charged to the machines' cgroups (guest + supervisor) divided by N;
#   - the time to stop them all at once, and what was left behind.
# Kinds: busybox (BENCH_DENSITY_BUSYBOX machines, default 100; all share one writable tree) and
# Debian bookworm with systemd (BENCH_DENSITY_DEBIAN, default 20; BENCH_DENSITY_DEBIAN_TREES:
# read-only = one shared tree booted --read-only (default), overlay = an overlayfs per machine on
# one tree, copy = a `cp -a` per machine); and the hundred (issue 17: BENCH_DENSITY_HUNDRED
# Debian systemd machines, default 100, `-U --ephemeral` on one shared writable tree, one round;
# systemd-nspawn `-U --volatile=overlay` with BENCH_DENSITY_HUNDRED_NSPAWN of them, default 100),
# where `shell`, `login` and `status --json` are tried on the first, middle and last machine too.
# nspawnlite: `boot -q -d --wait-ready --network=none`. systemd-nspawn: `--register=no
# --keep-unit -q -b --console=passive --private-network` in the background, each from its own
# cgroup. Ready, for both: the guest wrote /run/nspawnlite-bench/ready (busybox: from rcS; Debian:
# a unit wanted by and ordered after multi-user.target), polled every 50 ms; nspawnlite's `boot`
# must also return 0, and a Debian guest must say `running` to `systemctl is-system-running`.
#
# Environment: NSPAWNLITE, BENCH_DENSITY_BUSYBOX, BENCH_DENSITY_DEBIAN, BENCH_DENSITY_DEBIAN_TREES,
# BENCH_DENSITY_TIMEOUT (s, default 120: per start and per stop), BENCH_DENSITY_NL_OPTS and
# BENCH_DENSITY_NS_OPTS (more options for every nspawnlite boot / systemd-nspawn, e.g.
# --ttys=0), BENCH_DENSITY_ROUNDS (2: times are the best round, memory the median),
# BENCH_DENSITY_ORDER (nl-first, the default, or ns-first: which tool goes first in the first
# round; the order alternates), BENCH_LOG_DIR, TMPDIR.
# See README.md beside this file.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"

N_BB=${BENCH_DENSITY_BUSYBOX:-100}
N_DEB=${BENCH_DENSITY_DEBIAN:-20}
N_HUN=${BENCH_DENSITY_HUNDRED:-100}
N_HUN_NS=${BENCH_DENSITY_HUNDRED_NSPAWN:-14}
DEB_TREES=${BENCH_DENSITY_DEBIAN_TREES:-read-only}
LIMIT=${BENCH_DENSITY_TIMEOUT:-120}
ORDER=${BENCH_DENSITY_ORDER:-nl-first}
ROUNDS=${BENCH_DENSITY_ROUNDS:-2}
SETTLE=3 # seconds of quiet before each memory reading
RSS_TARGET_KIB=2048
READY=/run/nspawnlite-bench/ready # in each guest, on its own /run

# ---------------------------------------------------------------------------------------------
# Outer part.
# ---------------------------------------------------------------------------------------------

# prepare_busybox DIR: rcS runs /etc/nspawnlite-test.sh before the gettys start: it writes the
# marker.
prepare_busybox() {
	cat >"$1/etc/nspawnlite-test.sh" <<-EOF
		#!/bin/sh
		mkdir -p ${READY%/*} && echo ready >$READY
	EOF
	chmod 0755 "$1/etc/nspawnlite-test.sh"
}

# prepare_debian DIR: a oneshot unit wanted by multi-user.target and ordered after it writes the
# marker (so the guest has reached multi-user.target; READY=1 of systemd comes after it, once the
# start-up jobs are all done).
prepare_debian() {
	local sd=$1/etc/systemd/system
	cat >"$sd/nspawnlite-bench-ready.service" <<-EOF
		[Unit]
		Description=nspawnlite bench: multi-user.target reached
		After=multi-user.target

		[Service]
		Type=oneshot
		ExecStart=/bin/sh -c 'mkdir -p ${READY%/*} && echo ready >$READY'

		[Install]
		WantedBy=multi-user.target
	EOF
	mkdir -p -- "$sd/multi-user.target.wants"
	ln -sf ../nspawnlite-bench-ready.service "$sd/multi-user.target.wants/nspawnlite-bench-ready.service"
}

outer_main() {
	bench_checks
	local n
	[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { msg "BENCH_DENSITY_ROUNDS must be a positive integer"; exit 2; }
	for n in "$N_BB" "$N_DEB" "$N_HUN" "$N_HUN_NS" "$LIMIT"; do
		[[ $n =~ ^[0-9]+$ ]] || {
			msg "BENCH_DENSITY_* must be non-negative integers"
			exit 2
		}
	done
	((N_BB + N_DEB + N_HUN > 0)) || {
		msg "nothing to do: BENCH_DENSITY_BUSYBOX, BENCH_DENSITY_DEBIAN and BENCH_DENSITY_HUNDRED are 0"
		exit 2
	}
	case $ORDER in
	nl-first | ns-first) ;;
	*) msg "BENCH_DENSITY_ORDER must be nl-first or ns-first"; exit 2 ;;
	esac
	case $DEB_TREES in
	read-only | overlay | copy) ;;
	*)
		msg "BENCH_DENSITY_DEBIAN_TREES must be read-only, overlay or copy"
		exit 2
		;;
	esac
	if [ "$DEB_TREES" = overlay ] && ! grep -qw overlay /proc/filesystems; then
		modprobe overlay 2>/dev/null || skip "needs overlayfs for BENCH_DENSITY_DEBIAN_TREES=overlay"
	fi

	local src_bb=- src_deb=-
	if ((N_BB > 0)); then
		src_bb=$("$TOP/tests/guests/build.sh" busybox | tail -n 1)
		[ -d "$src_bb" ] || { msg "no busybox guest tree"; exit 1; }
	fi
	if ((N_DEB + N_HUN > 0)); then
		src_deb=$("$TOP/tests/guests/build.sh" debian-systemd | tail -n 1)
		[ -d "$src_deb" ] || { msg "no debian-systemd guest tree"; exit 1; }
	fi

	bench_outer_start
	# A -U guest's unprivileged root reaches its tree's mount point through the runtime dir
	# ($WORK/runtime): $WORK may be crossed, but the trees stay behind a directory of root's alone.
	chmod 0711 "$WORK"
	mkdir -m 0700 "$WORK/src"
	if ((N_BB > 0)); then
		cp -a --reflink=auto -- "$src_bb" "$WORK/src/busybox"
		prepare_busybox "$WORK/src/busybox"
	fi
	if ((N_DEB + N_HUN > 0)); then
		msg "copying $src_deb"
		cp -a --reflink=auto -- "$src_deb" "$WORK/src/debian"
		prepare_debian "$WORK/src/debian"
	fi
	bench_run_inner "$WORK" "$SLICE" "$src_bb" "$src_deb"
}

# ---------------------------------------------------------------------------------------------
# Inner part (private mount and network namespaces).
# ---------------------------------------------------------------------------------------------

# trees KIND TOOL N: makes the N trees of this phase and sets TREES[1..N]; trees_done undoes it.
# busybox: one shared tree. Debian read-only: one shared tree (booted --read-only). overlay: an
# overlayfs per machine over the shared tree, fresh for each tool. copy: a copy per machine,
# fresh for each tool (outside of every measured interval).
trees() {
	local kind=$1 tool=$2 n=$3 i d
	TREES=()
	for ((i = 1; i <= n; i++)); do
		if [ "$kind" = hundred ]; then # one writable tree, under each machine's own overlay
			TREES[i]=$WORK/src/debian
			continue
		fi
		if [ "$kind" = busybox ] || [ "$DEB_TREES" = read-only ]; then
			TREES[i]=$WORK/src/$kind
			continue
		fi
		d=$WORK/trees/$tool-$i
		mkdir -p "$d"
		if [ "$DEB_TREES" = overlay ]; then
			mkdir -p "$d/upper" "$d/work" "$d/root"
			mount -t overlay -o "lowerdir=$WORK/src/debian,upperdir=$d/upper,workdir=$d/work" \
				"nspawnlite-bench-$tool-$i" "$d/root"
		else
			cp -a -- "$WORK/src/debian" "$d/root"
		fi
		TREES[i]=$d/root
	done
}
trees_done() {
	[ -d "$WORK/trees" ] || return 0
	local d
	for d in "$WORK"/trees/*/root; do
		! mountpoint -q "$d" || umount "$d" || msg "warning: could not unmount $d"
	done
	rm -rf --one-file-system -- "$WORK/trees"
}

# Extra options of each tool for a kind.
nl_opts() {
	NL_OPTS=()
	[ "$1" != hundred ] || NL_OPTS+=(-U --ephemeral)
	[ "$1" = busybox ] || [ "$1" = hundred ] || [ "$DEB_TREES" != read-only ] || NL_OPTS+=(--read-only)
	# shellcheck disable=SC2206 # options, one a word
	NL_OPTS+=(${BENCH_DENSITY_NL_OPTS:-})
}
ns_opts() {
	NS_OPTS=()
	# busybox init powers off on SIGUSR2 (what `nspawnlite poweroff` sends it); systemd-nspawn's
	# default SIGRTMIN+3 means nothing to it.
	[ "$1" != busybox ] || NS_OPTS+=(--kill-signal=SIGUSR2)
	[ "$1" != hundred ] || NS_OPTS+=(-U --volatile=overlay)
	[ "$1" = busybox ] || [ "$1" = hundred ] || [ "$DEB_TREES" != read-only ] || NS_OPTS+=(--read-only)
	# shellcheck disable=SC2206 # options, one a word
	NS_OPTS+=(${BENCH_DENSITY_NS_OPTS:-})
}

# guard SECONDS PID…: a background process that sends SIGTERM to the PIDs after SECONDS and
# SIGKILL 5 s later (a tool that hangs counts as failed). Sets GUARD; stop it with unguard.
guard() {
	local t=$1
	shift
	(
		trap - EXIT
		exec {SLEEP_FD}>&- # its own sleeps: sleep(1) is fine here, nothing is timed in it
		sleep "$t"
		kill -TERM "$@" 2>/dev/null || true
		sleep 5
		kill -KILL "$@" 2>/dev/null || true
	) </dev/null >/dev/null 2>&1 &
	GUARD=$!
}
unguard() {
	local kids=''
	read -r kids <"/proc/$GUARD/task/$GUARD/children" 2>/dev/null || true
	# shellcheck disable=SC2086 # its sleep, one PID a word
	kill "$GUARD" $kids 2>/dev/null || true
	wait "$GUARD" 2>/dev/null || true
}

# marker_of PID: the guest behind PID (itself or one of its children) wrote the marker; sets
# MARK_PID to the process whose root has it (the guest's PID 1).
marker_of() {
	local p=$1 kids='' c
	MARK_PID=
	[ ! -e "/proc/$p/root$READY" ] || { MARK_PID=$p; return 0; }
	# (the file has no final newline: read fails but sets kids)
	{ read -r kids <"/proc/$p/task/$p/children"; } 2>/dev/null || [ -n "$kids" ] || return 1
	for c in $kids; do
		[ ! -e "/proc/$c/root$READY" ] || { MARK_PID=$c; return 0; }
	done
	return 1
}

# state_key NAME KEY VAR: sets VAR to a key of nspawnlite's state file of NAME, or to "". No
# fork (no command substitution either): it is polled while the machines start.
state_key() {
	local line
	printf -v "$3" '%s' ''
	{ while read -r line; do
		[ "${line%%=*}" != "$2" ] || { printf -v "$3" '%s' "${line#*=}"; return 0; }
	done <"$NSPAWNLITE_RUNTIME_DIR/machines/$1/state"; } 2>/dev/null || true
}

# memory_settle: SETTLE seconds of quiet, then MemAvailable (KiB) into MEM.
memory_settle() {
	nap "$SETTLE"
	MEM=$(mem_available_kib)
}

# Results of the rounds of one kind, by "TOOL.KEY" (TOOL nl or ns): space-separated, a value per
# round (or names); and per-machine samples of every round.
declare -A R=()
add() {
	local k=$1
	shift
	[ "$#" -gt 0 ] || return 0
	R[$k]="${R[$k]:-}$* "
}
# rmin/rmed/rsum KEY: the least, the median, the sum of KEY's values ("-" ignored).
rvals() { tr ' ' '\n' <<<"${R[$1]:-}" | grep -v '^-$' | grep . || true; }
rmin() { rvals "$1" | sort -n | head -n 1 | grep . || echo -; }
rmed() {
	# shellcheck disable=SC2046 # one value a word
	median $(rvals "$1")
}
rsum() { rvals "$1" | awk '{ s += $1 } END { print s + 0 }'; }
declare -a RSS_nl=() RSS_ns=() HWM_nl=() HWM_ns=() ANON_nl=() ANON_ns=() PSS_nl=() PSS_ns=()
declare -a LEAD_nl=() LEAD_ns=()

# The start gate: the N processes of a phase are forked (and, for systemd-nspawn, put in their
# cgroups) before the clock starts; each then waits for one byte on a FIFO and execs its tool.
# gate_open opens GATE (the bytes) and JOINED (each child says it is in place); gate_wait N waits
# for N children to be in place; gate_release N starts them all with one write.
gate_open() {
	rm -f -- "$WORK/gate" "$WORK/joined"
	mkfifo "$WORK/gate" "$WORK/joined"
	exec {GATE}<>"$WORK/gate" {JOINED}<>"$WORK/joined"
}
gate_wait() {
	local got
	read -r -N "$1" -t "$LIMIT" -u "$JOINED" got || true
	[ "${#got}" -eq "$1" ] || { msg "only ${#got} of $1 processes reached the start gate"; exit 1; }
}
gate_release() { printf "%$1s" '' >&"$GATE"; }
gate_close() { exec {GATE}>&- {JOINED}>&-; }

# phase_nl KIND N: N `nspawnlite boot -d --wait-ready` at once. Polls every 50 ms, until every
# `boot` has returned and every guest has written its marker (or LIMIT + 20 s): the time of the
# marker is what is compared with systemd-nspawn, the return of `boot` is shown too.
phase_nl() {
	local kind=$1 n=$2 i pid rc t0 t name sup lead mem0 bytes sum=0 failed=() nomark=() f
	local -A cli=() mark=()
	local -a names=() pids=() t_ready=() t_mark=() t_lead=() cgs=()
	nl_opts "$kind"
	trees "$kind" nl "$n"
	for ((i = 1; i <= n; i++)); do names[i]=nl-$kind-$i; done
	# The hundred: each `boot` starts from a cgroup of its own, as each systemd-nspawn does. From
	# the bench's one cgroup, a hundred starts shared one cgroup's CPU weight against the guests
	# already booting (each in its machine's cgroup), and waited minutes for their own first steps.
	if [ "$kind" = hundred ]; then
		for ((i = 1; i <= n; i++)); do cgs[i]=$(ns_cgroups "${names[i]}-start" | tr '\n' ' '); done
	fi
	memory_settle
	mem0=$MEM
	msg "$kind: nspawnlite, $n machines at once"
	gate_open
	for ((i = 1; i <= n; i++)); do
		(
			for f in ${cgs[i]:-}; do echo "$BASHPID" >"$f" || true; done
			printf x >&"$JOINED"
			read -r -N 1 -u "$GATE" _
			exec "$NSPAWNLITE" boot -q -d --wait-ready --network=none --timeout="$LIMIT" -M "${names[i]}" \
				"${NL_OPTS[@]}" "${TREES[i]}" {SLEEP_FD}>&- {GATE}>&- {JOINED}>&-
		) </dev/null >"$L/${names[i]}.log" 2>&1 &
		pids[i]=$! cli[$i]=1 mark[$i]=1
	done
	gate_wait "$n"
	t0=${EPOCHREALTIME/./}
	gate_release "$n"
	gate_close
	guard "$((LIMIT + 10))" "${pids[@]}"
	LEAD_nl=()
	while ((${#cli[@]} + ${#mark[@]} > 0)) && ((${EPOCHREALTIME/./} - t0 < (LIMIT + 20) * 1000000)); do
		for i in "${!cli[@]}"; do
			alive "${pids[i]}" && continue
			t=${EPOCHREALTIME/./} rc=0
			wait "${pids[i]}" || rc=$?
			unset "cli[$i]"
			if [ "$rc" -eq 0 ]; then
				t_ready+=("$((t - t0))")
			else
				failed+=("${names[i]}")
				unset "mark[$i]"
			fi
		done
		for i in "${!mark[@]}"; do
			state_key "${names[i]}" leader lead
			[ -n "$lead" ] || continue
			[ -n "${t_lead[i]:-}" ] || t_lead[i]=$((${EPOCHREALTIME/./} - t0))
			marker_of "$lead" || continue
			t_mark+=("$((${EPOCHREALTIME/./} - t0))")
			LEAD_nl[i]=$lead
			unset "mark[$i]"
		done
		((${#cli[@]} + ${#mark[@]} == 0)) || nap 0.05
	done
	unguard
	for i in "${!cli[@]}"; do
		failed+=("${names[i]}")
		unset "mark[$i]"
	done
	for i in "${!mark[@]}"; do nomark+=("${names[i]}"); done
	add nl.wall "$(max "${t_mark[@]}")"
	add nl.median "$(median "${t_mark[@]}")"
	add nl.cliwall "$(max "${t_ready[@]}")"
	add nl.leadmed "$(median "${t_lead[@]}")"
	add nl.leadmax "$(max "${t_lead[@]}")"
	add nl.ok "$((n - ${#failed[@]} - ${#nomark[@]}))"
	add nl.failed "${failed[@]}"
	add nl.nomark "${nomark[@]}"

	memory_settle
	add nl.mem "$(((mem0 - MEM) / n))"
	for ((i = 1; i <= n; i++)); do
		state_key "${names[i]}" supervisor sup
		[ -n "$sup" ] || continue
		t=$(proc_kib "$sup" VmRSS) && [ -n "$t" ] && RSS_nl+=("$t")
		t=$(proc_kib "$sup" VmHWM) && [ -n "$t" ] && HWM_nl+=("$t")
		t=$(proc_kib "$sup" RssAnon) && [ -n "$t" ] && ANON_nl+=("$t")
		t=$(pss_kib "$sup") && [ -n "$t" ] && PSS_nl+=("$t")
		bytes=$(cgroup_mem_bytes "$SLICE/machine-${names[i]}.scope")
		[ -z "$bytes" ] || sum=$((sum + bytes))
	done
	add nl.cgmem "$( ((sum > 0)) && echo $((sum / 1024 / n)) || echo -)"
	[ "$kind" = busybox ] || system_states nl "${LEAD_nl[@]}"

	# `list` with every machine running (for information).
	t=${EPOCHREALTIME/./}
	"$NSPAWNLITE" list --json >"$WORK/list.json" 2>"$L/list-$kind.log" || true
	add nl.list "$((${EPOCHREALTIME/./} - t))"
	add nl.listed "$(grep -o '"name"' "$WORK/list.json" | wc -l)"
	[ "$kind" != hundred ] || hundred_checks "${names[@]}"

	msg "$kind: nspawnlite, stopping them"
	local -a stoppers=()
	t0=${EPOCHREALTIME/./}
	for ((i = 1; i <= n; i++)); do
		[ -d "$NSPAWNLITE_RUNTIME_DIR/machines/${names[i]}" ] || continue
		"$NSPAWNLITE" poweroff --timeout="$LIMIT" "${names[i]}" </dev/null \
			>"$L/${names[i]}-poweroff.log" 2>&1 {SLEEP_FD}>&- &
		stoppers+=($!)
	done
	local bad=0
	if ((${#stoppers[@]} > 0)); then
		guard "$((LIMIT + 10))" "${stoppers[@]}"
		for pid in "${stoppers[@]}"; do wait "$pid" || bad=$((bad + 1)); done
		unguard
	fi
	add nl.stop "$((${EPOCHREALTIME/./} - t0))"
	add nl.stopbad "$bad"
	# Give a supervisor that is still tidying up a moment, then look for leftovers.
	for ((i = 0; i < 20; i++)); do
		[ -z "$(leftovers nl)" ] && break
		nap 0.25
	done
	local -a left
	mapfile -t left < <(leftovers nl)
	add nl.left "${left[@]}"
	local root
	for root in $(cgroup_roots); do
		for ((i = 1; i <= n; i++)); do
			[ ! -d "$root/$SLICE/${names[i]}-start.scope" ] || rmdir "$root/$SLICE/${names[i]}-start.scope" 2>/dev/null ||
				add nl.left "start-cgroup-busy:${names[i]}"
		done
	done
	trees_done
}

# login_prompt NAME: `nspawnlite login NAME` on a pty of its own shows the guest's login prompt
# (after an Enter, as agetty printed the first one before anybody looked) within 20 s; then
# Ctrl-] three times detaches. Prints what it saw last when it fails.
login_prompt() {
	python3 - "$NSPAWNLITE" "$1" <<-'PY'
		import os, pty, select, sys, time
		pid, fd = pty.fork()
		if pid == 0:
		    os.execv(sys.argv[1], [sys.argv[1], "login", sys.argv[2]])
		seen, sent, end = b"", False, time.time() + 20
		while time.time() < end and b"login:" not in seen:
		    if select.select([fd], [], [], 0.5)[0]:
		        try:
		            seen += os.read(fd, 4096)
		        except OSError:
		            break
		    if not sent and time.time() > end - 19:
		        os.write(fd, b"\r")
		        sent = True
		ok = b"login:" in seen
		try:
		    os.write(fd, b"\x1d\x1d\x1d")
		except OSError:
		    pass
		for _ in range(50):
		    if os.waitpid(pid, os.WNOHANG)[0]:
		        break
		    time.sleep(0.1)
		else:
		    os.kill(pid, 9)
		    os.waitpid(pid, 0)
		if not ok:
		    print(seen[-200:].decode(errors="replace").replace("\r", " ").replace("\n", " "))
		sys.exit(0 if ok else 1)
	PY
}

# hundred_checks NAME…: on the first, the middle and the last machine, `shell` runs a command and
# returns its status, and `login` shows the guest's login prompt; `status NAME --json` is timed on
# the middle one.
hundred_checks() {
	local -a all=("$@")
	local n=$# i name rc out t
	for i in 0 $(((n - 1) / 2)) $((n - 1)); do
		name=${all[i]}
		rc=0
		out=$("$NSPAWNLITE" shell "$name" -- /bin/sh -c 'cat /proc/sys/kernel/hostname; exit 7' \
			</dev/null 2>&1 {SLEEP_FD}>&-) || rc=$?
		if [ "$rc" = 7 ] && [ "$out" = "$name" ]; then
			add nl.shellok "$name"
		else
			add nl.shellbad "$name(status=$rc:${out//[[:space:]]/_})"
		fi
		if ! command -v python3 >/dev/null; then
			add nl.loginbad "$name(no-python3)"
		elif out=$(login_prompt "$name" 2>&1 {SLEEP_FD}>&-); then
			add nl.loginok "$name"
		else
			add nl.loginbad "$name(${out//[[:space:]]/_})"
		fi
	done
	name=${all[(n - 1) / 2]}
	t=${EPOCHREALTIME/./}
	"$NSPAWNLITE" status "$name" --json >"$WORK/status.json" 2>"$L/status-$name.log" {SLEEP_FD}>&- ||
		add nl.statusbad "$name"
	add nl.status "$((${EPOCHREALTIME/./} - t))"
}

# system_states TOOL PID…: asks every systemd guest (by its PID 1) `systemctl
# is-system-running`; adds to R[TOOL.running] how many say `running`, and to R[TOOL.states] what
# the others said and their failed units, with how many guests failed each.
system_states() {
	local tool=$1 p st u ok=0
	shift
	local -A said=() units=()
	for p in "$@"; do
		st=$(nsenter -t "$p" -a systemctl is-system-running 2>/dev/null) || true
		if [ "$st" = running ]; then
			ok=$((ok + 1))
			continue
		fi
		said[${st:-?}]=$((${said[${st:-?}]:-0} + 1))
		# The first such guest's warnings, for the report.
		[ -s "$L/$tool-not-running.log" ] ||
			nsenter -t "$p" -a journalctl -b --no-pager -q -p warning -n 12 >"$L/$tool-not-running.log" 2>&1 || true
		while read -r u _; do
			[ -n "$u" ] && units[$u]=$((${units[$u]:-0} + 1))
		done < <(nsenter -t "$p" -a systemctl --failed --plain --no-legend 2>/dev/null || true)
	done
	add "$tool.running" "$ok"
	for st in "${!said[@]}"; do add "$tool.states" "$st x${said[$st]}"; done
	for u in "${!units[@]}"; do add "$tool.states" "$u x${units[$u]}"; done
}

# leftovers TOOL: what the machines of TOOL left (nspawnlite: state directories, cgroups,
# processes in them; systemd-nspawn: processes).
leftovers() {
	local root d procs
	if [ "$1" = nl ]; then
		if [ -d "$NSPAWNLITE_RUNTIME_DIR/machines" ]; then
			find "$NSPAWNLITE_RUNTIME_DIR/machines" -mindepth 1 -maxdepth 1 -printf 'state:%f\n'
		fi
		for root in $(cgroup_roots); do
			for d in "$root/$SLICE"/machine-*.scope; do
				[ -d "$d" ] || continue
				printf 'cgroup:%s\n' "${d#/sys/fs/cgroup/}"
			done
		done
		# -U range locks, links of the bench's network namespace, mounts of the runtime dir
		for d in "$NSPAWNLITE_RUNTIME_DIR"/userns/*; do
			[ ! -e "$d" ] || printf 'uid-range-lock:%s\n' "${d##*/}"
		done
		ip -o link show 2>/dev/null | awk -F': ' '$2 != "lo" { print "link:" $2 }'
		grep -F " $NSPAWNLITE_RUNTIME_DIR/" /proc/self/mountinfo | awk '{ print "mount:" $5 }'
	fi
	procs=$(for root in $(nspawn_cgroup_roots); do
		find "$root/$SLICE" -path "$root/$SLICE/host.scope" -prune -o -name cgroup.procs -print0 |
			xargs -0r cat
	done 2>/dev/null | sort -u | wc -l)
	[ "$procs" -eq 0 ] || printf 'processes:%s\n' "$procs"
}

# ns_cgroups NAME: the cgroup systemd-nspawn NAME starts from (and keeps, --keep-unit): in every
# hierarchy, as nspawnlite makes machine-NAME.scope in every one (on a systemd host both would
# be in machine.slice/….scope everywhere). It matters beyond accounting: with the v1 cpu
# controller, machines in cgroups under the bench's parent share that parent's weight against
# the rest of the host, while processes left in the root cgroup each weigh as much as it; on a
# busy host that alone made nspawnlite's 20 systemd guests 1.5 times slower to come up. cpuset
# is left out (a new v1 cpuset cgroup has no CPUs until it is given some). Prints the
# cgroup.procs paths.
ns_cgroups() {
	local root
	for root in $(cgroup_roots); do
		[ "$root" != /sys/fs/cgroup/cpuset ] || continue
		mkdir -p "$root/$SLICE/$1.scope"
		printf '%s\n' "$root/$SLICE/$1.scope/cgroup.procs"
	done
}

# phase_ns KIND N
phase_ns() {
	local kind=$1 n=$2 i pid t0 t mem0 bytes sum=0 f failed=() rc bad=0
	local -A pending=()
	local -a names=() pids=() cgs=() t_ready=()
	ns_opts "$kind"
	trees "$kind" ns "$n"
	for ((i = 1; i <= n; i++)); do
		names[i]=ns-$kind-$i
		cgs[i]=$(ns_cgroups "${names[i]}" | tr '\n' ' ')
	done
	memory_settle
	mem0=$MEM
	msg "$kind: systemd-nspawn, $n machines at once"
	LEAD_ns=()
	gate_open
	for ((i = 1; i <= n; i++)); do
		(
			for f in ${cgs[i]}; do echo "$BASHPID" >"$f" || true; done
			printf x >&"$JOINED"
			read -r -N 1 -u "$GATE" _
			exec systemd-nspawn --register=no --keep-unit -q -b --console=passive --private-network \
				-M "${names[i]}" "${NS_OPTS[@]}" -D "${TREES[i]}" {SLEEP_FD}>&- {GATE}>&- {JOINED}>&-
		) </dev/null >"$L/${names[i]}.log" 2>&1 &
		pids[i]=$! pending[$i]=1
	done
	gate_wait "$n"
	t0=${EPOCHREALTIME/./}
	gate_release "$n"
	gate_close
	while ((${#pending[@]} > 0)) && ((${EPOCHREALTIME/./} - t0 < LIMIT * 1000000)); do
		for i in "${!pending[@]}"; do
			pid=${pids[i]}
			if marker_of "$pid"; then
				t_ready+=("$((${EPOCHREALTIME/./} - t0))")
				LEAD_ns[i]=$MARK_PID
				unset "pending[$i]"
			elif ! alive "$pid"; then
				failed+=("${names[i]}")
				unset "pending[$i]"
			fi
		done
		((${#pending[@]} == 0)) || nap 0.05
	done
	for i in "${!pending[@]}"; do failed+=("${names[i]}"); done
	add ns.wall "$(max "${t_ready[@]}")"
	add ns.median "$(median "${t_ready[@]}")"
	add ns.ok "${#t_ready[@]}"
	add ns.failed "${failed[@]}"

	memory_settle
	add ns.mem "$(((mem0 - MEM) / n))"
	for ((i = 1; i <= n; i++)); do
		pid=${pids[i]}
		if alive "$pid"; then
			t=$(proc_kib "$pid" VmRSS) && [ -n "$t" ] && RSS_ns+=("$t")
			t=$(proc_kib "$pid" VmHWM) && [ -n "$t" ] && HWM_ns+=("$t")
			t=$(proc_kib "$pid" RssAnon) && [ -n "$t" ] && ANON_ns+=("$t")
			t=$(pss_kib "$pid") && [ -n "$t" ] && PSS_ns+=("$t")
		fi
		bytes=$(cgroup_mem_bytes "$SLICE/${names[i]}.scope")
		[ -z "$bytes" ] || sum=$((sum + bytes))
	done
	add ns.cgmem "$( ((sum > 0)) && echo $((sum / 1024 / n)) || echo -)"
	[ "$kind" = busybox ] || system_states ns "${LEAD_ns[@]}"

	msg "$kind: systemd-nspawn, stopping them (SIGTERM)"
	t0=${EPOCHREALTIME/./}
	kill -TERM "${pids[@]}" 2>/dev/null || true
	guard "$((LIMIT + 10))" "${pids[@]}"
	for ((i = 1; i <= n; i++)); do
		rc=0
		wait "${pids[i]}" || rc=$?
		[ "$rc" -eq 0 ] || bad=$((bad + 1))
	done
	unguard
	add ns.stop "$((${EPOCHREALTIME/./} - t0))"
	add ns.stopbad "$bad"
	local -a left
	mapfile -t left < <(leftovers ns)
	add ns.left "${left[@]}"
	# systemd-nspawn leaves its (empty) payload/ and supervisor/ cgroups: not counted, removed.
	local root
	for root in $(cgroup_roots); do
		for ((i = 1; i <= n; i++)); do
			[ -d "$root/$SLICE/${names[i]}.scope" ] || continue
			find "$root/$SLICE/${names[i]}.scope" -depth -type d -exec rmdir {} + 2>/dev/null || true
		done
	done
	trees_done
}

# warm_up KIND: page cache, and one machine with each tool, start to stop: a tool that cannot do
# this at all fails the bench.
warm_up() {
	local kind=$1 pid n rc=0
	n=wu-$kind
	msg "$kind: warm-up"
	nl_opts "$kind"
	trees "$kind" wnl 1
	"$NSPAWNLITE" boot -q -d --wait-ready --network=none --timeout="$LIMIT" -M "nl-$n" "${NL_OPTS[@]}" \
		"${TREES[1]}" </dev/null >"$L/nl-$n.log" 2>&1 {SLEEP_FD}>&- || {
		msg "FAILED: nspawnlite boot -d --wait-ready of a $kind guest; its output:"
		log_tail "$L/nl-$n.log"
		log_tail "$NSPAWNLITE_RUNTIME_DIR/machines/nl-$n/console.log" 2>/dev/null || true
		exit 1
	}
	"$NSPAWNLITE" poweroff --timeout="$LIMIT" "nl-$n" >"$L/nl-$n-poweroff.log" 2>&1 {SLEEP_FD}>&- || {
		msg "FAILED: nspawnlite poweroff of a $kind guest"
		log_tail "$L/nl-$n-poweroff.log"
		exit 1
	}
	trees_done
	ns_opts "$kind"
	trees "$kind" wns 1
	local f cg
	cg=$(ns_cgroups "ns-$n" | tr '\n' ' ')
	(
		for f in $cg; do echo "$BASHPID" >"$f"; done
		exec systemd-nspawn --register=no --keep-unit -q -b --console=passive --private-network \
			-M "ns-$n" "${NS_OPTS[@]}" -D "${TREES[1]}"
	) </dev/null >"$L/ns-$n.log" 2>&1 {SLEEP_FD}>&- &
	pid=$!
	local t0
	t0=${EPOCHREALTIME/./}
	until marker_of "$pid"; do
		if ! alive "$pid" || ((${EPOCHREALTIME/./} - t0 > LIMIT * 1000000)); then
			kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" || true
			msg "FAILED: systemd-nspawn -b of a $kind guest did not reach its marker; its output:"
			log_tail "$L/ns-$n.log"
			exit 1
		fi
		nap 0.05
	done
	kill -TERM "$pid"
	guard "$((LIMIT + 10))" "$pid"
	wait "$pid" || rc=$?
	unguard
	[ "$rc" -eq 0 ] || msg "warning: systemd-nspawn exited $rc after SIGTERM in the warm-up"
	local root
	for root in $(cgroup_roots); do
		[ ! -d "$root/$SLICE/ns-$n.scope" ] || find "$root/$SLICE/ns-$n.scope" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
	trees_done
}

reset_results() {
	R=()
	RSS_nl=() RSS_ns=() HWM_nl=() HWM_ns=() ANON_nl=() ANON_ns=() PSS_nl=() PSS_ns=()
}

# phases KIND N: ROUNDS rounds of both tools, in the order BENCH_DENSITY_ORDER says for the
# first round, swapped at each round (A B, B A, A B …), so that neither always goes first.
phases() {
	local r first=$ORDER
	for ((r = 1; r <= ROUNDS; r++)); do
		if [ "$first" = ns-first ]; then
			phase_ns "$@"
			phase_nl "$@"
			first=nl-first
		else
			phase_nl "$@"
			phase_ns "$@"
			first=ns-first
		fi
	done
}


# report KIND N TITLE [N_NSPAWN]
report() {
	local kind=$1 n=$2 title=$3 total=$(($2 * ROUNDS)) total_ns=$((${4:-$2} * ROUNDS))
	local fmt='%-37s %11s %15s %7s %9s  %s\n'
	local rmax_nl rmax_ns rmed_nl rmed_ns all t v w
	rmed_nl=$(median "${RSS_nl[@]}") rmax_nl=$(max "${RSS_nl[@]}")
	rmed_ns=$(median "${RSS_ns[@]}") rmax_ns=$(max "${RSS_ns[@]}")
	all=MISSED
	[ "$(rsum nl.ok)" != "$total" ] || { [ "$kind" != busybox ] && [ "$(rsum nl.running)" != "$total" ]; } || all=met
	# row LABEL nl-value ns-value [TARGET RESULT]: a row with the ratio.
	# shellcheck disable=SC2059 # the format is ours
	row() { printf "$fmt" "$1" "$2" "$3" "$(ratio "$2" "$3")" "${4:--}" "${5:-}"; }
	printf '\n'
	# shellcheck disable=SC2059 # the format is ours
	{
		printf "$fmt" "$title" nspawnlite systemd-nspawn ratio target result
		printf "$fmt" "machines ready (all rounds)" "$(rsum nl.ok)/$total" "$(rsum ns.ok)/$total_ns" - all "$all"
		[ "$kind" = busybox ] ||
			printf "$fmt" "  of them systemd says \"running\"" "$(rsum nl.running)/$total" \
				"$(rsum ns.running)/$total_ns" - all ""
		row "wall until all ready (s, best)" "$(fmt_s "$(rmin nl.wall)")" "$(fmt_s "$(rmin ns.wall)")"
		row "time to ready, median (s, best)" "$(fmt_s "$(rmin nl.median)")" "$(fmt_s "$(rmin ns.median)")"
		printf "$fmt" "  every boot -d --wait-ready back (s)" "$(fmt_s "$(rmin nl.cliwall)")" - - - ""
		printf "$fmt" "  guest's init started, median (s)" "$(fmt_s "$(rmin nl.leadmed)")" - - - ""
		printf "$fmt" "  guest's init started, last (s)" "$(fmt_s "$(rmin nl.leadmax)")" - - - ""
		row "supervisor VmRSS median (KiB)" "$rmed_nl" "$rmed_ns" "<= $RSS_TARGET_KIB" "$(meets "$rmed_nl" "$RSS_TARGET_KIB")"
		row "supervisor VmRSS max (KiB)" "$rmax_nl" "$rmax_ns" "<= $RSS_TARGET_KIB" "$(meets "$rmax_nl" "$RSS_TARGET_KIB")"
		row "  of it private (RssAnon), median" "$(median "${ANON_nl[@]}")" "$(median "${ANON_ns[@]}")"
		row "host MemAvailable drop/machine (KiB)" "$(rmed nl.mem)" "$(rmed ns.mem)"
		row "machine cgroups memory/machine (KiB)" "$(rmed nl.cgmem)" "$(rmed ns.cgmem)"
		row "stop all at once (s, best)" "$(fmt_s "$(rmin nl.stop)")" "$(fmt_s "$(rmin ns.stop)")"
	}
	printf '  rounds (nspawnlite / systemd-nspawn): wall'
	for t in nl ns; do
		v=
		for w in ${R[$t.wall]:-}; do v+=" $(fmt_s "$w")"; done
		printf '%s%s' "$([ "$t" = nl ] || echo ' /')" "$v"
	done
	printf ' s; MemAvailable drop %s/ %sKiB\n' "${R[nl.mem]:-}" "${R[ns.mem]:-}"
	printf '  supervisor VmHWM max (KiB): nspawnlite %s, systemd-nspawn %s; VmRSS min: %s, %s; Pss median: %s, %s\n' \
		"$(max "${HWM_nl[@]}")" "$(max "${HWM_ns[@]}")" \
		"$(printf '%s\n' "${RSS_nl[@]}" | sort -n | head -n 1)" "$(printf '%s\n' "${RSS_ns[@]}" | sort -n | head -n 1)" \
		"$(median "${PSS_nl[@]}")" "$(median "${PSS_ns[@]}")"
	for t in nl ns; do
		[ -z "${R[$t.states]:-}" ] || printf '  %s: not "running": %s\n' "$t" "${R[$t.states]}"
	done
	printf '  nspawnlite list --json with %s machines: %s ms (best), listed %s\n' "$n" \
		"$(fmt_ms "$(rmin nl.list)")" "${R[nl.listed]:-}"
	if [ "$kind" = hundred ]; then
		printf '  nspawnlite status NAME --json: %s ms%s\n' "$(fmt_ms "$(rmin nl.status)")" \
			"${R[nl.statusbad]:+ (FAILED: ${R[nl.statusbad]})}"
		printf '  shell (a command, its status kept) on first/middle/last: ok %s%s\n' "${R[nl.shellok]:-none}" \
			"${R[nl.shellbad]:+; FAILED: ${R[nl.shellbad]}}"
		printf '  login (the guest'"'"'s login prompt) on first/middle/last: ok %s%s\n' "${R[nl.loginok]:-none}" \
			"${R[nl.loginbad]:+; FAILED: ${R[nl.loginbad]}}"
	fi
	printf '  stops that did not end cleanly: nspawnlite %s, systemd-nspawn %s\n' "$(rsum nl.stopbad)" "$(rsum ns.stopbad)"
	printf '  left behind after the stops: nspawnlite %s; systemd-nspawn %s\n' "${R[nl.left]:-nothing}" "${R[ns.left]:-nothing}"
	local name
	for t in nl ns; do
		[ -z "${R[$t.failed]:-}" ] || printf '  %s: not ready: %s\n' "$t" "${R[$t.failed]}"
		[ -z "${R[$t.nomark]:-}" ] || printf '  %s: ready but no marker from the guest: %s\n' "$t" "${R[$t.nomark]}"
	done
	for t in nl ns; do
		[ -s "$L/$t-not-running.log" ] || continue
		msg "$t: warnings in the journal of the first guest not \"running\":"
		log_tail "$L/$t-not-running.log" 12
		mv -- "$L/$t-not-running.log" "$L/$t-$kind-not-running.log"
	done
	# The output of the first failure of each tool.
	for t in nl ns; do
		name=${R[$t.failed]:-}
		name=${name%% *}
		[ -n "$name" ] || continue
		msg "$name: lines of its output that tell why (else its end):"
		if grep -qE 'Failed|failed|Too many|inotify|rror|Freezing' "$L/$name.log"; then
			grep -E 'Failed|failed|Too many|inotify|rror|Freezing' "$L/$name.log" | head -n 8 >"$WORK/why.log"
			log_tail "$WORK/why.log" 8
		else
			log_tail "$L/$name.log" 10
		fi
	done
}

inner_main() {
	bench_inner_setup "$1" "$2"
	local src_bb=$3 src_deb=$4
	L=$WORK/logs
	export SYSTEMD_NSPAWN_LOCK=0 # systemd-nspawn locks a writable tree; the busybox tree is shared

	local memtotal load
	memtotal=$(awk '$1 == "MemTotal:" { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	read -r load _ </proc/loadavg
	printf 'nspawnlite density bench: %s vs systemd-nspawn, machines started at once\n' \
		"$("$NSPAWNLITE" --version 2>/dev/null | head -n 1)"
	printf '  kernel %s, %s, %s CPUs, %s, load average %s before the bench; cgroup: %s\n' "$(uname -r)" \
		"$(systemd-nspawn --version | head -n 1)" "$(nproc)" "$memtotal" "$load" \
		"$( [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && echo unified || echo 'v1 hybrid')"
	printf '  trees: busybox %s (one shared tree); debian-systemd %s (%s)\n' "$src_bb" "$src_deb" "$DEB_TREES"
	[ -z "${BENCH_DENSITY_NL_OPTS:-}${BENCH_DENSITY_NS_OPTS:-}" ] ||
		printf '  extra options: nspawnlite %s; systemd-nspawn %s\n' "${BENCH_DENSITY_NL_OPTS:--}" "${BENCH_DENSITY_NS_OPTS:--}"
	printf '  fs.inotify.max_user_instances=%s (shared by every guest whose user namespace root owns), kernel.pty.max=%s, kernel.pid_max=%s\n' \
		"$(cat /proc/sys/fs/inotify/max_user_instances)" "$(cat /proc/sys/kernel/pty/max)" "$(cat /proc/sys/kernel/pid_max)"

	if ((N_BB > 0)); then
		warm_up busybox
		reset_results
		phases busybox "$N_BB"
		report busybox "$N_BB" "busybox x$N_BB"
	fi
	if ((N_DEB > 0)); then
		warm_up debian
		reset_results
		phases debian "$N_DEB"
		report debian "$N_DEB" "debian-systemd x$N_DEB ($DEB_TREES)"
	fi
	if ((N_HUN > 0)); then
		local rounds=$ROUNDS limit=$LIMIT
		ROUNDS=1 # one round: a hundred systemd guests take minutes on two CPUs
		LIMIT=${BENCH_DENSITY_HUNDRED_TIMEOUT:-600}
		warm_up hundred
		reset_results
		phase_nl hundred "$N_HUN"
		((N_HUN_NS == 0)) || phase_ns hundred "$N_HUN_NS"
		report hundred "$N_HUN" "debian-systemd x$N_HUN (-U --ephemeral)" "$N_HUN_NS"
		ROUNDS=$rounds LIMIT=$limit
	fi
	printf '\nratio = nspawnlite / systemd-nspawn (lower is better). Target (issue 3): every machine ready, supervisor RSS <= 2 MiB.\n'
	printf 'Memory per machine: the MemAvailable drop includes whatever else the host did meanwhile; the cgroup figure does not.\n'
}

if [ "${1:-}" = --inner ]; then
	shift
	inner_main "$@"
else
	outer_main "$@"
fi
