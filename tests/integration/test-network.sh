#!/bin/bash
# Networking of machines: two busybox machines on the default bridge talk to each other,
# to the bridge and to the host; port forwards (TCP and UDP, from the bridge address, from 127.0.0.1 and
# from an "outside" network); NAT towards an outside network; 20 machines at once, cleaned up by
# poweroff and, after SIGKILL of their supervisors, by gc; long names; --network=veth,
# --network=bridge:NAME (an existing bridge, never removed), none and host, and the nspawn aliases; the
# Debian systemd guest keeps its address.
#
# Traffic goes only to namespaces this test made: the guests, the bridge and 127.0.0.1 of the test's
# own network namespace (lib.sh runs us in one), and an "outside" namespace made below.
. "$(dirname "$0")/lib.sh"

ip link set lo up # a fresh network namespace has lo down

TREE=$(guest busybox)
[ -x "$TREE/bin/busybox" ] || die "no busybox guest tree: '$TREE'"
NETDIR=$NSPAWNLITE_RUNTIME_DIR/network
BRIDGE=nspawnlite0
GW=10.213.0.1
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || skip "needs /bin/busybox (busybox-static) on the host"
command -v nft >/dev/null || skip "needs nft"

# lib.sh's machine_state fails when the machine has no state file, which under set -e ends the whole
# test at the first "x=$(leader NAME)" of a machine that did not come up: here it prints nothing.
machine_state() { sed -n "s/^$2=//p" "$NSPAWNLITE_RUNTIME_DIR/machines/$1/state" 2>/dev/null || true; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# track NAME: the machine's supervisor is killed by the cleanup if the test dies, and counts as a
# process left behind by assert_clean.
track() {
        local s
        s=$(machine_state "$1" supervisor)
        [ -n "$s" ] && STARTED_PIDS+=("$s")
        return 0
}

# up NAME ARGS…: boot -d --wait-ready, bounded; output in $WORK/boot-NAME.log.
up() {
        local name=$1 rc=0
        shift
        boot_detached "$name" "$@" || rc=1
        track "$name"
        [ "$rc" = 0 ] && return 0
        fail "$name: boot -d --wait-ready: status $EXIT_RC: $(boot_log "$name")"
        return 1
}

# down NAME…: poweroff each (in parallel), then wait until its supervisor is gone.
down() {
        local n p
        declare -A pp sup
        local names=()
        for n in "$@"; do
                p=$(machine_state "$n" supervisor) # those that came up and still run
                [ -n "$p" ] && ! _dead "$p" && names+=("$n")
        done
        for n in "${names[@]}"; do
                sup[$n]=$(machine_state "$n" supervisor)
                "$NSPAWNLITE" poweroff "$n" --timeout=30 </dev/null >"$WORK/poweroff-$n.log" 2>&1 &
                pp[$n]=$!
                STARTED_PIDS+=("$!")
        done
        for n in "${names[@]}"; do
                wait_exit "${pp[$n]}" 60
                [ "$EXIT_RC" = 0 ] || fail "poweroff $n: status $EXIT_RC: $(cat "$WORK/poweroff-$n.log")"
        done
        for n in "${names[@]}"; do
                p=${sup[$n]}
                [ -z "$p" ] || wait_for 10 _dead "$p" || fail "supervisor of $n ($p) still runs 10 s after poweroff"
        done
        return 0
}

# _dead PID: no such process, or a zombie nobody reaped yet.
_dead() {
        local st
        st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
        [ -z "$st" ] || [ "$st" = Z ]
}

# gx SECONDS NAME CMD…: in_guest, bounded.
gx() {
        local t=$1 name=$2 p
        shift 2
        p=$(leader "$name")
        [ -n "$p" ] || return 97
        timeout "$t" nsenter -t "$p" -m -u -i -n -p -C -r -w -- "$@"
}

# gnet NAME CMD…: a host command in the machine's network namespace only.
gnet() {
        local name=$1 p
        shift
        p=$(leader "$name")
        [ -n "$p" ] || return 97
        nsenter -t "$p" -n -- "$@"
}

# listening NAME PORT: something in the machine's netns listens on TCP PORT.
listening() {
        gnet "$1" ss -Hltn "sport = :$2" | grep -q .
}

host_ping() { timeout 5 "$BUSYBOX" ping -c1 -W2 "$1" >/dev/null 2>&1; }
guest_ping() { gx 5 "$1" ping -c1 -W2 "$2" >/dev/null 2>&1; }

links_ve() { ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep '^ve-' || true; }
no_ve_links() { [ -z "$(links_ve)" ]; }
# net_gone [KEEP_BRIDGE]: no veth; unless KEEP_BRIDGE, no NAT table or default bridge either.
net_gone() {
        no_ve_links || return 1
        [ -n "${1:-}" ] && return 0
        ! nft_table && ! ip link show "$BRIDGE" >/dev/null 2>&1
}
nft_table() { nft list tables 2>/dev/null | grep -qx 'table ip nspawnlite'; }
leases() { cat "$NETDIR/leases" 2>/dev/null || true; }
# netfiles: the files of the network dir but the leases and the lock files (markers, forward records).
netfiles() {
        local f
        for f in "$NETDIR"/*; do
                [ -e "$f" ] || continue
                case ${f##*/} in leases | leases.lock | setup.lock) ;; *) printf '%s ' "${f##*/}" ;; esac
        done
}

