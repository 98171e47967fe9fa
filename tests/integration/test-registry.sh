#!/bin/bash
# The registry's files and what the verbs read from them (nspawnlite(1) MACHINES):
# - a tree whose path holds newlines and "leader=…" lines boots, its state file keeps the path as
#   one escaped value, status --json shows that path and the real leader, and shell runs in the
#   machine, not in the host process the path names;
# - a state file that names another leader than the supervisor's is refused by shell;
# - a tree whose path holds bytes 0xff 0xfe (not UTF-8): status --json and list --json are valid
#   UTF-8 and strict JSON, the bytes shown as U+FFFD;
# - as user nobody, list, status and shell of a running machine say that root is needed, exit 1.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || skip "needs python3"
command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
SRC=$("$TOP/tests/guests/build.sh" busybox | tail -n 1) || die "no busybox guest tree (tests/guests/build.sh busybox)"
MACHINES=$NSPAWNLITE_RUNTIME_DIR/machines

# A host process the forged lines point at: the attack joined its namespaces and read its /tmp.
sleep 300 </dev/null >/dev/null 2>&1 &
VICTIM=$!
STARTED_PIDS+=("$VICTIM")
VST=$(sed 's/.*) //' "/proc/$VICTIM/stat" | cut -d' ' -f20)

# --- 1. newlines and forged keys in the tree's path -------------------------------------------------
EVIL="$WORK/x"$'\n'"leader=$VICTIM"$'\n'"leader_starttime=$VST"$'\n'"uid_shift=0"$'\n'"caps=18446744073709551615"
mkdir -p "$EVIL"
cp -a "$SRC" "$EVIL/tree" || die "cannot copy the busybox tree"
echo "inside-reg-machine" >"$EVIL/tree/etc/reg-marker"
up_quiet reg1 "$EVIL/tree" || die "reg1 did not boot from a path with newlines"
pass "reg1: boots from a tree whose path holds newlines and leader= lines"
LEADER=$(leader reg1)
SUPERVISOR=$(machine_state reg1 supervisor)
assert_eq 1 "$(grep -c '^leader=' "$MACHINES/reg1/state")" "reg1: the state file has one leader= line"
assert_eq 1 "$(grep -c '^leader_starttime=' "$MACHINES/reg1/state")" "reg1: the state file has one leader_starttime= line"
[ "$LEADER" != "$VICTIM" ] && [ "$(awk '{print $4}' "/proc/$LEADER/stat")" = "$SUPERVISOR" ] &&
        pass "reg1: the recorded leader ($LEADER) is the supervisor's child, not the forged $VICTIM" ||
        fail "reg1: leader $LEADER (victim $VICTIM, supervisor $SUPERVISOR)"
assert_match '\\nleader=' "$(grep '^rootfs=' "$MACHINES/reg1/state")" "reg1: the newlines of rootfs are escaped in the state file"

