#!/bin/sh
# shellcheck shell=sh disable=SC2016 # the guest's commands are single-quoted: its shell expands them
# The cgroup v2 checks, run by /init inside the VM (busybox sh, pure cgroup2 at /sys/fs/cgroup,
# the VM's init in the root cgroup). Each check prints PASS: or FAIL:; the last line, also written
# to /run/vm-result, is "NSPAWNLITE-VM-RESULT: N passed, M failed".
NSP=/usr/bin/nspawnlite
GUEST=/guest
CG=/sys/fs/cgroup
SLICE=$CG/machine.slice
MACHINES=/run/nspawnlite/machines
OUT=/tmp/vm-tests
PASSED=0
FAILED=0
mkdir -p "$OUT"

pass() {
	PASSED=$((PASSED + 1))
	echo "PASS: $*"
}
fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL: $*"
}
log() { echo "  [$(cut -d' ' -f1 /proc/uptime)] $*"; }
# flat FILE: its content on one line, for messages.
flat() { tr '\n' ' ' <"$1" 2>/dev/null | cut -c1-400; }
check_eq() { # EXPECTED ACTUAL WHAT
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: expected '$1', got '$2'"; fi
}
# has_words "LIST" W…: every word W is in LIST.
has_words() {
	list=" $(echo "$1" | tr '\n' ' ') "
	shift
	for w in "$@"; do
		case $list in
		*" $w "*) ;;
		*) return 1 ;;
		esac
	done
	return 0
}
# wait_for TENTHS COMMAND…: retry COMMAND until it succeeds, 0.1 s apart.
wait_for() {
	n=$1
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
state() { sed -n "s/^$2=//p" "$MACHINES/$1/state" 2>/dev/null; }
leader() { state "$1" leader; }
alive() {
	p=$(leader "$1")
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null
}
scope_of() { echo "$SLICE/machine-$1.scope"; }
# events_val FILE KEY: the value of KEY in a flat-keyed file (cgroup.events, pids.events…).
events_val() { sed -n "s/^$2 //p" "$1" 2>/dev/null; }
# gone NAME: no runtime directory, no cgroup scope.
gone() { [ ! -e "$MACHINES/$1" ] && [ ! -e "$(scope_of "$1")" ]; }

# in_guest NAME CMD…: run CMD in the machine's namespaces and in its payload cgroup (busybox nsenter
# has no -C; cgroup membership is what the limits count anyway), or in payload/$IG_CGROUP if set.
# The helper's own processes (this sh, timeout, nsenter's parent) stay outside the guest's pid
# namespace: the guest sees them in cgroup.procs as pid 0 and cannot move them.
in_guest() {
	ig_name=$1
	shift
	ig_leader=$(leader "$ig_name")
	[ -n "$ig_leader" ] || return 97
	sh -c 'cg=$1 l=$2; shift 2
		echo $$ >"$cg/cgroup.procs" || exit 96
		exec timeout -s KILL 60 nsenter -t "$l" -m -u -i -n -p -r -w -- "$@"' in_guest \
		"$(scope_of "$ig_name")/payload${IG_CGROUP:+/$IG_CGROUP}" "$ig_leader" "$@"
}

# up NAME ARGS…: boot -d --wait-ready the busybox guest as NAME.
up() {
	up_name=$1
	shift
	rc=0
	timeout 150 "$NSP" boot -d --wait-ready --timeout=120 --network=none -M "$up_name" "$@" "$GUEST" \
		</dev/null >"$OUT/boot-$up_name.log" 2>&1 || rc=$?
	if [ "$rc" = 0 ] && alive "$up_name"; then
		pass "$up_name: boot -d --wait-ready --network=none of the busybox guest exits 0 with a live leader"
		return 0
	fi
	fail "$up_name: boot -d --wait-ready: status $rc: $(flat "$OUT/boot-$up_name.log")"
	return 1
}

# The controllers of a subtree_control file, checked for memory pids cpu.
check_controllers() { # FILE WHAT
	c=$(cat "$1" 2>/dev/null)
	if has_words "$c" memory pids cpu; then pass "$2 enables memory pids cpu ($c)"; else fail "$2: '$c' lacks one of memory pids cpu"; fi
}

cpu_usage() { sed -n 's/^usage_usec //p' "$1/cpu.stat"; }
cpu_throttled() { sed -n 's/^nr_throttled //p' "$1/cpu.stat"; }
uptime_cs() { awk '{ split($1, a, "."); print a[1] * 100 + a[2] }' /proc/uptime; }

# --- 0. the VM ------------------------------------------------------------------------------------
echo "== the VM: $(uname -r), $(nproc) CPUs"
# busybox stat -f does not name cgroup2's magic: the mount table does
check_eq cgroup2 "$(awk '$2 == "/sys/fs/cgroup" { print $3 }' /proc/mounts)" "/sys/fs/cgroup is cgroup2"
if grep -q ' cgroup ' /proc/mounts; then fail "a cgroup v1 hierarchy is mounted"; else pass "no cgroup v1 hierarchy mounted"; fi
ctl=$(cat "$CG/cgroup.controllers")
if has_words "$ctl" cpu io memory pids; then pass "root offers cpu io memory pids ($ctl)"; else fail "root offers only '$ctl'"; fi
if [ -x "$NSP" ] && "$NSP" --version >"$OUT/version" 2>&1; then
	pass "nspawnlite runs in the VM: $(flat "$OUT/version")"
else
	fail "nspawnlite does not run in the VM: $(flat "$OUT/version")"
fi

# --- 1. run ---------------------------------------------------------------------------------------
echo "== run"
rc=0
timeout 60 "$NSP" run --network=none -M vmrun "$GUEST" /bin/true </dev/null >"$OUT/run1" 2>&1 || rc=$?
check_eq 0 "$rc" "run --network=none /guest /bin/true exits 0 ($(flat "$OUT/run1"))"
rc=0
timeout 60 "$NSP" run --network=none -M vmrun "$GUEST" /bin/sh -c 'exit 7' </dev/null >"$OUT/run2" 2>&1 || rc=$?
check_eq 7 "$rc" "run passes on the command's exit status 7"
rc=0
timeout 60 "$NSP" run --network=none -q -M vmrun "$GUEST" /bin/sh -c \
	'grep " /sys/fs/cgroup " /proc/mounts | cut -d" " -f3; cat /proc/self/cgroup; cat /sys/fs/cgroup/cgroup.controllers' \
	</dev/null >"$OUT/run3" 2>&1 || rc=$?
if [ "$rc" = 0 ] && grep -qx cgroup2 "$OUT/run3" && grep -q '^0::/$' "$OUT/run3" &&
	has_words "$(tail -n 1 "$OUT/run3" | tr -d '\r')" memory pids cpu; then
	pass "run: the guest sees cgroup2 at /sys/fs/cgroup as its root 0::/ with memory pids cpu"
else
	fail "run: the guest's cgroup view: status $rc: $(flat "$OUT/run3")"
fi
if wait_for 50 gone vmrun; then pass "run: nothing left (no scope, no runtime dir)"; else
	fail "run: left behind: $(find "$(scope_of vmrun)" "$MACHINES/vmrun" -maxdepth 0 2>/dev/null | tr '\n' ' ')"
fi

# --- 1a. --image= ---------------------------------------------------------------------------------
# The device program of the payload cgroup applies from clone3() on: the supervisor mounts the
# image (detached) and the child only attaches it. run-v2-lane.sh made the image and init.sh loaded
# loop and ext4.
echo "== --image="
IMG=/vmtests/guest.ext4
# loops: the backing files of the bound loop devices, on one line.
loops() { cat /sys/block/loop*/loop/backing_file 2>/dev/null | tr '\n' ' '; }
no_loops() { [ -z "$(loops)" ]; }
if [ ! -e /dev/loop-control ]; then
	fail "--image=: no /dev/loop-control (did init.sh load loop.ko? $(lsmod 2>/dev/null | cut -d' ' -f1 | tr '\n' ' '))"
else
	rc=0
	timeout 60 "$NSP" run --network=none -M vmimg --image="$IMG" /bin/true </dev/null >"$OUT/img-run" 2>&1 || rc=$?
	check_eq 0 "$rc" "run --image=guest.ext4 /bin/true exits 0 ($(flat "$OUT/img-run"))"
	if wait_for 50 no_loops && wait_for 50 gone vmimg; then pass "run --image: no loop device bound, nothing left"; else
		fail "run --image: loop devices bound: '$(loops)', left: $(find "$MACHINES/vmimg" -maxdepth 0 2>/dev/null)"
	fi
	rc=0
	timeout 150 "$NSP" boot -d --wait-ready --timeout=120 --network=none -M vmimg --image="$IMG" \
		</dev/null >"$OUT/boot-vmimg.log" 2>&1 || rc=$?
	if [ "$rc" = 0 ] && alive vmimg; then
		pass "boot -d --wait-ready --image=guest.ext4 exits 0 with a live leader"
		case " $(loops)" in
		*" $IMG "*) pass "boot --image: the image is bound to a loop device while it runs" ;;
		*) fail "boot --image: no loop device of $IMG: '$(loops)'" ;;
		esac
		if grep -q '^/dev/loop' /proc/mounts; then fail "boot --image: a loop device is in the host's mount table: $(grep '^/dev/loop' /proc/mounts | tr '\n' ' ')"; else
			pass "boot --image: nothing of the image in the host's mount table"
		fi
		rc=0
		timeout 90 "$NSP" poweroff vmimg --timeout=30 >"$OUT/poweroff-vmimg" 2>&1 || rc=$?
		check_eq 0 "$rc" "boot --image: poweroff exits 0 ($(flat "$OUT/poweroff-vmimg"))"
	else
		fail "boot -d --wait-ready --image=guest.ext4: status $rc: $(flat "$OUT/boot-vmimg.log")"
		"$NSP" terminate vmimg >/dev/null 2>&1
	fi
	if wait_for 100 gone vmimg && wait_for 50 no_loops; then pass "boot --image: after poweroff no loop device bound, nothing left"; else
		fail "boot --image: after poweroff: loop devices bound: '$(loops)', left: $(find "$MACHINES/vmimg" -maxdepth 0 2>/dev/null)"
	fi
