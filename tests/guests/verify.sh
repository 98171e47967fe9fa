#!/bin/bash
# verify.sh KIND...
#
# Boots a throw-away copy of each guest tree (built by build.sh) with
# systemd-nspawn, lets a probe inside report on the boot and power the guest
# off, and checks the report:
#   busybox          rcS prints "nspawnlite-guest: busybox ready"; the tty
#                    gettys sleep instead of respawning; poweroff works
#   debian-systemd   `systemctl is-system-running --wait` = running, no failed unit
#   debian-sysvinit  runlevel 2 reached, no error or failure on the console
#   debian-openrc    default runlevel reached, no crashed service, no error
# The console log of each boot is kept in $NSPAWNLITE_GUEST_CACHE/logs.
# Needs root and systemd-nspawn (Debian's systemd-container).
set -euo pipefail
here=$(dirname -- "$(readlink -f -- "$0")")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

BOOT_TIMEOUT=${NSPAWNLITE_VERIFY_TIMEOUT:-120}
trap cleanup EXIT

# The probe: writes "nspawnlite-verify: …" lines to /nspawnlite-verify.out
# in the tree (the console is unreliable: a getty's vhangup() cuts off other
# writers), ends with "nspawnlite-verify: end", then powers the guest off.
probe_systemd() {
	cat <<-'EOF'
	#!/bin/sh
	exec >/nspawnlite-verify.out 2>&1
	state=$(systemctl is-system-running --wait)
	echo "nspawnlite-verify: state=$state"
	systemctl --failed --no-legend --plain | sed 's/^/nspawnlite-verify: failed-unit /'
	echo "nspawnlite-verify: failed=$(systemctl --failed --no-legend --plain | wc -l)"
	echo "nspawnlite-verify: machine-id=$(cat /etc/machine-id)"
	echo "nspawnlite-verify: hostname=$(cat /proc/sys/kernel/hostname)"
	[ "$state" = running ] || systemctl status --failed --no-pager -n 20
	echo "nspawnlite-verify: end"
	systemctl poweroff --no-block
	EOF
}

probe_sysv() {
	cat <<-'EOF'
	#!/bin/sh
	exec >/nspawnlite-verify.out 2>&1
	echo "nspawnlite-verify: runlevel=$(/sbin/runlevel)"
	if command -v rc-status >/dev/null; then
	    echo "nspawnlite-verify: openrc-runlevel=$(rc-status --runlevel)"
	    rc-status --crashed | sed 's/^/nspawnlite-verify: crashed /'
	    rc-status --all
	fi
	ps -e -o pid,args
	echo "nspawnlite-verify: end"
	exec /sbin/poweroff
	EOF
}

probe_busybox() {
	cat <<-'EOF'
	#!/bin/sh
	# From rcS: let init start the gettys, look, then power off.
	(
	    sleep 2
	    ps
	    echo "nspawnlite-verify: gettys=$(ps | grep -c '[/]sbin/getty')"
	    echo "nspawnlite-verify: sleepers=$(ps | grep -c '[s]leep 2147483647')"
	    echo "nspawnlite-verify: end"
	    poweroff
	) >/nspawnlite-verify.out 2>&1 &
	EOF
}

install_probe() {
	local kind=$1 t=$2
	case $kind in
	busybox)
		probe_busybox >"$t/etc/nspawnlite-test.sh"
		chmod 0755 "$t/etc/nspawnlite-test.sh"
		;;
	debian-systemd)
		probe_systemd >"$t/usr/local/sbin/nspawnlite-verify"
		chmod 0755 "$t/usr/local/sbin/nspawnlite-verify"
		# Type=simple: its start job ends at once, so that
		# is-system-running --wait does not wait for the probe itself.
		cat >"$t/etc/systemd/system/nspawnlite-verify.service" <<-'EOF'
		[Unit]
		Description=nspawnlite guest verification
		After=multi-user.target
		[Service]
		ExecStart=/usr/local/sbin/nspawnlite-verify
		EOF
		mkdir -p "$t/etc/systemd/system/multi-user.target.wants"
		ln -s ../nspawnlite-verify.service "$t/etc/systemd/system/multi-user.target.wants/"
		;;
	debian-sysvinit | debian-openrc)
		probe_sysv >"$t/usr/local/sbin/nspawnlite-verify"
		chmod 0755 "$t/usr/local/sbin/nspawnlite-verify"
		# After the "wait" entry of runlevel 2 (rc 2) is done.
		printf 'nv:2345:once:/usr/local/sbin/nspawnlite-verify\n' >>"$t/etc/inittab"
		;;
	esac
}

