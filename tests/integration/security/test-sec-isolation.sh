#!/bin/bash
# Isolation of machines from each other and from the host, and what docs/security.md promises about the
# runtime directory and the control socket:
# - names: hostile machine names (../x, a/b, /abs, ., .., -rf, newline, 65 and 1000 characters…)
#   are refused by every verb before any path, cgroup, link or mount is derived from them; hostile
#   tree directory names (no -M) are cleaned or refused;
# - the control socket is root's only (nobody is refused by the socket's mode and, with the mode
#   opened up on purpose, by SO_PEERCRED), the state, lock and control files are not world-writable,
#   a detached machine's console.log is not world-readable;
# - one name booted 8 times at once: exactly one wins, the others fail fast and leave nothing;
# - SIGKILL of a bridged machine's supervisor: guest, veth, cgroups and registry entry go (gc);
#   the name boots again;
# - pids-max holds a fork bomb (a quick check; test-containment.sh has the full one);
# - network: a --network=none guest cannot reach a bridged machine; bridged guests see only lo and
#   host0 and reach each other through the bridge; the test's 127.0.0.1 and abstract unix sockets
#   are not reachable from a guest with its own network; the guest's sysctls and hostname are its
#   own. All traffic stays in namespaces this test made (lib.sh runs it in its own netns).
. "$(dirname "$0")/sec-lib.sh"

TREE=$(guest busybox)
[ -x "$TREE/bin/busybox" ] || die "no busybox guest tree: '$TREE'"
MACHINES=$NSPAWNLITE_RUNTIME_DIR/machines

# ====================================================================================================
# 1. Hostile names, every verb, against a runtime directory nested deep enough that "../x" and
#    "../../x" would land in directories this test watches.
RT=$WORK/rt/a/b/c
mkdir -p "$RT"
cg_snapshot() {
        local root
        for root in $(cgroup_roots); do find "$root" -maxdepth 3 -name '*nlsec*' -o -maxdepth 3 -name 'x' -o -maxdepth 3 -name "*$NSPAWNLITE_CGROUP_PARENT*"; done 2>/dev/null | sort
}
snap() { find "$WORK/rt" | sort; cg_snapshot; ip -o link | awk '{print $2}'; grep -c . /proc/self/mountinfo; }
before=$(snap)
long65=$(printf 'a%.0s' $(seq 1 65))
long1000=$(printf 'b%.0s' $(seq 1 1000))
NAMES=("" "." ".." "../x" "../../x" "a/../x" "a/b" "/abs" ".hidden" "-rf" "a b" $'a\nb' "x;y" 'a%b' "fóo" "$long65" "$long1000")
bad_names=0
for n in "${NAMES[@]}"; do
        for verb in "boot -M" "run -M" shell login status poweroff terminate kill freeze thaw set-limit console; do
                case $verb in
                "boot -M" | "run -M") cmd=("$NSPAWNLITE" ${verb% *} -M "$n" --network=none "$TREE" /bin/true) ;;
                set-limit) cmd=("$NSPAWNLITE" set-limit "$n" pids-max=10) ;;
                shell) cmd=("$NSPAWNLITE" shell "$n" -- true) ;;
                *) cmd=("$NSPAWNLITE" "$verb" "$n") ;;
                esac
                [ "$verb" = "boot -M" ] && cmd=("$NSPAWNLITE" boot -M "$n" --network=none "$TREE")
                rc=0
                NSPAWNLITE_RUNTIME_DIR=$RT timeout 15 "${cmd[@]}" </dev/null >"$WORK/name.out" 2>"$WORK/name.err" || rc=$?
                if [ "$rc" = 0 ] || [ "$rc" = 124 ] || [ ! -s "$WORK/name.err" ]; then
                        fail "name $(printf '%q' "$n" | head -c 40): '$verb' exit $rc: $(head -c 200 "$WORK/name.err")"
                        bad_names=$((bad_names + 1))
                fi
        done
done
[ "$bad_names" = 0 ] && pass "${#NAMES[@]} hostile names x 12 verbs: each refused with a message, none hangs"
after=$(snap)
[ "$before" = "$after" ] && pass "hostile names: nothing created in or around the runtime directory, no cgroup, link or mount" ||
        fail "hostile names left: $(diff <(echo "$before") <(echo "$after") | grep '^>' | tr '\n' ' ' | head -c 400)"
