#!/bin/bash
# A supervisor SIGKILLed at a random moment of "boot -d": its guest dies with it
# (PR_SET_PDEATHSIG), and "gc" removes everything it left (state, lock, cgroups in every
# hierarchy), so that the name boots again at once. Fifty rounds under one name, bounded to about
# two minutes; the kill lands anywhere from before the supervisor took the name to a running guest.
# Then 15 rounds each while an --image= or an --ephemeral start is set up: no loop device, mount
# or overlay upper stays.
. "$(dirname "$0")/lib.sh"

TREE=$(guest busybox)
[ -x "$TREE/bin/busybox" ] || die "no busybox guest tree: '$TREE'"
MACHINES=$NSPAWNLITE_RUNTIME_DIR/machines
NAME=chaos
ROUNDS=${NSPAWNLITE_CHAOS_ROUNDS:-50}
BUDGET=${NSPAWNLITE_CHAOS_SECONDS:-110}

# Supervisors are not our children (the host's init reaps them, maybe late): "alive" excludes
# zombies; they are killed if the test dies.
SUPERVISORS=()
trap 'rc=$?; set +e; for s in "${SUPERVISORS[@]}"; do kill -KILL "$s" 2>/dev/null; done; (exit $rc); cleanup' EXIT
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Live processes whose cgroup (in any hierarchy) is under the test's parent.
machine_procs() {
        local f p
        for f in $(grep -l ":/$NSPAWNLITE_CGROUP_PARENT/" /proc/[0-9]*/cgroup 2>/dev/null); do
                p=${f#/proc/}
                p=${p%/cgroup}
                process_alive "$p" && echo "$p($(cat "/proc/$p/comm" 2>/dev/null))"
        done
        return 0
}
cgroups_left() {
        local root
        for root in $(cgroup_roots); do
                [ -e "$root/$NSPAWNLITE_CGROUP_PARENT" ] && echo "$root"
        done
        return 0
}
files_left() {
        [ -d "$MACHINES" ] && find "$MACHINES" -mindepth 1 | head -n 5
        return 0
}

# find_supervisor P: set SUP to the supervisor of a "boot -d" whose process is P: P's child while
# P waits for it (read from /proc without forking, to catch early moments), else (P gone: the
# machine is up) the state file's. Waits up to ~1 s for the fork.
find_supervisor() {
        local i s
        SUP=
        for ((i = 0; i < 1200; i++)); do
                s=
                read -r s _ 2>/dev/null <"/proc/$1/task/$1/children" || true
                if [ -z "$s" ] && [ "$i" -ge 200 ]; then
                        process_alive "$1" || s=$(machine_state "$NAME" supervisor)
                        sleep 0.001
                fi
                if [ -n "$s" ]; then
                        SUP=$s
                        return 0
                fi
        done
        return 1
}

declare -A BAD=([hang]=0 [silent]=0 [guest]=0 [gc]=0 [procs]=0 [cgroups]=0 [files]=0 [supervisor]=0 [reboot]=0)
bad() { # KIND MESSAGE: count, and show the first few
        BAD[$1]=$((BAD[$1] + 1))
        [ "${BAD[$1]}" -le 3 ] && log "round $round: $2"
        return 0
}
before_dir=0
clone_kills=0
failed_boots=0
before_state=0
after_state=0
start=$SECONDS
t_start=$(now_ms)
round=0
while [ "$round" -lt "$ROUNDS" ] && [ $((SECONDS - start)) -lt "$BUDGET" ]; do
        round=$((round + 1))
        # Even rounds kill the supervisor right after it cloned the container child (before the
        # child ran a line of its own: the narrowest window); of the odd ones, one in five as early
        # as possible, one in five within the first 30 ms (setup), the others 0–300 ms in.
        if [ $((round % 2)) = 0 ]; then
                delay=clone
        elif [ $((round % 10)) = 1 ]; then
                delay=0
        elif [ $((round % 10)) = 3 ]; then
                delay=$((RANDOM % 31))
        else
                delay=$((RANDOM % 301))
        fi
        "$NSPAWNLITE" boot -d --network=none -M "$NAME" "$TREE" </dev/null >"$WORK/boot.log" 2>&1 &
        P=$!
        STARTED_PIDS+=("$P")
        case $delay in
        0 | clone) ;;
        *) sleep "$(printf '0.%03d' "$delay")" ;;
        esac
        if find_supervisor "$P"; then
                S=$SUP
                SUPERVISORS+=("$S")
                if [ "$delay" = clone ]; then
                        # the window is microseconds: kill the moment the child shows up
                        for ((i = 0; i < 20000; i++)); do
                                c=
                                read -r c _ 2>/dev/null <"/proc/$S/task/$S/children" || true
                                if [ -n "$c" ]; then
                                        kill -KILL "$S" 2>/dev/null || true
                                        clone_kills=$((clone_kills + 1))
                                        break
                                fi
                        done
                fi
                if [ -e "$MACHINES/$NAME/state" ]; then
                        after_state=$((after_state + 1))
                elif [ -e "$MACHINES/$NAME" ]; then
                        before_state=$((before_state + 1))
                else
                        before_dir=$((before_dir + 1))
                fi
                kill -KILL "$S" 2>/dev/null || true
        else
                bad supervisor "no supervisor found for boot -d ($P): $(cat "$WORK/boot.log")"
        fi
        wait_exit "$P" 5
        [ "$EXIT_RC" != timeout ] || bad hang "boot -d did not return within 5 s after its supervisor was killed (delay $delay)"
        # a boot -d that fails says why, in one line
        if [ "$EXIT_RC" != 0 ] && [ "$EXIT_RC" != timeout ]; then
                failed_boots=$((failed_boots + 1))
                [ "$(grep -c . "$WORK/boot.log")" = 1 ] ||
                        bad silent "boot -d exited $EXIT_RC with $(grep -c . "$WORK/boot.log") lines of output: $(head -c 200 "$WORK/boot.log")"
        fi
        wait_for 5 eval '! process_alive "$S"' || bad supervisor "supervisor $S survived SIGKILL"
        # the guest dies with its supervisor, before any gc
        wait_for 3 eval 'test -z "$(machine_procs)"' ||
                bad guest "the guest outlived its supervisor (delay $delay): $(machine_procs | tr '\n' ' ')"

        rc=0
        "$NSPAWNLITE" gc >"$WORK/gc.out" 2>&1 || rc=$?
        [ "$rc" = 0 ] || bad gc "gc exited $rc: $(tr '\n' ' ' <"$WORK/gc.out")"
        # what gc left, looked at once it returned (no waiting: it must have finished its work)
        left=$(machine_procs | tr '\n' ' ')
        [ -z "$left" ] || bad procs "processes in the machine's cgroups after gc (delay $delay): $left"
        left=$(cgroups_left | tr '\n' ' ')
        [ -z "$left" ] || bad cgroups "cgroups after gc (delay $delay): $left"
        left=$(files_left | tr '\n' ' ')
        [ -z "$left" ] || bad files "runtime files after gc (delay $delay): $left"

        # After a failure, clear up by hand so that the next rounds still test something.
        if [ -n "$(machine_procs)$(cgroups_left)$(files_left)" ] || process_alive "$P"; then
                log "round $round: clearing up by hand: $(machine_procs | tr '\n' ' ')"
                for p in $(machine_procs | sed 's/(.*//') "$P"; do kill -KILL "$p" 2>/dev/null || true; done
                wait_exit "$P" 5
                wait_for 3 eval 'test -z "$(machine_procs)"' || true
                "$NSPAWNLITE" gc >/dev/null 2>&1 || true
        fi

        # the name boots again at once
        rc=0
        timeout 30 "$NSPAWNLITE" boot -d --wait-ready --timeout=20 --network=none -M "$NAME" "$TREE" </dev/null \
                >"$WORK/fresh.log" 2>&1 || rc=$?
        s=$(machine_state "$NAME" supervisor) || true
        [ -n "$s" ] && SUPERVISORS+=("$s")
        if [ "$rc" != 0 ] || ! _leader_alive "$NAME"; then
                bad reboot "fresh boot of $NAME: status $rc: $(tr '\r\n' '  ' <"$WORK/fresh.log" | head -c 300)"
        fi
        "$NSPAWNLITE" terminate "$NAME" >/dev/null 2>&1 || bad reboot "terminate of the fresh boot failed"
        [ -z "$s" ] || wait_for 5 eval '! process_alive "$s"' || bad reboot "supervisor of the fresh boot still runs"