# net_clean WHAT [KEEP_BRIDGE]: no veth, no lease, no forward record, no NAT table, no default bridge,
# then assert_clean.
net_clean() {
        local what=$1 left=""
        local l
        # A machine's veth pair goes with its network namespace, which the kernel tears down in the
        # background once the guest's last process is gone, and the last machine's supervisor leaves
        # the bridge and the NAT table to a detached child: give them a moment.
        wait_for 10 net_gone "${2:-}" || true
        l=$(links_ve | tr '\n' ' ')
        [ -z "$l" ] || left+="links: $l; "
        l=$(leases | tr '\n' ' ')
        [ -z "$l" ] || left+="leases: $l; "
        l=$(netfiles)
        [ -z "$l" ] || left+="files: $l; "
        ! nft_table || left+="table ip nspawnlite; "
        ! ip link show "$BRIDGE" >/dev/null 2>&1 || left+="bridge $BRIDGE; "
        # Exited supervisors are reparented to PID 1; where PID 1 does not reap (some sandboxes), they
        # stay zombies, which kill -0 (assert_clean) would count as running.
        local keep=()
        for l in "${STARTED_PIDS[@]}"; do
                _dead "$l" || keep+=("$l")
        done
        STARTED_PIDS=("${keep[@]}")
        if [ -z "$left" ]; then
                pass "$what: no veth, lease, forward, NAT table or $BRIDGE left"
        else
                fail "$what: left behind: $left"
        fi
        assert_clean "$what: nothing left behind"
}

# serve NAME TEXT: busybox httpd on port 80 of the guest, its index saying TEXT.
serve() {
        gx 5 "$1" sh -c "mkdir -p /tmp/www && echo $2 >/tmp/www/index.html && httpd -p 80 -h /tmp/www" ||
                fail "httpd did not start in $1"
        wait_for 5 listening "$1" 80 || fail "nothing listens on $1:80"
}
# get URL: the body, bounded (busybox 1.35's wget -T crashes: timeout(1) bounds it instead).
get() { timeout 10 "$BUSYBOX" wget -q -O - "$1" 2>&1 || true; }
ports_map() { nft list map ip nspawnlite ports 2>&1 || true; }

addr_of() { machine_state "$1" address; }
ifname_of() { machine_state "$1" interface; }
in_default_subnet() { [[ $1 =~ ^10\.213\.([0-9]+)\.([0-9]+)$ ]] && [ "$1" != "$GW" ] &&
        [ "${BASH_REMATCH[1]}" -le 255 ] && [ "${BASH_REMATCH[2]}" -le 255 ]; }

T_ALL=$(now_ms)