fi

# --- 1b. the seccomp filter on the i386 ABI ---------------------------------------------------------
# Some machines of the build kind run a kernel that will not run i386 code (int $0x80 faults), so the
# filter's i386 rules are checked here, where Debian's kernel runs them. The probe's x86-64 lines are
# the integration tests' business; here only its i386 lines count.
echo "== seccomp: the i386 ABI"
PROBE=/vmtests/nlsec-probe
if [ -x "$PROBE" ]; then
	"$PROBE" syscalls >"$OUT/probe.host" 2>&1
	check_eq OK "$(awk '$1 == "i386:getpid" { print $2 }' "$OUT/probe.host")" "the VM's kernel runs the i386 ABI (int \$0x80 getpid)"
	rc=0
	timeout 60 "$NSP" run --network=none -q -M vmseccomp \
		--capability=CAP_SYS_MODULE,CAP_SYSLOG,CAP_SYS_TIME,CAP_SYS_RAWIO,CAP_SYS_PACCT \
		--bind-ro="$PROBE:/nlsec-probe" "$GUEST" /nlsec-probe syscalls </dev/null >"$OUT/probe.guest" 2>&1 || rc=$?
	check_eq 0 "$rc" "run: the probe runs inside ($(head -c 200 "$OUT/probe.guest" | tr '\n' ' '))"
	bad=""
	n=0
	while read -r name host_res; do
		case $name in i386:socketcall_audit) continue ;; i386:*) ;; *) continue ;; esac
		guest_res=$(awk -v n="$name" '$1 == n { print $2 }' "$OUT/probe.guest")
		case $name in
		i386:getpid) want=OK ;;
		i386:audit_socket) want=EAFNOSUPPORT ;;
		*) want=EPERM ;;
		esac
		# where the VM says EPERM already, the filter's answer cannot be told apart
		[ "$want" = EPERM ] && [ "$host_res" = EPERM ] && continue
		n=$((n + 1))
		[ "$guest_res" = "$want" ] || bad="$bad $name=$guest_res(want $want)"
	done <"$OUT/probe.host"
	if [ -z "$bad" ] && [ "$n" -ge 10 ]; then
		pass "run: $n i386 syscalls give the filter's answer inside (EPERM; EAFNOSUPPORT for the audit socket)"
	else
		fail "run: i386 syscalls inside ($n probed):$bad"
	fi