[ ! -e "$WORK/rt/a/b/x" ] && [ ! -e "$WORK/rt/a/x" ] && [ ! -e "$RT/x" ] && pass "hostile names: ../x was never created" || fail "a ../x path was created"

# Valid edge names work: 64 characters, dots and dashes.
for n in "$(printf 'v%.0s' $(seq 1 64))" "a.b-c_d" "cgroup.procs"; do
        rc=0
        out=$(NSPAWNLITE_RUNTIME_DIR=$RT timeout 30 "$NSPAWNLITE" run -M "$n" --network=none "$TREE" /bin/hostname </dev/null 2>&1) || rc=$?
        assert_eq "0 $n" "$rc $out" "the valid name '${n:0:20}…' (${#n} characters) runs, as the hostname"
done

# A tree whose directory name is not a valid machine name, booted without -M.
for d in "-rf" ".hidden" "a b" "x..y" "$long65"; do
        mkdir -p "$WORK/names/$d"
        mount --bind "$TREE" "$WORK/names/$d"
        rc=0
        out=$(NSPAWNLITE_RUNTIME_DIR=$RT timeout 30 "$NSPAWNLITE" run --network=none "$WORK/names/$d" /bin/hostname </dev/null 2>&1) || rc=$?
        if [ "$rc" = 0 ]; then
                [[ $out =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] && pass "tree named '${d:0:20}': runs under a cleaned name ($out)" ||
                        fail "tree named '${d:0:20}': runs under the name '$out'"
        else
                [ "$rc" != 124 ] && [ -n "$out" ] && pass "tree named '${d:0:20}': refused cleanly ($(echo "$out" | head -n 1 | head -c 120))" ||
                        fail "tree named '${d:0:20}': exit $rc: $out"
        fi
        umount "$WORK/names/$d"
done
[ -z "$(ls -A "$RT/machines" 2>/dev/null)" ] && pass "derived names: nothing left in the runtime directory" || fail "left: $(ls -A "$RT/machines")"
assert_clean "after the name checks"

# ====================================================================================================
# 2. The runtime files and the control socket
if up ctl "$PROBE_BIND" "$TREE"; then
        ww=$(find "$NSPAWNLITE_RUNTIME_DIR" -perm -o+w ! -type l 2>/dev/null)
        assert_eq "" "$ww" "no file or directory under the runtime directory is world-writable"
        log "runtime files: $(find "$MACHINES/ctl" -printf '%f:%m ' | tr '\n' ' ')"
        [ -e "$MACHINES/ctl/console.log" ] && [ -z "$(find "$MACHINES/ctl/console.log" -perm /o+r)" ] &&
                pass "a detached machine's console.log exists and is not world-readable" || fail "console.log: $(ls -l "$MACHINES/ctl/" | tr '\n' ' ')"
        assert_eq "" "$(find "$MACHINES/ctl" -name lock -perm /o+w)" "the lock file is not world-writable"
        sock=$MACHINES/ctl/control
        [ -S "$sock" ] && assert_eq "" "$(find "$sock" -perm /077)" "the control socket is for its owner (root) only"
        # Let nobody walk to the socket (the test's runtime dir is 0700), then knock.
        chmod o+x "$NSPAWNLITE_RUNTIME_DIR" "$MACHINES" "$MACHINES/ctl" "$WORK" 2>/dev/null || true
        as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all -- "$@"; }
        assert_match 'connect (EACCES|EPERM)' "$(as_nobody "$PROBE" connect "$sock" terminate 2>&1)" "nobody cannot connect to the control socket (its mode)"
        rc=0
        as_nobody "$NSPAWNLITE" terminate ctl </dev/null >/dev/null 2>&1 || rc=$?
        [ "$rc" != 0 ] && _leader_alive ctl && pass "'nspawnlite terminate' as nobody fails; the machine runs on" || fail "nobody terminated the machine"
        # The second wall: even with the socket's mode opened up, SO_PEERCRED refuses nobody.
        chmod 0666 "$sock"
        out=$(as_nobody "$PROBE" connect "$sock" terminate 2>&1)
        chmod 0600 "$sock"
        sleep 1
        [[ $out != *"reply OK"* ]] && _leader_alive ctl && pass "with the socket's mode opened up, the supervisor still refuses nobody (SO_PEERCRED): $(echo "$out" | tr '\n' ' ')" ||
                fail "nobody drove the supervisor: $out"
        chmod o-x "$NSPAWNLITE_RUNTIME_DIR" "$WORK" 2>/dev/null || true
        # root can (control)
        assert_match 'reply OK' "$("$PROBE" connect "$sock" "freeze" 2>&1)" "control: root drives the supervisor through the socket"
        "$NSPAWNLITE" thaw ctl >/dev/null 2>&1 || true
        down ctl