# check KIND LOG REPORT: judge the console log and the probe's report; print
# what is wrong, return 1 if anything is.
check() {
	local kind=$1 log=$2 out=$3 bad=0
	grep -q '^nspawnlite-verify: end' "$out" || { echo "probe did not finish"; bad=1; }
	case $kind in
	busybox)
		grep -q 'nspawnlite-guest: busybox ready' "$log" || { echo "no ready line"; bad=1; }
		grep -q '^nspawnlite-verify: gettys=1$' "$out" || { echo "not exactly one getty (console)"; bad=1; }
		grep -q '^nspawnlite-verify: sleepers=4$' "$out" || { echo "tty wrappers not sleeping"; bad=1; }
		;;
	debian-systemd)
		grep -q '^nspawnlite-verify: state=running' "$out" || { echo "system not running"; bad=1; }
		grep -q '^nspawnlite-verify: failed=0' "$out" || { echo "failed units"; bad=1; }
		;;
	debian-sysvinit)
		grep -q '^nspawnlite-verify: runlevel=N 2' "$out" || { echo "runlevel 2 not reached"; bad=1; }
		;;
	debian-openrc)
		grep -q '^nspawnlite-verify: runlevel=N 2' "$out" || { echo "runlevel 2 not reached"; bad=1; }
		grep -q '^nspawnlite-verify: openrc-runlevel=default' "$out" || { echo "openrc not in default"; bad=1; }
		if grep '^nspawnlite-verify: crashed ' "$out"; then bad=1; fi
		;;
	esac
	case $kind in
	debian-sysvinit | debian-openrc)
		# init scripts report trouble as "failed", "error" or "warning".
		if sed '/^--- probe report$/q' "$log" | grep -ainE 'fail|error|warning|respawning too fast'; then
			bad=1
		fi
		;;
	esac
	return "$bad"
}

verify_one() {
	local kind=$1 tree work log start rc=0
	tree=$("$here/build.sh" "$kind")
	work=$(mktemp -d "$GUEST_CACHE/.verify-$kind.XXXXXX")
	CLEANUP+=("$work")
	cp -a --reflink=auto -- "$tree" "$work/tree"
	install_probe "$kind" "$work/tree"
	mkdir -p -- "$GUEST_CACHE/logs"
	log=$GUEST_CACHE/logs/verify-$kind.log
	start=${EPOCHREALTIME/./}
	# This host is cgroup v1 hybrid and has no systemd as PID 1.
	SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=${SYSTEMD_NSPAWN_UNIFIED_HIERARCHY:-1} \
		timeout -k 5 "$BOOT_TIMEOUT" systemd-nspawn -D "$work/tree" -b \
		--register=no --keep-unit --console=read-only --machine="nl-verify-${kind#debian-}" \
		</dev/null >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -n 40 -- "$log" >&2
		msg "$kind: FAIL: systemd-nspawn exited with $rc (log: $log)"
		return 1
	fi
	tr -d '\r' <"$work/tree/nspawnlite-verify.out" >"$log.out" 2>/dev/null || true
	{
		printf '%s\n' "--- probe report"
		cat -- "$log.out"
	} >>"$log"
	if ! check "$kind" "$log" "$log.out" >&2; then
		msg "$kind: FAIL (log: $log)"
		return 1
	fi
	start=$(((${EPOCHREALTIME/./} - start) / 10000))
	msg "$kind: ok, boot to power-off in $((start / 100)).$(printf '%02d' $((start % 100))) s (log: $log)"
	remove_tree "$work"
}

[ $# -ge 1 ] || { echo "usage: ${0##*/} KIND..." >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "must run as root"
command -v systemd-nspawn >/dev/null || die "systemd-nspawn is not installed"
fail=0
for kind in "$@"; do
	verify_one "$kind" || fail=1
done
exit "$fail"
