#!/bin/bash
# Bad network input: each is refused with one clear line on stderr and a non-zero
# exit status, and creates nothing: no link, no nftables table, no lease, no runtime machine files.
# Covers bad --network= and --network-bridge= values, a missing bridge, a bridge that is not one, bad
# NSPAWNLITE_BRIDGE_SUBNET values, an exhausted subnet, one host port forwarded by two machines, bad
# --port= values and --port without a network of the machine's own.
#
# Traffic goes only to namespaces this test made (its own network namespace and the guests).
. "$(dirname "$0")/lib.sh"

ip link set lo up # a fresh network namespace has lo down

TREE=$(guest busybox)
[ -x "$TREE/bin/busybox" ] || die "no busybox guest tree: '$TREE'"
MACHINES=$NSPAWNLITE_RUNTIME_DIR/machines
NETDIR=$NSPAWNLITE_RUNTIME_DIR/network
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || skip "needs /bin/busybox (busybox-static) on the host"
command -v nft >/dev/null || skip "needs nft"

# lib.sh's machine_state fails without a state file, which under set -e would end the test.
machine_state() { sed -n "s/^$2=//p" "$NSPAWNLITE_RUNTIME_DIR/machines/$1/state" 2>/dev/null || true; }

_dead() {
        local st
        st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
        [ -z "$st" ] || [ "$st" = Z ]
}

# Exited supervisors are reparented to PID 1; where PID 1 does not reap (some sandboxes), they stay
# zombies, which assert_clean's kill -0 would count as running.
prune_pids() {
        local keep=() p
        for p in "${STARTED_PIDS[@]}"; do
                _dead "$p" || keep+=("$p")
        done
        STARTED_PIDS=("${keep[@]}")
}

# up NAME ARGS…: boot -d --wait-ready, bounded.
up() {
        local name=$1 rc=0 s
        shift
        boot_detached "$name" "$@" || rc=1
        s=$(machine_state "$name" supervisor)
        [ -z "$s" ] || STARTED_PIDS+=("$s")
        [ "$rc" = 0 ] && return 0
        fail "$name: boot -d --wait-ready: status $EXIT_RC: $(boot_log "$name")"
        return 1
}

# down NAME: poweroff, then wait for the supervisor to be gone.
down() {
        local s rc=0
        s=$(machine_state "$1" supervisor)
        [ -n "$s" ] || return 0
        timeout 60 "$NSPAWNLITE" poweroff "$1" --timeout=30 >"$WORK/poweroff-$1.log" 2>&1 || rc=$?
        [ "$rc" = 0 ] || fail "poweroff $1: status $rc: $(cat "$WORK/poweroff-$1.log")"
        wait_for 10 _dead "$s" || fail "supervisor of $1 still runs after poweroff"
}

# What nspawnlite may create on the network side and in the runtime dir: links, nftables tables,
# leases, files of the network dir but its lock files, machine directories.
snapshot() {
        echo "links: $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | tr '\n' ' ')"
        echo "tables: $(nft list tables 2>&1 | sort | tr '\n' ' ')"
        echo "ports: $(nft list map ip nspawnlite ports 2>/dev/null | grep -o 'elements.*' || true)"
        echo "leases: $(cat "$NETDIR/leases" 2>/dev/null | sort | tr '\n' ' ')"
        local f
        printf 'netfiles: '
        for f in "$NETDIR"/*; do
                [ -e "$f" ] || continue
                case ${f##*/} in leases | leases.lock | setup.lock) ;; *) printf '%s ' "${f##*/}" ;; esac
        done
        echo
        printf 'machines: '
        for f in "$MACHINES"/*; do
                [ -e "$f" ] && printf '%s ' "${f##*/}"
        done
        echo
}

BAD_ENV=()
# bad WHAT REGEX VERB ARGS…: "nspawnlite VERB ARGS…" (boot or run) fails at once with one line on
# stderr matching the extended REGEX, nothing on stdout, and changes nothing of snapshot().
# BAD_ENV holds VAR=VALUE settings for that one call.
bad() {
        local what=$1 re=$2 verb=$3 rc=0 before after err out
        shift 3
        # A machine that ended just before may still have its bridge and NAT table being deleted by
        # a detached child, which holds the network lock until it is done.
        [ ! -e "$NETDIR/setup.lock" ] || flock "$NETDIR/setup.lock" true
        before=$(snapshot)
        timeout 30 env "${BAD_ENV[@]}" "$NSPAWNLITE" "$verb" "$@" </dev/null >"$WORK/bad.out" 2>"$WORK/bad.err" || rc=$?
        err=$(cat "$WORK/bad.err")
        out=$(cat "$WORK/bad.out")
        if [ "$rc" = 0 ] || [ "$rc" = 124 ]; then
                fail "$what: status $rc (expected a failure): $err"
                # it came up: take it down again, so the next cases start clean
                local d
                for d in "$MACHINES"/*; do
                        [ -e "$d" ] && [ "${d##*/}" != "$KEEP" ] && down "${d##*/}"
                done
        else
                pass "$what: exits $rc"
        fi
        if [ "$(grep -c . <<<"$err")" = 1 ] && [ -z "$out" ]; then
                pass "$what: one line on stderr, nothing on stdout"
        else
                fail "$what: stderr/stdout not one line: $(tr '\n' '|' <<<"$err") / $(tr '\n' '|' <<<"$out")"
        fi
        [[ $err =~ $re ]] && pass "$what: says so: $err" || fail "$what: message '$err' does not match /$re/"
        after=$(snapshot)
        if [ "$before" = "$after" ]; then
                pass "$what: nothing created"
        else
                fail "$what: changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ')"
        fi
}
KEEP=""