else
	fail "no $PROBE in the initramfs"
fi

# --- 2. a booted machine with limits -----------------------------------------------------------------
echo "== boot with --memory-max=64M --pids-max=32 --cpu-quota=50%"
M=lim
S=$(scope_of $M)
if up $M --memory-max=64M --pids-max=32 --cpu-quota=50%; then
	L=$(leader $M)
	if [ -d "$S/payload" ]; then pass "$M: cgroup $S/payload exists"; else fail "$M: no $S/payload"; fi
	check_eq "0::/machine.slice/machine-$M.scope/payload" "$(cat "/proc/$L/cgroup")" "$M: the leader is in …/payload"
	SUP=$(state $M supervisor)
	check_eq "0::/machine.slice/machine-$M.scope/supervisor" "$(cat "/proc/$SUP/cgroup" 2>&1)" \
		"$M: the supervisor is in …/supervisor"
	check_controllers "$CG/cgroup.subtree_control" "root cgroup.subtree_control"
	check_controllers "$SLICE/cgroup.subtree_control" "machine.slice cgroup.subtree_control"
	check_controllers "$S/cgroup.subtree_control" "machine-$M.scope cgroup.subtree_control"
	check_eq 67108864 "$(cat "$S/memory.max")" "$M: memory.max of the scope"
	check_eq 32 "$(cat "$S/pids.max")" "$M: pids.max of the scope"
	check_eq "50000 100000" "$(cat "$S/cpu.max")" "$M: cpu.max of the scope"

	# status --json: accounting as numbers
	rc=0
	"$NSP" status $M --json >"$OUT/status.json" 2>&1 || rc=$?
	js=$(cat "$OUT/status.json")
	ok=1
	for k in memory_current tasks cpu_usec; do
		echo "$js" | grep -Eq "\"$k\":[0-9]+[,}]" || ok=0
	done
	if [ "$rc" = 0 ] && [ "$ok" = 1 ]; then
		pass "status --json: memory_current, tasks and cpu_usec are numbers"
	else
		fail "status --json (status $rc): $js"
	fi
	tasks=$(echo "$js" | sed -n 's/.*"tasks":\([0-9]*\).*/\1/p')
	check_eq "$(cat "$S/pids.current")" "$tasks" "status --json: tasks is the scope's pids.current"
	"$NSP" status $M >"$OUT/status.txt" 2>&1 || true
	if grep -q 'memory-max=64.0M' "$OUT/status.txt" && grep -q 'pids-max=32' "$OUT/status.txt" &&
		grep -q 'cpu-quota=50%' "$OUT/status.txt" && grep -Eq 'Tasks: [0-9]+' "$OUT/status.txt"; then
		pass "status shows the limits and the task count"
	else
		fail "status: $(flat "$OUT/status.txt")"
	fi

	# pids.max enforced: a fork loop hits 32. Before Linux 6.2 (?) pids.events "max" counts in the
	# forking task's cgroup (payload), not in the one whose limit was hit: add both.
	pids_max_events() { echo $(($(events_val "$S/pids.events" max) + $(events_val "$S/payload/pids.events" max))); }
	max0=$(pids_max_events)
	in_guest $M /bin/sh -c 'for i in $(seq 100); do sleep 30 & done; echo loop-done' >"$OUT/forks" 2>&1
	cur=$(cat "$S/pids.current")
	max1=$(pids_max_events)
	if [ "$cur" -le 32 ] && [ "${max1:-0}" -gt "${max0:-0}" ] && grep -qi 'fork' "$OUT/forks"; then
		pass "pids-max=32 enforced: pids.current $cur, pids.events max $max0 -> $max1, the loop saw fork failures"
	else
		fail "pids-max=32: pids.current $cur, pids.events max $max0 -> $max1, loop said: $(flat "$OUT/forks")"
	fi
	while read -r p; do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ] && kill "$p" 2>/dev/null
	done <"$S/payload/cgroup.procs"
	wait_for 50 sh -c "[ \$(cat $S/pids.current) -lt 16 ]" || log "sleeps still there: $(cat "$S/pids.current") tasks"

	# memory.max enforced: 16M fits, 200M is OOM-killed (dd's buffer is one malloc of bs bytes)
	oom0=$(events_val "$S/memory.events" oom_kill)
	in_guest $M /bin/sh -c 'dd if=/dev/zero of=/dev/null bs=16M count=2 2>/dev/null; echo "rc=$?"' >"$OUT/mem16" 2>&1
	if grep -q '^rc=0' "$OUT/mem16"; then pass "memory-max=64M: a 16M allocation runs"; else fail "memory-max=64M: a 16M allocation: $(flat "$OUT/mem16")"; fi
	in_guest $M /bin/sh -c 'dd if=/dev/zero of=/dev/null bs=200M count=1 2>/dev/null; echo "rc=$?"' >"$OUT/mem200" 2>&1
	oom1=$(events_val "$S/memory.events" oom_kill)
	peak=$(cat "$S/memory.peak" 2>/dev/null || echo '?')
	if grep -q '^rc=137' "$OUT/mem200" && [ "${oom1:-0}" -gt "${oom0:-0}" ]; then
		pass "memory-max=64M enforced: a 200M allocation is OOM-killed (oom_kill $oom0 -> $oom1, peak $peak)"
	else
		fail "memory-max=64M: a 200M allocation: $(flat "$OUT/mem200"), oom_kill $oom0 -> $oom1, peak $peak"
	fi

	# cpu.max enforced: two busy loops get about half a CPU
	u0=$(cpu_usage "$S")
	th0=$(cpu_throttled "$S")
	t0=$(uptime_cs)
	in_guest $M /bin/sh -c '(while :; do :; done) & a=$!; (while :; do :; done) & b=$!; sleep 4; kill $a $b' >"$OUT/cpu" 2>&1
	u1=$(cpu_usage "$S")
	th1=$(cpu_throttled "$S")
	t1=$(uptime_cs)
	# percent of one CPU used over the wall time
	pct=$(((u1 - u0) / ((t1 - t0) * 100)))
	if [ "$pct" -le 65 ] && [ "$pct" -ge 20 ] && [ "$th1" -gt "$th0" ]; then
		pass "cpu-quota=50% enforced: two busy loops used $pct% of a CPU, throttled $th0 -> $th1"
	else
		fail "cpu-quota=50%: two busy loops used $pct% of a CPU over $((t1 - t0)) cs, throttled $th0 -> $th1"
	fi

	# set-limit
	rc=0
	"$NSP" set-limit $M pids-max=64 memory-max=128M cpu-quota=infinity >"$OUT/setlimit" 2>&1 || rc=$?
	got="$(cat "$S/pids.max") $(cat "$S/memory.max") $(cat "$S/cpu.max")"
	check_eq "0 64 134217728 max 100000" "$rc $got" "set-limit pids-max=64 memory-max=128M cpu-quota=infinity changes pids.max, memory.max, cpu.max"
	"$NSP" status $M --json >"$OUT/status2.json" 2>&1 || true
	if grep -q '"pids-max":64' "$OUT/status2.json" && grep -q '"memory-max":134217728' "$OUT/status2.json"; then
		pass "status --json shows the new limits"
	else
		fail "status --json after set-limit: $(flat "$OUT/status2.json")"
	fi

	# freeze / thaw, with two busy loops running (no quota now)
	in_guest $M /bin/sh -c '(while :; do :; done) </dev/null >/dev/null 2>&1 & (while :; do :; done) </dev/null >/dev/null 2>&1 &'
	sleep 1
	# cgroup.freeze may go on the scope or on payload (if the supervisor lives in …/supervisor, it
	# must not freeze itself); payload's cgroup.events tells the guest's effective state.
	freeze_files() { echo "$(cat "$S/cgroup.freeze") $(cat "$S/payload/cgroup.freeze")"; }
	rc=0
	"$NSP" freeze $M >"$OUT/freeze" 2>&1 || rc=$?
	ev=$(events_val "$S/payload/cgroup.events" frozen)
	check_eq "0 1" "$rc $ev" "freeze returns once the machine is frozen (status, cgroup.events frozen right after)"
	if [ "$rc" = 0 ] && [ "$(freeze_files)" != "0 0" ] && wait_for 50 grep -qx 'frozen 1' "$S/payload/cgroup.events"; then
		pass "freeze: cgroup.freeze 1 (scope, payload: $(freeze_files)), cgroup.events frozen 1"
	else
		fail "freeze: status $rc ($(flat "$OUT/freeze")), cgroup.freeze (scope, payload) $(freeze_files), payload's events: $(flat "$S/payload/cgroup.events")"
	fi
	u0=$(cpu_usage "$S")
	sleep 1
	check_eq "$u0" "$(cpu_usage "$S")" "frozen: the busy loops use no CPU"
	check_eq frozen "$(state $M state)" "frozen: the state file says frozen"
	rc=0
	"$NSP" thaw $M >"$OUT/thaw" 2>&1 || rc=$?
	if [ "$rc" = 0 ] && [ "$(freeze_files)" = "0 0" ] && wait_for 50 grep -qx 'frozen 0' "$S/payload/cgroup.events"; then
		pass "thaw: cgroup.freeze 0, cgroup.events frozen 0"
	else
		fail "thaw: status $rc ($(flat "$OUT/thaw")), cgroup.freeze (scope, payload) $(freeze_files), payload's events: $(flat "$S/payload/cgroup.events")"
	fi
	check_eq alive "$(in_guest $M /bin/echo alive 2>&1)" "the thawed machine runs commands"

	# The device policy on cgroup v2: a BPF program on payload; the guest keeps CAP_MKNOD.
	l=$(state $M leader)
	capbnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' "/proc/$l/status")
	check_eq 1 "$(( (0x$capbnd >> 27) & 1 ))" "devices: the guest keeps CAP_MKNOD (a BPF program filters devices)"
	check_eq "denied ok" "$(in_guest $M /bin/sh -c 'mknod /tmp/sda b 8 0 2>/dev/null && echo allowed || echo denied;
		head -c 1 /dev/zero >/dev/null && echo ok' 2>&1 | tr '\n' ' ' | sed 's/ $//')" \
		"devices: mknod of a disk is refused, /dev/zero works"

	# terminate (cgroup.kill): leave a process that ignores SIGTERM first
	in_guest $M /bin/sh -c 'trap "" TERM; sleep 300 </dev/null >/dev/null 2>&1 &' >/dev/null 2>&1
	rc=0
	timeout 60 "$NSP" terminate $M >"$OUT/terminate" 2>&1 || rc=$?
	check_eq 0 "$rc" "terminate exits 0 ($(flat "$OUT/terminate"))"
	if wait_for 100 gone $M && ! kill -0 "$L" 2>/dev/null; then
		pass "terminate: leader gone, no scope, no runtime dir"
	else
		fail "terminate: leader $(kill -0 "$L" 2>/dev/null && echo alive || echo gone), left: $(find "$S" "$MACHINES/$M" -maxdepth 0 2>/dev/null | tr '\n' ' ')"
	fi
	if pgrep -x sleep >/dev/null 2>&1; then fail "terminate: a guest sleep survived: $(pgrep -x sleep | tr '\n' ' ')"; else pass "terminate: no guest process survived"; fi