# --- 1. two machines on the default bridge --------------------------------------------------------
T=$(now_ms)
if up n1 "$TREE" && up n2 "$TREE"; then
        a1=$(addr_of n1)
        a2=$(addr_of n2)
        in_default_subnet "$a1" && in_default_subnet "$a2" && pass "addresses $a1 and $a2 are in 10.213.0.0/16" ||
                fail "addresses '$a1' '$a2' not in 10.213.0.0/16"
        [ "$a1" != "$a2" ] && pass "the two addresses differ" || fail "both machines got $a1"
        assert_eq "$a1 $a2" "$("$NSPAWNLITE" status n1 --json | json 'd["address"]') $("$NSPAWNLITE" status n2 --json |
                json 'd["address"]')" "status --json has each machine's address"
        lst=$("$NSPAWNLITE" list 2>&1)
        assert_match 'ADDRESS' "$(head -n 1 <<<"$lst")" "list has an ADDRESS column"
        assert_eq "$a1 $a2" "$(awk '$1=="n1"{print $4}' <<<"$lst") $(awk '$1=="n2"{print $4}' <<<"$lst")" \
                "list shows each machine's address"
        assert_eq "$a1 $a2" "$("$NSPAWNLITE" list --json | json '" ".join(m["address"] for m in sorted(d, key=lambda m: m["name"]))')" \
                "list --json shows each machine's address"
        assert_eq "ve-n1 ve-n2" "$(ifname_of n1) $(ifname_of n2)" "the state files name the host interfaces ve-n1, ve-n2"
        for n in n1 n2; do
                m=$(ip -o link show "ve-$n" 2>/dev/null | grep -o "master [^ ]*" || true)
                assert_eq "master $BRIDGE" "$m" "ve-$n is a port of $BRIDGE"
        done
        assert_match "inet $GW/16 " "$(ip -4 -o addr show dev "$BRIDGE" 2>&1)" "$BRIDGE has $GW/16"
        assert_eq 1 "$(cat /proc/sys/net/ipv4/ip_forward)" "ip_forward is on"
        assert_match "inet $a1/16 " "$(gx 5 n1 ip -4 -o addr show host0 2>&1)" "n1's host0 has $a1/16"
        assert_match "default via $GW dev host0" "$(gx 5 n1 ip route 2>&1)" "n1's default route is via $GW"
        assert_eq "lo:UP" "$(gx 5 n1 ip -o link show lo | grep -o '<[^>]*>' | grep -q '[<,]UP[,>]' && echo lo:UP)" \
                "lo is up in the guest"
        guest_ping n1 "$a2" && pass "n1 pings n2" || fail "n1 cannot ping n2 ($a2)"
        guest_ping n2 "$a1" && pass "n2 pings n1" || fail "n2 cannot ping n1 ($a1)"
        guest_ping n1 "$GW" && guest_ping n2 "$GW" && pass "both ping the bridge $GW" || fail "a guest cannot ping $GW"
        host_ping "$a1" && host_ping "$a2" && pass "the host pings both guests" || fail "the host cannot ping $a1/$a2"

        # TCP round trip: a server in n2, a client in n1, each side says something.
        gx 15 n2 sh -c 'echo from-n2 | nc -l -p 5000' >"$WORK/tcp-srv.out" 2>&1 &
        srv=$!
        STARTED_PIDS+=("$srv")
        wait_for 5 listening n2 5000 || fail "no listener on n2:5000"
        out=$(gx 10 n1 sh -c "echo from-n1 | nc -w 3 $a2 5000" 2>&1) || true
        wait_exit "$srv" 10
        assert_eq "from-n2" "$out" "TCP n1 → n2:5000: the client reads the server's line"
        assert_eq "from-n1" "$(cat "$WORK/tcp-srv.out")" "TCP n1 → n2:5000: the server reads the client's line"
        # and a TCP round trip from the host's namespace to a guest
        gx 15 n1 sh -c 'echo to-host | nc -l -p 5001' >"$WORK/tcp-srv2.out" 2>&1 &
        srv=$!
        STARTED_PIDS+=("$srv")
        wait_for 5 listening n1 5001 || fail "no listener on n1:5001"
        out=$(echo from-host | timeout 10 "$BUSYBOX" nc -w 3 "$a1" 5001 2>&1) || true
        wait_exit "$srv" 10
        assert_eq "to-host from-host" "$out $(cat "$WORK/tcp-srv2.out")" "TCP host → n1:5001 round trip"
        down n1 n2
fi
log "two machines: $(($(now_ms) - T)) ms"
net_clean "two machines"

# --- 2. port forwards and NAT, with an "outside" network ------------------------------------------
T=$(now_ms)
# The outside: a network namespace held by a sleep, joined to ours by a veth pair (192.0.2.0/24,
# TEST-NET-1). It has no route to the guests' subnet: what it sees comes through NAT.
unshare --net sleep 300 &
OUTSIDE=$!
STARTED_PIDS+=("$OUTSIDE")
_outside_ready() { [ "$(readlink "/proc/$OUTSIDE/ns/net" 2>/dev/null)" != "$(readlink /proc/self/ns/net)" ]; }
wait_for 5 _outside_ready || die "the outside namespace did not appear"
onet() { nsenter -t "$OUTSIDE" -n -- "$@"; }
ip link add vx-nsltest type veth peer name vx-outside netns "$OUTSIDE"
ip addr add 192.0.2.1/24 dev vx-nsltest
ip link set vx-nsltest up
onet ip link set lo up
onet ip addr add 192.0.2.2/24 dev vx-outside
onet ip link set vx-outside up
wait_for 5 host_ping 192.0.2.2 && pass "the outside namespace answers at 192.0.2.2" || fail "no ping to 192.0.2.2"