# --- 1. bad --network= / --network-bridge= values ---------------------------------------------------
bad "--network=bridge: (empty)" 'network|bridge' boot -d -M b1 --network=bridge: "$TREE"
bad "--network=bridge:this-name-is-too-long" 'bridge|15' boot -d -M b2 --network=bridge:this-name-is-too-long "$TREE"
bad "--network=bridge:a/b" 'bridge|/' boot -d -M b3 --network=bridge:a/b "$TREE"
bad "--network=bogus" 'network' boot -d -M b4 --network=bogus "$TREE"
bad "--network-bridge= (empty)" 'bridge' boot -d -M b5 --network-bridge= "$TREE"
bad "--network-bridge=a:b" 'bridge' boot -d -M b6 --network-bridge=a:b "$TREE"
bad "run --network=bridge:a/b" 'bridge|/' run --network=bridge:a/b "$TREE" /bin/true
bad "--network-bridge=nonexistent0" 'nonexistent0.*(does not exist|[Nn]o such)' boot -d -M b7 --network-bridge=nonexistent0 "$TREE"
bad "run --network=bridge:nonexistent0" 'nonexistent0.*(does not exist|[Nn]o such)' run --network=bridge:nonexistent0 "$TREE" /bin/true

# A link that is not a bridge (one end of a veth pair the test made).
ip link add nb-test type veth peer name nb-peer
bad "--network-bridge=nb-test (a veth, not a bridge)" 'nb-test' boot -d -M b8 --network-bridge=nb-test "$TREE"
ip link show nb-test >/dev/null 2>&1 && pass "nb-test is left as it was" || fail "nb-test was removed"
ip link del nb-test 2>/dev/null || true

# A nspawnlite0 of the user's without an IPv4 address: refused, and kept.
ip link add nspawnlite0 type bridge
ip link set nspawnlite0 up
bad "an existing nspawnlite0 without an address" 'nspawnlite0.*address' boot -d -M b9 "$TREE"
ip link show nspawnlite0 >/dev/null 2>&1 && pass "the user's nspawnlite0 is kept" || fail "the user's nspawnlite0 was removed"
ip link del nspawnlite0 2>/dev/null || true

# --port to a bridge without an address: the guest has none to forward to.
ip link add br-noaddr type bridge
ip link set br-noaddr up
bad "--port with a bridge without an address" 'br-noaddr|address' boot -d -M b10 --network=bridge:br-noaddr -p 8083:80 "$TREE"
ip link show br-noaddr >/dev/null 2>&1 && pass "br-noaddr is kept" || fail "br-noaddr was removed"
ip link del br-noaddr 2>/dev/null || true
prune_pids
assert_clean "bad --network values"

# --- 2. bad NSPAWNLITE_BRIDGE_SUBNET ------------------------------------------------------------------
BAD_ENV=(NSPAWNLITE_BRIDGE_SUBNET=bogus)
bad "NSPAWNLITE_BRIDGE_SUBNET=bogus" 'NSPAWNLITE_BRIDGE_SUBNET' boot -d -M s1 "$TREE"
BAD_ENV=(NSPAWNLITE_BRIDGE_SUBNET=10.0.0.1/33)
bad "NSPAWNLITE_BRIDGE_SUBNET=10.0.0.1/33" 'NSPAWNLITE_BRIDGE_SUBNET' boot -d -M s2 "$TREE"
BAD_ENV=(NSPAWNLITE_BRIDGE_SUBNET=10.0.0.0/24)
bad "NSPAWNLITE_BRIDGE_SUBNET=10.0.0.0/24 (the network address)" 'NSPAWNLITE_BRIDGE_SUBNET' boot -d -M s3 "$TREE"
BAD_ENV=(NSPAWNLITE_BRIDGE_SUBNET=10.0.0.1)
bad "NSPAWNLITE_BRIDGE_SUBNET=10.0.0.1 (no prefix)" 'NSPAWNLITE_BRIDGE_SUBNET' boot -d -M s4 --network=veth "$TREE"
BAD_ENV=()
prune_pids
assert_clean "bad NSPAWNLITE_BRIDGE_SUBNET"