fi
clean "control socket"

# ====================================================================================================
# 3. One name, eight boots at once (each on its own tree): exactly one wins.
declare -A BP
for i in $(seq 1 8); do
        t=$(guest busybox)
        "$NSPAWNLITE" boot -d --wait-ready --timeout=60 --network=none -M same "$t" </dev/null >"$WORK/same-$i.log" 2>&1 &
        BP[$i]=$!
        STARTED_PIDS+=("$!")
done
won=0 lost_fast=0
t0=$(date +%s)
for i in $(seq 1 8); do
        wait_exit "${BP[$i]}" 90
        if [ "$EXIT_RC" = 0 ]; then
                won=$((won + 1))
        elif grep -qi 'already running\|busy\|lock' "$WORK/same-$i.log"; then
                lost_fast=$((lost_fast + 1))
        else
                log "boot $i of 'same': status $EXIT_RC: $(head -c 200 "$WORK/same-$i.log")"
        fi
done
s=$(machine_state same supervisor)
[ -n "$s" ] && SUPERVISORS+=("$s")
assert_eq 1 "$won" "8 concurrent boots of one name: exactly one succeeds"
assert_eq 7 "$lost_fast" "the 7 others fail, saying the name is taken"
[ $(($(date +%s) - t0)) -lt 60 ] && pass "the losers did not wait for the winner" || fail "the concurrent boots took $(($(date +%s) - t0)) s"
down same
clean "concurrent boots"

# ====================================================================================================
# 4. SIGKILL of a bridged machine's supervisor; gc; the name boots again.
if up kb --network=bridge "$TREE"; then
        ifname=$(machine_state kb interface)
        sup=$(machine_state kb supervisor)
        l=$(leader kb)
        [ -n "$ifname" ] && ip link show "$ifname" >/dev/null 2>&1 && pass "the bridged machine has its host-side veth $ifname" || fail "no veth for kb ('$ifname')"
        kill -KILL "$sup"
        wait_for 10 eval "! process_alive $l" && pass "SIGKILL of the supervisor: the guest dies with it" || fail "PID 1 $l survives its supervisor"
        wait_for 10 eval "! ip link show $ifname" && pass "the veth $ifname is gone with the guest's network namespace" || fail "veth $ifname remains"
        rc=0
        listed=$("$NSPAWNLITE" list 2>&1) || rc=$?
        assert_eq "0:" "$rc:$(echo "$listed" | grep '^kb ' || true)" "list exits 0 and does not show the dead machine"
        timeout 30 "$NSPAWNLITE" gc >/dev/null 2>&1 || true
        assert_clean "after SIGKILL and gc: no cgroup, state or process left"
        assert_eq "" "$(ip -o link | grep -E 've-|vb-' || true)" "after gc: no veth left"
        if up kb --network=bridge "$TREE"; then
                pass "the name boots again after the crash"
                down kb
        fi
fi
clean "SIGKILL"

# ====================================================================================================
# 5. pids-max (quick): 200 sleeps in a machine limited to 40 tasks.
if up pm --pids-max=40 "$TREE"; then
        timeout 60 "$NSPAWNLITE" shell pm -- /bin/sh -c 'for i in $(seq 200); do sleep 30 & done 2>/dev/null; sleep 1; echo forked' </dev/null >/dev/null 2>&1 || true
        cur=$(cat "/sys/fs/cgroup/pids/$NSPAWNLITE_CGROUP_PARENT/machine-pm.scope/pids.current" 2>/dev/null || echo 0)
        [ "$cur" -gt 0 ] && [ "$cur" -le 40 ] && pass "--pids-max=40: the machine holds $cur tasks, not 200" || fail "--pids-max=40: pids.current is $cur"
        t0=$(date +%s%N)
        sh -c true
        [ $((($(date +%s%N) - t0) / 1000000)) -lt 1000 ] && pass "the host still forks at once" || fail "the host's fork took long"
        down pm