if up web -p 8080:80 --port=udp:5353:53 "$TREE" && up nat1 "$TREE"; then
        aw=$(addr_of web)
        elems=$(nft list map ip nspawnlite ports 2>&1)
        assert_match "tcp \. 8080 : $aw \. 80" "$elems" "the ports map forwards tcp/8080 to $aw:80"
        assert_match "udp \. 5353 : $aw \. 53" "$elems" "the ports map forwards udp/5353 to $aw:53"
        assert_eq 1 "$(cat "/proc/sys/net/ipv4/conf/$BRIDGE/route_localnet" 2>&1)" "route_localnet is on for $BRIDGE"
        serve web "forward-ok-$$"
        assert_eq "forward-ok-$$" "$(get "http://$aw:80/")" "the guest's httpd answers on $aw:80"
        assert_eq "forward-ok-$$" "$(get "http://$GW:8080/")" "port 8080 of $GW reaches the guest's port 80"
        assert_eq "forward-ok-$$" "$(get "http://127.0.0.1:8080/")" "port 8080 of 127.0.0.1 reaches the guest's port 80"
        assert_eq "forward-ok-$$" "$(get "http://192.0.2.1:8080/")" "port 8080 of another host address reaches the guest"
        out=$(onet timeout 10 "$BUSYBOX" wget -q -O - "http://192.0.2.1:8080/" 2>&1) || true
        assert_eq "forward-ok-$$" "$out" "a client in the outside namespace reaches the guest through 192.0.2.1:8080"
        assert_eq "" "$(get "http://$GW:8081/" 2>/dev/null | grep -v "^wget:")" "an unforwarded port gets nothing"
        # Another guest through the forward (hairpin): not promised by the documentation, only reported.
        out=$(gx 4 nat1 wget -q -O - "http://$GW:8080/" 2>/dev/null) || true
        [ "$out" = "forward-ok-$$" ] && log "note: a guest reaches another through a forward of $GW (hairpin)" ||
                log "note: a guest does not reach another through a forward of $GW (no hairpin NAT)"

        # UDP: a one-datagram-at-a-time echo server in the guest's netns (busybox has no UDP nc).
        gnet web timeout 20 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 53))
s.settimeout(15)
for _ in range(2):
    d, a = s.recvfrom(512)
    s.sendto(b"udp-echo:" + d, a)
' >"$WORK/udp-srv.out" 2>&1 &
        usrv=$!
        STARTED_PIDS+=("$usrv")
        wait_for 5 sh -c "nsenter -t $(leader web) -n -- ss -Hlun 'sport = :53' | grep -q ." || fail "no UDP listener in web"
        udp() {
                timeout 10 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(b"hi", (sys.argv[1], 5353))
print(s.recvfrom(512)[0].decode())
' "$1" 2>&1 | tail -n 1 || true
        }
        assert_eq "udp-echo:hi" "$(udp "$GW")" "UDP port 5353 of $GW reaches the guest's port 53 and back"
        assert_eq "udp-echo:hi" "$(udp 127.0.0.1)" "UDP port 5353 of 127.0.0.1 reaches the guest's port 53 and back"
        wait_exit "$usrv" 20

        # NAT: a connection from a guest to the outside arrives from the host's address 192.0.2.1.
        onet timeout 20 python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.2", 6000))
s.listen(1)
s.settimeout(15)
c, a = s.accept()
c.sendall(b"outside-says-hi\n")
print(a[0], flush=True)
c.close()
' >"$WORK/nat-srv.out" 2>&1 &
        nsrv=$!
        STARTED_PIDS+=("$nsrv")
        wait_for 5 sh -c "nsenter -t $OUTSIDE -n -- ss -Hltn 'sport = :6000' | grep -q ." || fail "no listener outside"
        out=$(gx 10 nat1 sh -c 'echo x | nc -w 3 192.0.2.2 6000' 2>&1) || true
        wait_exit "$nsrv" 20
        assert_eq "outside-says-hi" "$out" "a guest reaches a TCP server of the outside namespace"
        assert_eq "192.0.2.1" "$(cat "$WORK/nat-srv.out")" \
                "the outside sees the connection from the host's 192.0.2.1, not from $(addr_of nat1) (masquerade)"
        guest_ping nat1 192.0.2.2 && pass "a guest pings the outside (ICMP masqueraded)" || fail "nat1 cannot ping 192.0.2.2"
        down web nat1
        elems=$(nft list map ip nspawnlite ports 2>&1 || true)
        [[ $elems == *8080* || $elems == *5353* ]] && fail "forwards left after poweroff: $elems" ||
                pass "the forwards are gone after poweroff"
fi
kill "$OUTSIDE" 2>/dev/null || true
wait "$OUTSIDE" 2>/dev/null || true
ip link del vx-nsltest 2>/dev/null || true
log "forwards and NAT: $(($(now_ms) - T)) ms"
net_clean "forwards and NAT"