done
log "$round rounds in $(($(now_ms) - t_start)) ms; killed before the machine dir: $before_dir, before the state file: $before_state ($clone_kills right after the clone), after: $after_state"

[ "$round" -ge 20 ] && pass "ran $round rounds within ${BUDGET} s" || fail "only $round rounds within ${BUDGET} s"
[ $((before_dir + before_state)) -gt 0 ] && [ "$after_state" -gt 0 ] &&
        pass "kills landed both before ($before_dir + $before_state) and after ($after_state) the machine was up" ||
        fail "kills landed before: $before_dir + $before_state, after: $after_state"
[ "$clone_kills" -gt 0 ] && pass "some kills landed right after the clone ($clone_kills)" || fail "no kill landed right after the clone"
assert_eq 0 "${BAD[hang]}" "boot -d returns when its supervisor is killed (rounds failing)"
assert_eq 0 "${BAD[supervisor]}" "each supervisor was found, died of SIGKILL, and its boot -d returned (rounds failing)"
assert_eq 0 "${BAD[silent]}" "a boot -d that failed because its supervisor died says so in one line ($failed_boots failed boots; rounds failing)"
assert_eq 0 "${BAD[guest]}" "the guest dies with its supervisor (rounds failing)"
assert_eq 0 "${BAD[gc]}" "gc exits 0 after each kill (rounds failing)"
assert_eq 0 "${BAD[procs]}" "no process of the machine after gc (rounds failing)"
assert_eq 0 "${BAD[cgroups]}" "no cgroup under the test's parent after gc (rounds failing)"
assert_eq 0 "${BAD[files]}" "no runtime files after gc (rounds failing)"
assert_eq 0 "${BAD[reboot]}" "the name boots again at once after gc, and terminates (rounds failing)"