fi

# --- 3. weights; terminate while frozen ------------------------------------------------------------
echo "== --cpu-weight, --io-weight; terminate a frozen machine"
M=wt
S=$(scope_of $M)
if up $M --cpu-weight=200 --io-weight=300; then
	L=$(leader $M)
	check_eq 200 "$(cat "$S/cpu.weight")" "$M: cpu.weight of the scope"
	check_eq "default 300" "$(cat "$S/io.weight" 2>&1)" "$M: io.weight of the scope"
	rc=0
	"$NSP" set-limit $M cpu-weight=50 io-weight=20 >"$OUT/setlimit-wt" 2>&1 || rc=$?
	check_eq "0 50 default 20" "$rc $(cat "$S/cpu.weight") $(cat "$S/io.weight")" "set-limit cpu-weight=50 io-weight=20"
	"$NSP" freeze $M >/dev/null 2>&1 || log "freeze $M failed"
	wait_for 50 grep -qx 'frozen 1' "$S/payload/cgroup.events" || log "$M did not freeze"
	rc=0
	timeout 60 "$NSP" terminate $M >"$OUT/terminate-wt" 2>&1 || rc=$?
	if [ "$rc" = 0 ] && wait_for 100 gone $M && ! kill -0 "$L" 2>/dev/null; then
		pass "terminate of a frozen machine: leader gone, no scope, no runtime dir"
	else
		fail "terminate of a frozen machine: status $rc ($(flat "$OUT/terminate-wt")), leader $(kill -0 "$L" 2>/dev/null && echo alive || echo gone), left: $(find "$S" "$MACHINES/$M" -maxdepth 0 2>/dev/null | tr '\n' ' ')"
	fi