# --- 3. twenty machines at once -------------------------------------------------------------------
# boot20 TAG: 20 machines TAG00…TAG19 in parallel, each with a forward of port 91NN; sets NAMES.
boot20() {
        local tag=$1 i n
        declare -A bp
        NAMES=()
        for i in $(seq -w 0 19); do NAMES+=("$tag$i"); done
        local start
        start=$(now_ms)
        for n in "${NAMES[@]}"; do
                "$NSPAWNLITE" boot -d --wait-ready --timeout=60 -M "$n" -p "91${n: -2}:80" "$TREE" \
                        </dev/null >"$WORK/boot-$n.log" 2>&1 &
                bp[$n]=$!
                STARTED_PIDS+=("$!")
        done
        UP_OK=0
        for n in "${NAMES[@]}"; do
                wait_exit "${bp[$n]}" 120
                track "$n"
                if [ "$EXIT_RC" = 0 ] && _leader_alive "$n"; then
                        UP_OK=$((UP_OK + 1))
                else
                        fail "$n: boot -d --wait-ready: status $EXIT_RC: $(tr '\r\n' '  ' <"$WORK/boot-$n.log" | head -c 300)"
                fi
        done
        log "20 parallel boots ($tag) took $(($(now_ms) - start)) ms"
}

# check20: the 20 machines have distinct addresses, interfaces, leases and forwards.
check20() {
        local n addrs ifs ok=0 pings=0
        assert_eq 20 "$UP_OK" "20 machines booted at once"
        addrs=$(for n in "${NAMES[@]}"; do addr_of "$n"; done)
        ifs=$(for n in "${NAMES[@]}"; do ifname_of "$n"; done)
        assert_eq 20 "$(sort -u <<<"$addrs" | grep -c .)" "20 distinct addresses"
        for a in $addrs; do in_default_subnet "$a" && ok=$((ok + 1)); done
        assert_eq 20 "$ok" "… all in 10.213.0.0/16"
        assert_eq 20 "$(sort -u <<<"$ifs" | grep -c .)" "20 distinct interface names"
        assert_eq "$(sort <<<"$ifs" | tr '\n' ' ')" "$(links_ve | sort | tr '\n' ' ')" "ip link shows exactly those 20 ve-* links"
        assert_eq 20 "$(ip -o link show master "$BRIDGE" | grep -c ': ve-')" "… all ports of $BRIDGE"
        assert_eq 20 "$(leases | grep -c .)" "20 leases"
        assert_eq 20 "$(nft list map ip nspawnlite ports 2>&1 | grep -oE 'tcp \. 91[0-9]{2} : 10\.213\.[0-9.]+ \. 80' | sort -u | wc -l)" \
                "20 forwards in the ports map"
        for a in $addrs; do host_ping "$a" && pings=$((pings + 1)); done
        assert_eq 20 "$pings" "the host pings all 20"
        guest_ping "${NAMES[0]}" "$(addr_of "${NAMES[19]}")" && pass "the first pings the last" ||
                fail "${NAMES[0]} cannot ping ${NAMES[19]}"
}

T=$(now_ms)
boot20 mp
if [ "$UP_OK" -gt 0 ]; then
        check20
        start=$(now_ms)
        down "${NAMES[@]}"
        log "20 parallel poweroffs took $(($(now_ms) - start)) ms"
fi
log "20 machines, poweroff: $(($(now_ms) - T)) ms"
net_clean "20 machines, after poweroff"

T=$(now_ms)
boot20 mk
if [ "$UP_OK" -gt 0 ]; then
        check20
        LEADERS=()
        for n in "${NAMES[@]}"; do
                LEADERS+=("$(leader "$n")")
                s=$(machine_state "$n" supervisor)
                [ -n "$s" ] && kill -KILL "$s"
        done
        for n in "${NAMES[@]}"; do
                s=$(machine_state "$n" supervisor)
                wait_for 10 _dead "$s" || fail "supervisor $s of $n survived SIGKILL"
        done
        for p in "${LEADERS[@]}"; do
                wait_for 10 _dead "$p" || fail "leader $p survived its supervisor's SIGKILL"
        done
        [ -n "$(leases)" ] && nft_table && pass "after SIGKILL of the supervisors, leases and the table are still there (gc's job)" ||
                log "after SIGKILL: leases '$(leases | wc -l)', table $(nft_table && echo yes || echo no)"
        assert_eq "" "$("$NSPAWNLITE" list --json 2>&1 | json '" ".join(m["name"] for m in d)' 2>&1)" \
                "list shows none of the killed machines"
        rc=0
        timeout 60 "$NSPAWNLITE" gc >"$WORK/gc.out" 2>&1 || rc=$?
        [ "$rc" = 0 ] && pass "gc exits 0" || fail "gc: status $rc: $(head -c 300 "$WORK/gc.out")"
