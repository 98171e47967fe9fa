#!/bin/bash
# shellcheck disable=SC2016 # the guest's commands are single-quoted: its shell expands them
# The systemd-host checks of the VM lane, run inside the VM by nspawnlite-vm-tests.service (see
# sd-host.sh): systemd is PID 1 on pure cgroup2 with every controller, machined on the bus. Each
# check prints "vm-sd: ok …" or "vm-sd: FAIL …" on the serial console; the last line is
# "NSPAWNLITE-VM-SD-RESULT: N passed, M failed". Then the VM powers off.
set -u
NSP=/vmtests/nspawnlite
GUEST=/vmtests/guest
CG=/sys/fs/cgroup
MACHINES=/run/nspawnlite/machines
OUT=/tmp/vm-sd
PASSED=0
FAILED=0
mkdir -p "$OUT"

pass() {
	PASSED=$((PASSED + 1))
	echo "vm-sd: ok $* [$(cut -d' ' -f1 /proc/uptime) s]"
}
fail() {
	FAILED=$((FAILED + 1))
	echo "vm-sd: FAIL $* [$(cut -d' ' -f1 /proc/uptime) s]"
}
section() { echo "vm-sd: == $* (at $(cut -d' ' -f1 /proc/uptime) s)"; }
flat() { tr '\n' ' ' <"$1" 2>/dev/null | cut -c1-400; }
check_eq() { # EXPECTED ACTUAL WHAT
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: expected '$1', got '$2'"; fi
}
# wait_for TENTHS COMMAND…: retry COMMAND until it succeeds, 0.1 s apart.
wait_for() {
	local n=$1
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
state() { sed -n "s/^$2=//p" "$MACHINES/$1/state" 2>/dev/null; }
scope_of() { echo "$CG/machine.slice/machine-$1.scope"; }
events_val() { sed -n "s/^$2 //p" "$1" 2>/dev/null; }
# show UNIT PROP…: the values of PROP… of UNIT, on one line.
show() {
	local u=$1 p out=""
	shift
	for p in "$@"; do out="$out $(systemctl show "$u" -p "$p" --value 2>&1)"; done
	echo "${out# }"
}
# gone NAME: no runtime dir, no scope cgroup, no loaded unit, not in machined.
gone() {
	[ ! -e "$MACHINES/$1" ] && [ ! -e "$(scope_of "$1")" ] &&
		[ "$(systemctl show "machine-$1.scope" -p LoadState --value 2>/dev/null)" = not-found ] &&
		! machinectl show "$1" >/dev/null 2>&1
}
leftovers() {
	echo "runtime:$(ls -d "$MACHINES/$1" 2>/dev/null) cgroup:$(ls -d "$(scope_of "$1")" 2>/dev/null)" \
		"unit:$(systemctl show "machine-$1.scope" -p LoadState,ActiveState --value 2>&1 | tr '\n' ' ')" \
		"machined:$(machinectl show "$1" -p State --value 2>&1)"
}
# in_guest NAME CMD…: CMD in the machine's namespaces and payload cgroup (nsenter; cgroup
# membership is what the limits count). The helper's own shell stays outside the guest's pid ns.
in_guest() {
	local l
	l=$(state "$1" leader)
	[ -n "$l" ] || return 97
	sh -c 'cg=$1 l=$2; shift 2
		echo $$ >"$cg/cgroup.procs" || exit 96
		exec timeout -s KILL 60 nsenter -t "$l" -m -u -i -n -p -r -w -- "$@"' in_guest \
		"$(scope_of "$1")/payload" "$l" "${@:2}"
}
# up NAME ARGS…: boot -d --wait-ready the busybox guest as NAME.
up() {
	local n=$1 rc=0
	shift
	timeout 150 "$NSP" boot -d --wait-ready --timeout=120 --network=none -M "$n" "$@" "$GUEST" \
		</dev/null >"$OUT/boot-$n.log" 2>&1 || rc=$?
	if [ "$rc" = 0 ] && [ -n "$(state "$n" leader)" ]; then
		pass "$n: boot -d --wait-ready $* exits 0 with a leader"
		return 0
	fi
	fail "$n: boot -d --wait-ready $*: status $rc: $(flat "$OUT/boot-$n.log")"
	return 1
}

echo "vm-sd: systemd $(systemctl --version | head -n 1 | cut -d' ' -f2), kernel $(uname -r), $(nproc) CPUs," \
	"system $(systemctl is-system-running 2>&1), checks start at $(cut -d' ' -f1 /proc/uptime) s"

# --- 0. the host --------------------------------------------------------------------------------------
section "the host"
check_eq "cgroup2fs systemd no-v1" "$(stat -f -c %T $CG) $(cat /proc/1/comm) $(grep -q ' cgroup ' /proc/mounts && echo v1 || echo no-v1)" \
	"the VM: systemd is PID 1 on pure cgroup2, no v1 hierarchy"
ctl=" $(cat $CG/cgroup.controllers) "
if [[ $ctl == *" cpu "* && $ctl == *" io "* && $ctl == *" memory "* && $ctl == *" pids "* ]]; then
	pass "the root offers cpu io memory pids ($ctl)"
else
	fail "the root offers only '$ctl'"
fi
if "$NSP" --version >"$OUT/version" 2>&1; then pass "nspawnlite runs: $(flat "$OUT/version")"; else
	fail "nspawnlite does not run: $(flat "$OUT/version")"
fi

# --- 1. limits at boot are the unit's properties, and enforced ------------------------------------------
section "limits at boot, as unit properties"
M=lim
S=$(scope_of $M)
if up $M --memory-max=64M --pids-max=32 --cpu-weight=200 --cpu-quota=50% --io-weight=300; then
	U=machine-$M.scope
	check_eq "active yes machine.slice" "$(show $U ActiveState Delegate Slice)" "$U: active, Delegate=yes, in machine.slice"
	check_eq "67108864 32 200 500ms 300" "$(show $U MemoryMax TasksMax CPUWeight CPUQuotaPerSecUSec IOWeight)" \
		"$U: MemoryMax TasksMax CPUWeight CPUQuotaPerSecUSec IOWeight are the boot's limits"
	check_eq "67108864 32 200 50000 100000" "$(cat "$S/memory.max" "$S/pids.max" "$S/cpu.weight" "$S/cpu.max" | tr '\n' ' ' | sed 's/ $//')" \
		"$U: systemd wrote them to memory.max pids.max cpu.weight cpu.max"
	L=$(state $M leader)
	check_eq "0::/machine.slice/$U/payload" "$(cat "/proc/$L/cgroup" 2>&1)" "$M: the guest's init is in $U/payload"
	check_eq "running $U $L" "$(for p in State Unit Leader; do machinectl show $M -p $p --value 2>&1; done | tr '\n' ' ' | sed 's/ $//')" \
		"machined: $M is running in $U with the guest's init as leader"
	if machinectl list --no-legend 2>&1 | grep -q "^$M  *container  *nspawnlite"; then
		pass "machinectl list shows $M (container, nspawnlite)"
	else
		fail "machinectl list: $(machinectl list --no-legend 2>&1 | tr '\n' ' ')"
	fi

	# a fork bomb stops at 32 tasks (pids.events counts where the fork failed: add payload's)
	pmax() { echo $(($(events_val "$S/pids.events" max) + $(events_val "$S/payload/pids.events" max))); }
	max0=$(pmax)
	in_guest $M /bin/sh -c 'for i in $(seq 100); do sleep 30 & done; echo loop-done' >"$OUT/forks" 2>&1
	cur=$(cat "$S/pids.current")
	max1=$(pmax)
	if [ "$cur" -le 32 ] && [ "$max1" -gt "$max0" ] && grep -qi fork "$OUT/forks"; then
		pass "TasksMax=32 enforced: a fork loop stops at pids.current $cur, pids.events max $max0 -> $max1"
	else
		fail "TasksMax=32: pids.current $cur, pids.events max $max0 -> $max1, the loop said: $(flat "$OUT/forks")"
	fi
	for p in $(cat "$S/payload/cgroup.procs"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ] && kill "$p" 2>/dev/null
	done
	wait_for 50 test "$(cat "$S/pids.current")" -lt 16

	# a memory hog is OOM-killed (busybox dd's buffer is one allocation of bs bytes); 16M fits
	oom0=$(events_val "$S/memory.events" oom_kill)
	in_guest $M /bin/sh -c 'dd if=/dev/zero of=/dev/null bs=16M count=2 2>/dev/null; echo "rc=$?"' >"$OUT/mem16" 2>&1
	in_guest $M /bin/sh -c 'dd if=/dev/zero of=/dev/null bs=200M count=1 2>/dev/null; echo "rc=$?"' >"$OUT/mem200" 2>&1
	oom1=$(events_val "$S/memory.events" oom_kill)
	if grep -q '^rc=0' "$OUT/mem16" && grep -q '^rc=137' "$OUT/mem200" && [ "${oom1:-0}" -gt "${oom0:-0}" ]; then
		pass "MemoryMax=64M enforced: 16M runs, a 200M allocation is OOM-killed (oom_kill $oom0 -> $oom1)"
	else
		fail "MemoryMax=64M: 16M: $(flat "$OUT/mem16"), 200M: $(flat "$OUT/mem200"), oom_kill $oom0 -> $oom1"
	fi
	check_eq "active" "$(show $U ActiveState)" "$U: still active after the OOM kill"

	# set-limit goes through SetUnitProperties: the unit holds the new values
	rc=0
	"$NSP" set-limit $M memory-max=128M pids-max=64 cpu-weight=50 cpu-quota=infinity io-weight=20 \
		>"$OUT/set-limit" 2>&1 || rc=$?
	check_eq "0 134217728 64 50 infinity 20" "$rc $(show $U MemoryMax TasksMax CPUWeight CPUQuotaPerSecUSec IOWeight)" \
		"set-limit: the unit's MemoryMax TasksMax CPUWeight CPUQuotaPerSecUSec IOWeight change ($(flat "$OUT/set-limit"))"
	check_eq "134217728 64 max 100000" "$(cat "$S/memory.max" "$S/pids.max" "$S/cpu.max" | tr '\n' ' ' | sed 's/ $//')" \
		"set-limit: memory.max pids.max cpu.max follow"
	"$NSP" status $M --json >"$OUT/status.json" 2>&1
	if grep -q '"memory-max":134217728' "$OUT/status.json" && grep -q '"pids-max":64' "$OUT/status.json"; then
		pass "status --json shows the new limits"
	else
		fail "status --json after set-limit: $(flat "$OUT/status.json")"
	fi

	rc=0
	timeout 90 "$NSP" poweroff $M --timeout=30 >"$OUT/poweroff" 2>&1 || rc=$?
	check_eq 0 "$rc" "poweroff $M exits 0 ($(flat "$OUT/poweroff"))"
	if wait_for 100 gone $M; then pass "after poweroff: no runtime dir, no cgroup, no unit, not in machined"; else
		fail "after poweroff: $(leftovers $M)"
	fi
fi

# --- 2. nspawnlite@NAME.service of a store machine --------------------------------------------------------
section "nspawnlite@NAME.service"
# The unit as meson installs it, with this binary; the machine has no network (no veth in the VM's kernel).
M=bbsvc
SVC=nspawnlite@$M.service
mkdir -p /var/lib/machines /etc/systemd/nspawn
cp -a "$GUEST" /var/lib/machines/$M
printf '[Network]\nPrivate=yes\n' >/etc/systemd/nspawn/$M.nspawn
sed "s|^ExecStart=[^ ]*|ExecStart=$NSP|" /vmtests/nspawnlite@.service >/etc/systemd/system/nspawnlite@.service
systemctl daemon-reload
rc=0
timeout 120 systemctl start $SVC >"$OUT/svc-start" 2>&1 || rc=$?
check_eq "0 active running" "$rc $(show $SVC ActiveState SubState)" "systemctl start $SVC: active (READY=1 came) ($(flat "$OUT/svc-start"))"
L=$(state $M leader)
check_eq "0::/machine.slice/$SVC/payload $SVC" "$(cat "/proc/$L/cgroup" 2>&1) $(machinectl show $M -p Unit --value 2>&1)" \
	"$SVC: the guest in the service's payload, machined names the service"
if "$NSP" list 2>&1 | grep -q "^$M  *running"; then pass "nspawnlite list: $M running"; else fail "nspawnlite list: $("$NSP" list 2>&1 | tr '\n' ' ')"; fi
# --keep-unit: set-limit changes the service's own properties
rc=0
"$NSP" set-limit $M memory-max=96M pids-max=100 >"$OUT/svc-set-limit" 2>&1 || rc=$?
check_eq "0 100663296 100 100663296" "$rc $(show $SVC MemoryMax TasksMax) $(cat "$CG/machine.slice/$SVC/memory.max" 2>&1)" \
	"set-limit of $M: the service's MemoryMax and TasksMax, and its memory.max ($(flat "$OUT/svc-set-limit"))"
rc=0
timeout 90 systemctl stop $SVC >"$OUT/svc-stop" 2>&1 || rc=$?
check_eq "0 inactive success" "$rc $(show $SVC ActiveState Result)" "systemctl stop $SVC: inactive, Result=success ($(flat "$OUT/svc-stop"))"
# The guest's console is the service's output: busybox init says how it ended.
journalctl -q -o cat -u $SVC --no-pager >"$OUT/svc-journal" 2>&1
if grep -q 'Requesting system poweroff' "$OUT/svc-journal"; then
	pass "$SVC: the guest powered off through its init (its console: Requesting system poweroff)"
else
	fail "$SVC: no poweroff of the guest's init in the journal: $(tail -n 6 "$OUT/svc-journal" | tr '\n' '|')"
fi
if wait_for 50 test ! -e "$MACHINES/$M" && ! machinectl show $M >/dev/null 2>&1; then pass "$SVC stopped: no runtime dir, not in machined"; else
	fail "$SVC stopped: runtime:$(ls -d "$MACHINES/$M" 2>/dev/null) machined:$(machinectl show $M -p State --value 2>&1)"
fi

# --- 3. SIGKILL of a supervisor, then gc -----------------------------------------------------------------
section "SIGKILL of a supervisor, gc"
M=killed
S=$(scope_of $M)
if up $M --memory-max=100M; then
	SUP=$(state $M supervisor)
	L=$(state $M leader)
	kill -KILL "$SUP"
	# the guest dies with its supervisor
	if wait_for 100 sh -c "! kill -0 $L"; then pass "$M: the guest died with its SIGKILLed supervisor"; else fail "$M: leader $L alive after its supervisor's SIGKILL"; fi
	rc=0
	"$NSP" list >"$OUT/list-killed" 2>&1 || rc=$?
	if [ "$rc" = 0 ] && ! grep -q "^$M " "$OUT/list-killed"; then pass "list exits 0 and no longer shows $M"; else
		fail "list after the SIGKILL: status $rc: $(flat "$OUT/list-killed")"
	fi
	rc=0
	timeout 60 "$NSP" gc >"$OUT/gc" 2>&1 || rc=$?
	check_eq "0 1" "$rc $(grep -c "Removed the leftovers of machine $M" "$OUT/gc")" "gc exits 0 and removes $M's leftovers ($(flat "$OUT/gc"))"
	if wait_for 50 gone $M; then pass "after SIGKILL and gc: no runtime dir, no cgroup, no unit, not in machined"; else
		fail "after SIGKILL and gc: $(leftovers $M)"
	fi
fi

# The name boots again; a stop of its unit from outside ends it, and nspawnlite follows. The
# supervisor is the scope's Controller=, so systemd asks it (RequestStop) instead of signalling
# every process of the scope, and it powers the guest off through its init as a SIGTERM would. The
# console log (the supervisor's messages too) says so: "systemd asks to stop unit", "Asking … to
# power off", busybox init's "Requesting system poweroff", nothing killed ("was killed", "Killing",
# "killing it": the supervisor's words; the machine's name is "killed"); and the stop ends well
# within systemd's 90 s. Three times: without the controller about 1 stop in 4 was killed.
# NSPAWNLITE_VM_SCOPE_STOP=0 (sd-host.sh writes it to /vmtests/options) leaves it out.
# shellcheck disable=SC1091
[ ! -f /vmtests/options ] || . /vmtests/options
if [ "${SCOPE_STOP:-1}" = 0 ]; then
	echo "vm-sd: (systemctl stop machine-NAME.scope not checked: NSPAWNLITE_VM_SCOPE_STOP=0)"
else
	for i in 1 2 3; do
		up $M || break
		# The console log goes with the machine: follow it meanwhile.
		tail -s 0.1 -n +1 -f "$MACHINES/$M/console.log" >"$OUT/stop-console-$i" 2>/dev/null &
		tailpid=$!
		rc=0 t0=$(cut -d' ' -f1 /proc/uptime)
		timeout 100 systemctl stop machine-$M.scope >"$OUT/stop-scope" 2>&1 || rc=$?
		took=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%d", b - a }')
		check_eq "0 yes" "$rc $([ "$took" -lt 30 ] && echo yes || echo "no ($took s)")" \
			"stop $i: systemctl stop machine-$M.scope exits 0 within 30 s ($(flat "$OUT/stop-scope"))"
		if wait_for 100 gone $M && ! "$NSP" list 2>&1 | grep -q "^$M "; then
			pass "stop $i: after systemctl stop machine-$M.scope: not listed, no runtime dir, no cgroup, no unit, not in machined"
		else
			fail "stop $i: after systemctl stop machine-$M.scope: $(leftovers $M); list: $("$NSP" list 2>&1 | tr '\n' ' ')"
		fi
		sleep 0.3
		kill "$tailpid" 2>/dev/null
		wait "$tailpid" 2>/dev/null
		said=""
		for w in "systemd asks to stop unit machine-$M.scope" "Asking $M to power off" "Requesting system poweroff" "was killed\|Killing\|killing it"; do
			said="$said$(grep -c "$w" "$OUT/stop-console-$i") "
		done
		check_eq "1 1 1 0 " "$said" \
			"stop $i: the console says: systemd asks to stop unit, Asking $M to power off, Requesting system poweroff, nothing killed"
		if [ "$rc" != 0 ] || [ "$said" != "1 1 1 0 " ]; then
			# what systemd and the supervisor did meanwhile
			journalctl -q -o short-monotonic -n 40 --no-pager 2>&1 | sed 's/^/vm-sd:   journal: /'
			tail -n 15 "$OUT/stop-console-$i" 2>&1 | tr -d '\r' | sed 's/^/vm-sd:   console: /'
			break
		fi
	done
fi

# --- 4. nothing left -------------------------------------------------------------------------------------
section "leftovers"
left=$(find $CG/machine.slice -mindepth 1 -maxdepth 1 -name 'machine-*' 2>/dev/null | tr '\n' ' ')
check_eq "" "$left$(ls $MACHINES 2>/dev/null)$(machinectl list --no-legend 2>&1)" \
	"nothing left: no machine-* cgroup, no runtime dir, machined lists nothing"

echo "NSPAWNLITE-VM-SD-RESULT: $PASSED passed, $FAILED failed"
echo "vm-sd: checks ended at $(cut -d' ' -f1 /proc/uptime) s"