# --- 3. an exhausted subnet -----------------------------------------------------------------------------
# 10.99.0.1/30: the bridge is 10.99.0.1, the one guest address 10.99.0.2.
export NSPAWNLITE_BRIDGE_SUBNET=10.99.0.1/30
if up x1 "$TREE"; then
        KEEP=x1
        assert_eq 10.99.0.2 "$(machine_state x1 address)" "the first machine gets the one address of 10.99.0.1/30"
        bad "a second machine in an exhausted subnet" 'x2.*(address|free)|(address|free).*x2|No free address' \
                boot -d -M x2 "$TREE"
        assert_eq "x1 10.99.0.2 ve-x1 nspawnlite0" "$(cat "$NETDIR/leases" 2>&1)" "the leases hold only the first machine"
        timeout 5 "$BUSYBOX" ping -c1 -W2 10.99.0.2 >/dev/null 2>&1 && pass "the first machine still answers" ||
                fail "the first machine no longer answers at 10.99.0.2"
        down x1
        KEEP=""
fi
unset NSPAWNLITE_BRIDGE_SUBNET
# The last machine's supervisor leaves their deletion to a detached child: a moment.
bridge_gone() { ! ip link show nspawnlite0 >/dev/null 2>&1; }
table_gone() { ! nft list tables 2>/dev/null | grep -q nspawnlite; }
wait_for 10 bridge_gone && pass "nspawnlite0 gone with x1" || fail "nspawnlite0 left after the last machine"
wait_for 10 table_gone && pass "the table is gone with x1" || fail "table ip nspawnlite left after x1"
prune_pids
assert_clean "exhausted subnet"

# --- 4. one host port, two machines -------------------------------------------------------------------
if up f1 -p 8085:80 "$TREE"; then
        KEEP=f1
        a=$(machine_state f1 address)
        timeout 5 nsenter -t "$(leader f1)" -m -u -i -n -p -C -r -w -- sh -c \
                "mkdir -p /tmp/www && echo first-$$ >/tmp/www/index.html && httpd -p 80 -h /tmp/www" ||
                fail "httpd did not start in f1"
        wait_for 5 sh -c "nsenter -t $(leader f1) -n -- ss -Hltn 'sport = :80' | grep -q ." || fail "no httpd in f1"
        get() { timeout 10 "$BUSYBOX" wget -q -O - "$1" 2>&1 || true; }
        assert_eq "first-$$" "$(get http://127.0.0.1:8085/)" "the first machine's forward works"
        bad "port 8085 forwarded by a second machine" '8085' boot -d -M f2 -p 8085:80 "$TREE"
        bad "port 8085 again, among other ports" '8085' boot -d -M f3 -p 8086:80 -p 8085:80 "$TREE"
        assert_match "tcp \\. 8085 : $a \\. 80" "$(nft list map ip nspawnlite ports 2>&1)" "the forward still points at the first machine"
        assert_eq "first-$$" "$(get http://127.0.0.1:8085/)" "… and still works"
        assert_eq "" "$(nft list map ip nspawnlite ports 2>&1 | grep -o 8086 || true)" "the second's other port is not left forwarded"
        down f1
        KEEP=""
fi
# the same port, once for tcp and once for udp, is no conflict
if up f4 -p 8087:80 "$TREE" && up f5 -p udp:8087:80 "$TREE"; then
        pass "tcp/8087 and udp/8087 may go to two machines"
fi
down f4
down f5
prune_pids
assert_clean "one port, two machines"

# --- 5. bad --port= values ----------------------------------------------------------------------------
bad "--port=0" 'port' boot -d -M p1 --port=0 "$TREE"
bad "--port=70000" 'port' boot -d -M p2 --port=70000 "$TREE"
bad "--port=tcp:" 'port' boot -d -M p3 --port=tcp: "$TREE"
bad "--port=sctp:80" 'port' boot -d -M p4 --port=sctp:80 "$TREE"
bad "--port=80:0" 'port' boot -d -M p5 --port=80:0 "$TREE"
bad "--port=80:" 'port' boot -d -M p6 --port=80: "$TREE"
bad "--port=udp:80:65536" 'port' boot -d -M p7 --port=udp:80:65536 "$TREE"
bad "--port=-1" 'port' boot -d -M p8 --port=-1 "$TREE"
bad "--port=80 twice" '80' boot -d -M p9 -p 80 -p 80:8080 "$TREE"
bad "--port=80 --network=host" 'host' boot -d -M p10 --port=80 --network=host "$TREE"
bad "--port=80 --network=none" 'none' boot -d -M p11 --port=80 --network=none "$TREE"
bad "--port=80 --private-network" 'none|private' boot -d -M p12 --port=80 --private-network "$TREE"
bad "run --port=80 --network=host" 'host' run --port=80 --network=host "$TREE" /bin/true
prune_pids
assert_clean "bad --port values"

# nothing of the network is left at the end
links=$(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^(ve-|nspawnlite0$)' || true)
assert_eq "" "$links" "no ve-* link and no nspawnlite0 at the end"
assert_eq "" "$(nft list tables 2>&1)" "no nftables table at the end"