fi
log "20 machines, SIGKILL + gc: $(($(now_ms) - T)) ms"
net_clean "20 machines, after SIGKILL of the supervisors and gc"

# --- 3b. a killed machine's forward, after a later boot took its lease over ---------------------------
# kill_machine NAME: SIGKILL its supervisor, wait until it and the guest are gone.
kill_machine() {
        local s l
        s=$(machine_state "$1" supervisor)
        l=$(leader "$1")
        [ -n "$s" ] && kill -KILL "$s"
        wait_for 10 _dead "$s" || fail "supervisor of $1 survived SIGKILL"
        [ -z "$l" ] || wait_for 10 _dead "$l" || fail "leader of $1 survived its supervisor"
}
T=$(now_ms)
if up ka -p 8090:80 "$TREE" && up kb "$TREE"; then
        aka=$(addr_of ka)
        kill_machine ka
        # kb keeps the bridge and the table alive; kc's boot reclaims ka's lease (a dead machine's)
        up kc "$TREE"
        rc=0
        timeout 60 "$NSPAWNLITE" gc >"$WORK/gc2.out" 2>&1 || rc=$?
        [ "$rc" = 0 ] && pass "gc exits 0" || fail "gc: status $rc: $(head -c 300 "$WORK/gc2.out")"
        m=$(ports_map)
        [[ $m == *8090* ]] && fail "gc left the killed machine's forward tcp/8090 → $aka:80: $(grep -o 'elements.*' <<<"$m")" ||
                pass "gc removed the killed machine's forward (its lease was taken over by a later boot)"
        [ ! -e "$NETDIR/ports-ka" ] && pass "gc removed network/ports-ka" || fail "gc left network/ports-ka"
        if up kd -p 8090:80 "$TREE"; then
                assert_match "tcp \. 8090 : $(addr_of kd) \. 80" "$(ports_map)" "after gc, port 8090 can be forwarded to another machine"
                serve kd "kd-$$"
                assert_eq "kd-$$" "$(get "http://127.0.0.1:8090/")" "… and reaches it"
                kill_machine kd
                # without gc: a dead machine's lease is reclaimed at boot, so should its forward be
                if up ke -p 8090:80 "$TREE"; then
                        pass "without gc, the port of a killed machine can be forwarded again"
                        assert_match "tcp \. 8090 : $(addr_of ke) \. 80" "$(ports_map)" "… to the new machine"
                fi
        fi
        down kb kc kd ke
        timeout 60 "$NSPAWNLITE" gc >/dev/null 2>&1 || true
fi
log "killed machine's forward: $(($(now_ms) - T)) ms"
net_clean "a killed machine's forward"
# What that bug leaves would fail every later scenario: clear it by hand.
rm -f "$NETDIR"/ports-*
nft delete table ip nspawnlite 2>/dev/null || true

# --- 4. long names ----------------------------------------------------------------------------------
T=$(now_ms)
L1=long-machine-name-for-the-network-0001
L1=${L1}xx # 40 characters
L2=${L1%01xx}02xx
TWELVE=abcdefghijkl
assert_eq "40 40" "${#L1} ${#L2}" "the long names have 40 characters"
if up "$L1" "$TREE" && up "$L2" "$TREE" && up "$TWELVE" "$TREE"; then
        i1=$(ifname_of "$L1")
        i2=$(ifname_of "$L2")
        [ -n "$i1" ] && [ "${#i1}" -le 15 ] && [ -n "$i2" ] && [ "${#i2}" -le 15 ] &&
                pass "long names get host interfaces of at most 15 characters ($i1, $i2)" ||
                fail "host interfaces '$i1' '$i2'"
        [ "$i1" != "$i2" ] && pass "two long names sharing a prefix get different interfaces" || fail "both got '$i1'"
        [[ $i1 == ve-* && $i2 == ve-* ]] && pass "… both start with ve-" || fail "'$i1' '$i2' do not start with ve-"
        ip link show "$i1" >/dev/null 2>&1 && ip link show "$i2" >/dev/null 2>&1 && pass "… and both exist" ||
                fail "links $i1/$i2 missing: $(links_ve | tr '\n' ' ')"
        assert_eq "ve-$TWELVE" "$(ifname_of "$TWELVE")" "a 12-character name keeps ve-NAME (15 characters)"
        guest_ping "$L1" "$(addr_of "$L2")" && pass "the two long-named machines reach each other" ||
                fail "$L1 cannot ping $L2"
        down "$L1" "$L2" "$TWELVE"
fi
log "long names: $(($(now_ms) - T)) ms"
net_clean "long names"