fi
clean "pids-max"

# ====================================================================================================
# 6. Network isolation
python3 - "$WORK/listen.ready" <<'EOF' &
import socket, sys, time
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("127.0.0.1", 47811)); t.listen(8)
u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); u.bind("\0nlsec-abstract"); u.listen(8)
open(sys.argv[1], "w").close()
t.settimeout(1); u.settimeout(1)
end = time.time() + 240
while time.time() < end:
    for s in (t, u):
        try:
            c, _ = s.accept(); c.sendall(b"HOST-SERVICE\n"); c.close()
        except OSError:
            pass
EOF
LISTENER=$!
STARTED_PIDS+=("$LISTENER")
wait_for 10 test -e "$WORK/listen.ready" || fail "the test's listeners did not start"
fwd_before=$(cat /proc/sys/net/ipv4/ip_forward)
if up na --network=bridge "$PROBE_BIND" "$TREE" && up nb --network=bridge "$PROBE_BIND" "$TREE" && up nn --network=none "$PROBE_BIND" "$TREE"; then
        nb_addr=$(machine_state nb address)
        assert_eq "host0 lo" "$(sh_in na ls /sys/class/net | tr '\n' ' ' | sed 's/ $//')" "a bridged guest sees only lo and host0 (nothing of the other machine or the host)"
        assert_eq "lo" "$(sh_in nn ls /sys/class/net | tr '\n' ' ' | sed 's/ $//')" "a --network=none guest sees only lo"
        assert_match "dev host0" "$(sh_in na ip route get "$nb_addr" 2>&1)" "the way from one bridged guest to the other is host0 (the bridge)"
        sh_in na ping -c 1 -W 3 "$nb_addr" >/dev/null 2>&1 && pass "control: bridged guests reach each other ($nb_addr)" || fail "bridged guest na cannot reach nb at $nb_addr"
        sh_in nn ping -c 1 -W 2 "$nb_addr" >/dev/null 2>&1 && fail "a --network=none guest reached the bridged machine $nb_addr" ||
                pass "a --network=none guest cannot reach the bridged machine"
        echo | /bin/busybox nc -w 2 127.0.0.1 47811 2>/dev/null | grep -q HOST-SERVICE && pass "control: the test's 127.0.0.1:47811 answers on the host side" ||
                fail "control: the listener on 127.0.0.1:47811 does not answer"
        assert_match 'reply HOST-SERVICE' "$("$PROBE" connect @nlsec-abstract hello 2>&1)" "control: the test's abstract socket answers on the host side"
        out=$(sh_in na /bin/sh -c 'echo | nc -w 2 127.0.0.1 47811' 2>&1 || true)
        [[ $out != *HOST-SERVICE* ]] && pass "a guest with its own network cannot reach the host's 127.0.0.1 services" || fail "the guest reached 127.0.0.1:47811 of the host"
        out=$(sh_in na /nlsec-probe connect @nlsec-abstract hello 2>&1 || true)
        [[ $out != *HOST-SERVICE* ]] && pass "a guest with its own network cannot reach the host's abstract unix sockets ($out)" || fail "the guest reached @nlsec-abstract"
        sh_in na /bin/sh -c 'echo 0 > /proc/sys/net/ipv4/ip_forward; hostname nlsec-evil' >/dev/null 2>&1 || true
        assert_eq "0" "$(sh_in na cat /proc/sys/net/ipv4/ip_forward)" "control: the guest changed its own ip_forward"
        assert_eq "$fwd_before" "$(cat /proc/sys/net/ipv4/ip_forward)" "the host's ip_forward is unchanged by the guest's"
        [ "$(uname -n)" != nlsec-evil ] && pass "the guest's hostname change stays in its UTS namespace" || fail "the host's hostname changed"
fi
for m in na nb nn; do [ -e "$MACHINES/$m" ] && down "$m"; done
kill "$LISTENER" 2>/dev/null || true
wait "$LISTENER" 2>/dev/null || true
clean "network"