fi

# --- 4. delegation: the guest manages its own cgroup2 subtree ----------------------------------------
echo "== delegation"
M=deleg
S=$(scope_of $M)
if up $M; then
	L=$(leader $M)
	# The helper's outer processes go to a leaf that the guest would make anyway (see in_guest).
	mkdir "$S/payload/init.scope"
	IG_CGROUP=init.scope in_guest $M /bin/sh -c '
		cd /sys/fs/cgroup || exit 1
		echo "fs=$(grep " /sys/fs/cgroup " /proc/mounts | cut -d" " -f3)"
		echo "self=$(cat /proc/self/cgroup)"
		echo "controllers=$(cat cgroup.controllers)"
		mkdir test && echo "mkdir=ok"
		# no internal processes: every process of the root moves to a leaf before controllers go on
		mkdir -p init.scope
		for i in 1 2 3; do
			for p in $(cat cgroup.procs); do echo "$p" >init.scope/cgroup.procs 2>/dev/null; done
		done
		echo "root-procs=$(cat cgroup.procs | wc -l)"
		for c in pids memory cpu; do echo "+$c" >cgroup.subtree_control && echo "enable-$c=ok"; done
		echo "subtree=$(cat cgroup.subtree_control)"
		echo 10 >test/pids.max && echo "pids.max=$(cat test/pids.max)"
		echo 32M >test/memory.max && echo "memory.max=$(cat test/memory.max)"
	' >"$OUT/deleg" 2>&1
	d=$(tr -d '\r' <"$OUT/deleg")
	log "guest said: $(echo "$d" | tr '\n' ' ')"
	case " $(echo "$d" | tr '\n' ' ') " in *" fs=cgroup2 "*) pass "guest: /sys/fs/cgroup is cgroup2" ;; *) fail "guest: /sys/fs/cgroup: $(echo "$d" | head -n 1)" ;; esac
	if has_words "$(echo "$d" | sed -n 's/^controllers=//p')" memory pids cpu; then
		pass "guest: its root offers memory pids cpu"
	else
		fail "guest: its root offers '$(echo "$d" | sed -n 's/^controllers=//p')'"
	fi
	case $d in *"mkdir=ok"*) pass "guest: creates a child cgroup" ;; *) fail "guest: mkdir /sys/fs/cgroup/test failed: $(echo "$d" | tr '\n' ' ')" ;; esac
	case $d in *"enable-pids=ok"*"enable-memory=ok"*"enable-cpu=ok"*) pass "guest: enables pids memory cpu for its children" ;;
	*) fail "guest: enabling controllers: $(echo "$d" | tr '\n' ' ')" ;; esac
	check_eq 10 "$(cat "$S/payload/test/pids.max" 2>&1)" "guest: its child's pids.max is written (seen from the host in payload/test)"
	check_eq 33554432 "$(cat "$S/payload/test/memory.max" 2>&1)" "guest: its child's memory.max is written"

	# A reboot after the guest enabled controllers in its root (as systemd in a guest always does):
	# the new init must still get into payload.
	tail -f "$MACHINES/$M/console.log" >"$OUT/console-$M" 2>/dev/null &
	tailpid=$!
	rc=0
	timeout 30 "$NSP" reboot $M >"$OUT/reboot" 2>&1 || rc=$?
	check_eq 0 "$rc" "reboot exits 0 ($(flat "$OUT/reboot"))"
	new_leader() {
		p=$(leader $M)
		[ -n "$p" ] && [ "$p" != "$L" ] && kill -0 "$p" 2>/dev/null
	}
	new_leader_or_gone() { new_leader || [ ! -e "$MACHINES/$M" ]; }
	wait_for 600 new_leader_or_gone
	if new_leader; then
		L2=$(leader $M)
		check_eq "0::/machine.slice/machine-$M.scope/payload" "$(cat "/proc/$L2/cgroup" 2>&1)" \
			"reboot after the guest enabled controllers: a new init runs in …/payload"
		L=$L2
	else
		sleep 1.5 # busybox tail -f polls once a second
		fail "reboot after the guest enabled controllers: no new init (machine $M $(if [ -e "$MACHINES/$M" ]; then echo "is $(state $M state)"; else echo "is gone"; fi); supervisor: $(flat "$OUT/boot-$M.log"); console: $(tail -n 4 "$OUT/console-$M" | tr '\r\n' '  '))"
	fi
	kill "$tailpid" 2>/dev/null

	if alive $M; then
		rc=0
		timeout 90 "$NSP" poweroff $M --timeout=30 >"$OUT/poweroff" 2>&1 || rc=$?
		check_eq 0 "$rc" "poweroff exits 0 ($(flat "$OUT/poweroff"))"
		what="poweroff"
	else
		what="the failed reboot"
	fi
	if wait_for 100 gone $M && ! kill -0 "$L" 2>/dev/null; then
		pass "after $what: leader gone, no scope (with the guest's own children), no runtime dir"
	else
		fail "after $what: left: $(find "$S" "$MACHINES/$M" 2>&1 | head -n 8 | tr '\n' ' ')"
	fi
fi

# --- 5. nothing left ------------------------------------------------------------------------------
echo "== leftovers"
left=$(find "$SLICE" "$MACHINES" -mindepth 1 -maxdepth 1 \( -name 'machine-*.scope' -o -path "$MACHINES/*" \) 2>/dev/null | tr '\n' ' ')
check_eq "" "$left" "no machine-*.scope under machine.slice, nothing in /run/nspawnlite/machines"
if [ -e "$SLICE" ]; then fail "machine.slice is still there though empty: $(find "$SLICE" -mindepth 1 -maxdepth 1 -type d | tr '\n' ' ')"; else pass "machine.slice removed once empty"; fi
"$NSP" list >"$OUT/list" 2>&1 || true
if grep -q '^0 machines listed' "$OUT/list"; then pass "list: 0 machines"; else fail "list: $(flat "$OUT/list")"; fi

echo "NSPAWNLITE-VM-RESULT: $PASSED passed, $FAILED failed" | tee /run/vm-result
[ "$FAILED" = 0 ]