# --- 5. --network=veth and --network-veth ------------------------------------------------------------
T=$(now_ms)
if up pp --network=veth -p 8084:80 "$TREE" && up pp2 --network-veth "$TREE"; then
        serve pp "veth-fwd-$$"
        assert_eq "veth-fwd-$$" "$(get "http://127.0.0.1:8084/")" "veth: port 8084 of 127.0.0.1 reaches the guest's port 80"
        assert_eq "veth-fwd-$$" "$(get "http://$GW:8084/")" "veth: port 8084 of $GW reaches the guest's port 80"
        for n in pp pp2; do
                a=$(addr_of "$n")
                in_default_subnet "$a" && pass "$n: address $a in 10.213.0.0/16" || fail "$n: address '$a'"
                assert_eq "ve-$n" "$(ifname_of "$n")" "$n: host interface ve-$n"
                assert_match "inet $GW peer $a/32" "$(ip -4 -o addr show dev "ve-$n" 2>&1)" "$n: ve-$n has $GW peer $a/32"
                assert_match "inet $a peer $GW/32" "$(gx 5 "$n" ip -4 -o addr show host0 2>&1)" "$n: host0 has $a peer $GW/32"
                assert_eq "" "$(ip -o link show "ve-$n" | grep -o 'master [^ ]*' || true)" "$n: ve-$n is on no bridge"
                guest_ping "$n" "$GW" && pass "$n pings $GW" || fail "$n cannot ping $GW"
                host_ping "$a" && pass "the host pings $n" || fail "the host cannot ping $n ($a)"
        done
        ! ip link show "$BRIDGE" >/dev/null 2>&1 && pass "veth machines create no $BRIDGE" || fail "$BRIDGE exists"
        down pp pp2
fi
log "veth: $(($(now_ms) - T)) ms"
net_clean "--network=veth"

# --- 6. an existing bridge ---------------------------------------------------------------------------
T=$(now_ms)
ip link add br-test type bridge
ip addr add 10.50.0.1/24 dev br-test
ip link set br-test up
ip link add br-noaddr type bridge
ip link set br-noaddr up
if up bt --network=bridge:br-test "$TREE" && up bt2 --network-bridge=br-test "$TREE" && up bn --network=bridge:br-noaddr "$TREE"; then
        b1=$(addr_of bt)
        b2=$(addr_of bt2)
        [[ $b1 =~ ^10\.50\.0\.([0-9]+)$ ]] && [ "$b1" != 10.50.0.1 ] && [[ $b2 =~ ^10\.50\.0\.([0-9]+)$ ]] &&
                [ "$b1" != "$b2" ] && pass "guests on br-test get distinct addresses in 10.50.0.0/24 ($b1, $b2)" ||
                fail "addresses on br-test: '$b1' '$b2'"
        assert_match "inet $b1/24 " "$(gx 5 bt ip -4 -o addr show host0 2>&1)" "bt's host0 has $b1/24"
        assert_match "default via 10.50.0.1 dev host0" "$(gx 5 bt ip route 2>&1)" "bt's default route is via 10.50.0.1"
        assert_eq "master br-test" "$(ip -o link show "$(ifname_of bt)" 2>&1 | grep -o 'master [^ ]*')" "bt's veth is a port of br-test"
        guest_ping bt 10.50.0.1 && pass "bt pings 10.50.0.1" || fail "bt cannot ping 10.50.0.1"
        guest_ping bt "$b2" && pass "bt pings bt2 (--network-bridge=)" || fail "bt cannot ping bt2 ($b2)"
        ! ip link show "$BRIDGE" >/dev/null 2>&1 && pass "no $BRIDGE made for bridge:br-test" || fail "$BRIDGE exists"
        nft_table && log "note: table ip nspawnlite exists with only bridge:NAME machines"
        assert_eq "master br-noaddr" "$(ip -o link show "$(ifname_of bn)" 2>&1 | grep -o 'master [^ ]*')" \
                "on a bridge without an address, the veth is a port of it"
        assert_eq "" "$(gx 5 bn ip -4 -o addr show host0 2>&1)" "… and host0 has no IPv4 address"
        # Without an address to give, host0 is left to the guest (e.g. its DHCP client); say so.
        gx 5 bn ip -o link show host0 2>&1 | grep -o '<[^>]*>' | grep -q '[<,]UP[,>]' ||
                log "note: on a bridge without an address, host0 is left down"
        down bt bt2 bn
fi
# A forward to a machine on a bridge of the user's (accepted by the options: "bridge or veth").
if up btp --network=bridge:br-test -p 8082:80 "$TREE"; then
        serve btp "br-fwd-$$"
        assert_eq "br-fwd-$$" "$(get "http://10.50.0.1:8082/")" "bridge:br-test: port 8082 of 10.50.0.1 reaches the guest"
        assert_eq "br-fwd-$$" "$(get "http://127.0.0.1:8082/")" "bridge:br-test: port 8082 of 127.0.0.1 reaches the guest"
        down btp