# --- images and --ephemeral (issue 14) ----------------------------------------------------------
# A supervisor SIGKILLed while it sets up an image (probe, lock, the trial mount, the detached
# mounts before the clone) or an --ephemeral start: after gc no loop device is bound to the image,
# nothing is mounted here (no image, no overlay), and the overlay's upper left no trace in the tree.
SIDE_ROUNDS=${NSPAWNLITE_CHAOS_SIDE_ROUNDS:-15}
IMG=$WORK/chaos.ext4
command -v mkfs.ext4 >/dev/null || die "needs mkfs.ext4 (e2fsprogs)"
mkfs.ext4 -q -d "$TREE" "$IMG" 16M >/dev/null || die "mkfs.ext4 of the chaos image failed"
tree_top=$(ls -A "$TREE" | tr '\n' ' ')
image_loops() { losetup -j "$IMG" 2>&1; }
# mounts of ours beyond those there before (the guest tree's own overlay): the runtime dir's, the
# image's loop devices, any overlay (in the test's own mount namespace)
side_mounts() { grep -E " $NSPAWNLITE_RUNTIME_DIR/| overlay |/dev/loop" /proc/self/mountinfo | grep -vxF "$SIDE_BASE" || true; }
SIDE_BASE=
SIDE_BASE=$(side_mounts)
declare -A SIDE_BAD=() SIDE_WHERE=() # where each kill landed: N (boot -d alive, N children) or s
# side_kill P: SIGKILL the supervisor of the "boot -d" P at this moment. With an image, P probes and
# tries it before it forks the supervisor, so until then P is the one to kill, with its trial child;
# P is stopped first so that it forks nothing meanwhile. Once P is gone: the state file's supervisor.
side_kill() {
        local p=$1 c s i kids=()
        if [ "$delay" = clone ]; then
                # right after the supervisor cloned the child (it holds the image's mounts, detached)
                for ((i = 0; i < 20000; i++)); do
                        s=$(machine_state "$NAME" supervisor 2>/dev/null) || true
                        c=
                        [ -z "$s" ] || read -r c _ 2>/dev/null <"/proc/$s/task/$s/children" || true
                        [ -z "$c" ] || break
                done
        fi
        if kill -STOP "$p" 2>/dev/null && process_alive "$p"; then
                read -r -a kids 2>/dev/null <"/proc/$p/task/$p/children" || true
                for c in "${kids[@]}"; do
                        SUPERVISORS+=("$c")
                        kill -KILL "$c" 2>/dev/null || true
                done
                kill -KILL "$p" 2>/dev/null || true
                SIDE_WHERE[$kind]+="${#kids[@]}"
        else
                # gone or a zombie; a SIGKILL also ends one that was stopped meanwhile
                kill -KILL "$p" 2>/dev/null || true
                SIDE_WHERE[$kind]+=s
        fi
        s=$(machine_state "$NAME" supervisor) || true
        if [ -n "$s" ]; then
                SUPERVISORS+=("$s")
                kill -KILL "$s" 2>/dev/null || true
                wait_for 5 eval '! process_alive "$s"' || SIDE_BAD[$kind]+="supervisor $s survived SIGKILL; "
        fi
        return 0
}
side_round() { # KIND DELAY BOOT-ARGS…: boot -d, SIGKILL its supervisor after DELAY ms, gc, look
        local kind=$1 delay=$2 p left
        shift 2
        "$NSPAWNLITE" boot -d --network=none -M "$NAME" "$@" </dev/null >"$WORK/side.log" 2>&1 &
        p=$!
        STARTED_PIDS+=("$p")
        case $delay in
        0 | clone) ;;
        *) sleep "$(printf '0.%03d' "$delay")" ;;
        esac
        side_kill "$p"
        wait_exit "$p" 5
        wait_for 3 eval 'test -z "$(machine_procs)"' ||
                SIDE_BAD[$kind]+="delay $delay: outlived the supervisor: $(machine_procs | tr '\n' ' ') $(for q in $(machine_procs | sed 's/(.*//'); do cat /proc/$q/stack /proc/$q/cgroup 2>/dev/null | head -n 4; done | tr '\n' ' '); "
        "$NSPAWNLITE" gc >"$WORK/gc.out" 2>&1 || SIDE_BAD[$kind]+="gc failed: $(tr '\n' ' ' <"$WORK/gc.out"); "
        # the last mount of an image goes with the guest's namespace; the loop device with it
        wait_for 3 eval 'test -z "$(image_loops)"' ||
                SIDE_BAD[$kind]+="delay $delay: loop device left: $(image_loops | tr '\n' ' '); "
        left=$(side_mounts | tr '\n' ' ')
        [ -z "$left" ] || SIDE_BAD[$kind]+="delay $delay: mounts left: $left; "
        left=$(files_left | tr '\n' ' ')$(cgroups_left | tr '\n' ' ')
        [ -z "$left" ] || SIDE_BAD[$kind]+="delay $delay: runtime files or cgroups left: $left; "
        [ "$(ls -A "$TREE" | tr '\n' ' ')" = "$tree_top" ] ||
                SIDE_BAD[$kind]+="delay $delay: the tree changed: $(ls -A "$TREE" | tr '\n' ' '); "
        # clear up whatever was left, so that the next rounds still test something
        for q in $(machine_procs | sed 's/(.*//'); do kill -KILL "$q" 2>/dev/null || true; done
        "$NSPAWNLITE" gc >/dev/null 2>&1 || true
        return 0
}
NAME=chaosimg
for ((r = 1; r <= SIDE_ROUNDS; r++)); do
        # a third right after the clone, a third in the first 30 ms (the probe, lock and trial), the
        # rest up to 150 ms (the supervisor's setup; the guest runs after about that)
        case $((r % 3)) in 0) d=clone ;; 1) d=$((RANDOM % 31)) ;; *) d=$((RANDOM % 151)) ;; esac
        side_round image "$d" --image="$IMG"