rc=0
"$NSPAWNLITE" status reg1 --json >"$WORK/status1.json" 2>"$WORK/status1.err" || rc=$?
assert_eq 0 "$rc" "reg1: status --json exits 0 $(cat "$WORK/status1.err")"
check=$(EXPECT_ROOTFS="$EVIL/tree" EXPECT_LEADER="$LEADER" python3 -c '
import json, os, sys
d = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
ok = d["rootfs"] == os.environ["EXPECT_ROOTFS"] and d["leader"] == int(os.environ["EXPECT_LEADER"])
print("ok" if ok else "rootfs=%r leader=%r" % (d["rootfs"], d["leader"]))' "$WORK/status1.json" 2>&1 | tail -n 1 || true)
assert_eq ok "$check" "reg1: status --json shows the real rootfs (newlines and all) and leader"

rc=0
out=$(timeout 30 "$NSPAWNLITE" shell reg1 -- cat /etc/reg-marker </dev/null 2>&1) || rc=$?
assert_eq "0 inside-reg-machine" "$rc $out" "reg1: shell runs in the machine (its /etc/reg-marker)"
rc=0
out=$(timeout 30 "$NSPAWNLITE" shell reg1 -- cat /proc/1/comm </dev/null 2>&1) || rc=$?
assert_eq "0 init" "$rc $out" "reg1: shell's PID 1 is the machine's init"

# --- 2. a state file that names another leader than the supervisor knows ---------------------------
cp "$MACHINES/reg1/state" "$WORK/state.orig"
sed -e "s/^leader=.*/leader=$VICTIM/" -e "s/^leader_starttime=.*/leader_starttime=$VST/" "$WORK/state.orig" \
        >"$MACHINES/reg1/state.forged"
mv "$MACHINES/reg1/state.forged" "$MACHINES/reg1/state"
rc=0
timeout 30 "$NSPAWNLITE" shell reg1 -- cat /etc/reg-marker </dev/null >"$WORK/o" 2>"$WORK/e" || rc=$?
[ "$rc" != 0 ] && [ ! -s "$WORK/o" ] && [ "$(wc -l <"$WORK/e")" = 1 ] && grep -q 'does not confirm' "$WORK/e" &&
        pass "reg1: shell refuses a leader its supervisor does not confirm (status $rc: $(cat "$WORK/e"))" ||
        fail "reg1: shell with a forged leader: status $rc, out '$(cat "$WORK/o")', err '$(cat "$WORK/e")'"
cp "$WORK/state.orig" "$MACHINES/reg1/state.new" && mv "$MACHINES/reg1/state.new" "$MACHINES/reg1/state"
# A forged key of its own is refused too (the later line no longer wins: the file is not read).
{ cat "$WORK/state.orig"; echo "leader=$VICTIM"; } >"$MACHINES/reg1/state.new" && mv "$MACHINES/reg1/state.new" "$MACHINES/reg1/state"
rc=0
out=$("$NSPAWNLITE" status reg1 2>&1) || rc=$?
[ "$rc" != 0 ] && assert_match 'Machine reg1 has a state file nspawnlite did not write' "$out" \
        "reg1: a state file with a key twice is refused (status $rc)" ||
        fail "reg1: a state file with leader= twice was read: $out"
cp "$WORK/state.orig" "$MACHINES/reg1/state.new" && mv "$MACHINES/reg1/state.new" "$MACHINES/reg1/state"
process_alive "$VICTIM" && pass "the host process named by the forged lines is untouched" || fail "the victim process is gone"

# --- 3. not root -------------------------------------------------------------------------------------
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$NSPAWNLITE" "$@" </dev/null; }
for cmd in "list" "list --json" "status reg1" "status reg1 --json" "shell reg1 -- true" "poweroff reg1"; do
        rc=0
        # shellcheck disable=SC2086
        as_nobody $cmd >"$WORK/o" 2>"$WORK/e" || rc=$?
        [ "$rc" = 1 ] && [ ! -s "$WORK/o" ] && [ "$(wc -l <"$WORK/e")" = 1 ] && grep -q 'needs root' "$WORK/e" &&
                pass "as nobody, $cmd: status 1, $(cat "$WORK/e")" ||
                fail "as nobody, $cmd: status $rc, out '$(head -c 300 "$WORK/o")', err '$(head -c 300 "$WORK/e")'"
done
_leader_alive reg1 && pass "reg1 still runs after nobody's attempts" || fail "reg1 is gone"

kill "$VICTIM"
wait "$VICTIM" 2>/dev/null || true
forget "$VICTIM"
down reg1

# --- 4. bytes that are not UTF-8 in the tree's path -------------------------------------------------
BAD="$WORK/bad"$'\xff\xfe'
mkdir -p "$BAD"
cp -a "$SRC" "$BAD/tree" || die "cannot copy the busybox tree"
up_quiet reg2 "$BAD/tree" || die "reg2 did not boot from a path with bytes 0xff 0xfe"
pass "reg2: boots from a tree whose path holds bytes 0xff 0xfe"
for cmd in "status reg2 --json" "list --json"; do
        rc=0
        # shellcheck disable=SC2086
        "$NSPAWNLITE" $cmd >"$WORK/out.json" 2>"$WORK/err" || rc=$?
        check=$(EXPECT="$BAD/tree" python3 -c '
import json, os, sys
expect = os.environb[b"EXPECT"].decode("utf-8", errors="replace")  # U+FFFD for each bad byte
raw = open(sys.argv[1], "rb").read()
d = json.loads(raw.decode("utf-8", errors="strict"))
items = d if isinstance(d, list) else [d]
reg2 = [m for m in items if m["name"] == "reg2"]
if not reg2:
    print("no reg2 in %r" % d)
elif "rootfs" in reg2[0] and reg2[0]["rootfs"] != expect:
    print("rootfs %r" % reg2[0]["rootfs"])
else:
    print("ok")' "$WORK/out.json" 2>&1 | tail -n 1 || true)
        assert_eq "0 ok" "$rc $check" "reg2: $cmd is valid UTF-8 and strict JSON $(cat "$WORK/err")"
done

down reg2