fi
ip link show br-test >/dev/null 2>&1 && pass "br-test still exists after its machines are gone" || fail "br-test was removed"
assert_match 'inet 10\.50\.0\.1/24' "$(ip -4 -o addr show dev br-test 2>&1)" "br-test keeps its address"
assert_match '[<,]UP[,>]' "$(ip -o link show br-test 2>&1 | grep -o '<[^>]*>')" "br-test is still up"
ip link show br-noaddr >/dev/null 2>&1 && pass "br-noaddr still exists" || fail "br-noaddr was removed"
ip link del br-test 2>/dev/null || true
ip link del br-noaddr 2>/dev/null || true
log "bridge:NAME: $(($(now_ms) - T)) ms"
net_clean "--network=bridge:NAME"

# --- 6b. a nspawnlite0 made by the user is used, and kept ---------------------------------------------
T=$(now_ms)
ip link add "$BRIDGE" type bridge
ip addr add "$GW/16" dev "$BRIDGE"
ip link set "$BRIDGE" up
if up ub "$TREE"; then
        in_default_subnet "$(addr_of ub)" && pass "on the user's $BRIDGE the guest gets $(addr_of ub)" || fail "address '$(addr_of ub)'"
        guest_ping ub "$GW" && pass "… and pings $GW" || fail "ub cannot ping $GW"
        down ub
fi
ip link show "$BRIDGE" >/dev/null 2>&1 && pass "a $BRIDGE that nspawnlite did not make is not removed" ||
        fail "nspawnlite removed the user's $BRIDGE"
ip link del "$BRIDGE" 2>/dev/null || true
log "user's $BRIDGE: $(($(now_ms) - T)) ms"
net_clean "user's $BRIDGE"

# --- 7. none and host ---------------------------------------------------------------------------------
T=$(now_ms)
if up pn --network=none "$TREE" && up pn2 --private-network "$TREE" && up ph --network=host "$TREE"; then
        for n in pn pn2; do
                assert_eq "lo" "$(gx 5 "$n" ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ' | sed 's/ $//')" \
                        "$n: only lo"
                assert_match '[<,]UP[,>]' "$(gx 5 "$n" ip -o link show lo | grep -o '<[^>]*>')" "$n: lo is up"
                [ "$(readlink "/proc/$(leader "$n")/ns/net")" != "$(readlink /proc/self/ns/net)" ] &&
                        pass "$n: a network namespace of its own" || fail "$n: shares the test's netns"
        done
        assert_eq "$(readlink /proc/self/ns/net)" "$(readlink "/proc/$(leader ph)/ns/net")" "host: the test's network namespace"
        assert_eq "" "$(links_ve | tr '\n' ' ')$(leases)" "none/host: no veth, no lease"
        ! nft_table && ! ip link show "$BRIDGE" >/dev/null 2>&1 && pass "none/host: no table, no bridge" ||
                fail "none/host made a table or a bridge"
        down pn pn2 ph
fi
log "none/host: $(($(now_ms) - T)) ms"
net_clean "--network=none and host"

# --- 8. the Debian systemd guest keeps its address --------------------------------------------------
T=$(now_ms)
DEB=$(guest debian-systemd) || true
if [ -z "$DEB" ] || [ ! -e "$DEB/usr/lib/systemd/systemd" ]; then
        fail "no debian-systemd guest tree: '$DEB'"
elif up deb "$DEB"; then
        ad=$(addr_of deb)
        in_default_subnet "$ad" && pass "debian: address $ad" || fail "debian: address '$ad'"
        state=$(systemd_state deb)
        assert_eq running "$state" "debian: systemctl is-system-running --wait"
        [ "$state" = running ] || log "failed units: $(gx 10 deb systemctl --failed --no-legend 2>&1 | tr '\n' ' ')"
        assert_match "inet $ad/16 " "$(gnet deb ip -4 -o addr show host0 2>&1)" "debian: host0 keeps $ad/16 once running"
        assert_match "default via $GW dev host0" "$(gnet deb ip route 2>&1)" "debian: the default route is still there"
        host_ping "$ad" && pass "debian: the host pings the guest" || fail "debian: no ping to $ad"
        if gx 5 deb test -x /usr/sbin/ip -o -x /sbin/ip; then
                assert_match "inet $ad/16 " "$(gx 5 deb ip -4 addr show host0 2>&1 | tr '\n' ' ')" "debian: ip inside shows $ad"
        fi
        down deb
fi
log "debian: $(($(now_ms) - T)) ms"
net_clean "debian systemd guest"

log "total: $(($(now_ms) - T_ALL)) ms"