done
log "--image: kills landed: ${SIDE_WHERE[image]} (0: probing, 1: trial or supervisor forked, s: boot -d had returned)"
assert_eq "" "${SIDE_BAD[image]:-}" "--image: $SIDE_ROUNDS supervisors killed in setup: after gc no loop device, mount or runtime file left"
assert_eq "" "$(image_loops)" "--image: losetup -j finds no loop device of the image"
rc=0
timeout 30 "$NSPAWNLITE" run --network=none -M "$NAME" --image="$IMG" /bin/true </dev/null >"$WORK/img-after.log" 2>&1 || rc=$?
assert_eq 0 "$rc" "--image: after the kills the image runs again (not locked, not corrupt) $(head -c 200 "$WORK/img-after.log")"
NAME=chaoseph
for ((r = 1; r <= SIDE_ROUNDS; r++)); do
        case $((r % 3)) in 0) d=clone ;; 1) d=$((RANDOM % 31)) ;; *) d=$((RANDOM % 151)) ;; esac
        side_round ephemeral "$d" --ephemeral "$TREE"
done
log "--ephemeral: kills landed: ${SIDE_WHERE[ephemeral]}"
assert_eq "" "${SIDE_BAD[ephemeral]:-}" "--ephemeral: $SIDE_ROUNDS supervisors killed in setup: after gc no overlay, mount, upper or runtime file left"
NAME=chaos

# the end: nothing left, and the name still works
assert_eq "" "$(machine_procs | tr '\n' ' ')" "at the end: no process in the machine's cgroups"
assert_clean "at the end: nothing left behind"
rc=0
"$NSPAWNLITE" boot -d --wait-ready --timeout=20 --network=none -M "$NAME" "$TREE" </dev/null >"$WORK/final.log" 2>&1 || rc=$?
s=$(machine_state "$NAME" supervisor) || true
[ -n "$s" ] && SUPERVISORS+=("$s")
assert_eq 0 "$rc" "at the end: a fresh boot of $NAME works $(tr '\r\n' '  ' <"$WORK/final.log" | head -c 200)"
assert_eq "$NAME" "$(in_guest "$NAME" hostname 2>&1)" "… and the guest answers"
rc=0
"$NSPAWNLITE" poweroff "$NAME" || rc=$?
assert_eq 0 "$rc" "… and powers off with exit 0"
[ -z "$s" ] || wait_for 5 eval '! process_alive "$s"' || fail "the final supervisor still runs"
assert_clean "after the final poweroff"
