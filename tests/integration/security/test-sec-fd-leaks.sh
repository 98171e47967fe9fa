#!/bin/bash
# Nothing nspawnlite starts inside a machine (boot's
# PID 1 and every guest process, run's stub PID 1 and command, shell's process, on pipes and on a
# pty) holds a host fd, a host cwd or the caller's environment, not even for the moment between
# entering the machine's pid namespace and execve(): a guest root racing every new process with
# pidfd_getfd() and /proc/PID/environ (the CVE-2016-9962 / CVE-2016-8649 class) must get nothing,
# with and without -U. Also: the name lock is not inherited by the guest (flock free once the
# supervisor is SIGKILLed).
. "$(dirname "$0")/sec-lib.sh"

TREE=$(guest busybox)
[ -x "$TREE/bin/busybox" ] || die "no busybox guest tree: '$TREE'"

# Host objects handed to every nspawnlite command below as inherited fds 3-7 (not close-on-exec),
# and a secret in the caller's environment.
echo "NLSEC-CANARY-$$" >"$WORK/canary"
chmod 0600 "$WORK/canary"
: >"$WORK/leak-w"
exec 3<"$WORK/canary" 4</ 5</sys/fs/cgroup 6</proc/self/ns/net 7>>"$WORK/leak-w"
export NLSEC_CALLER_SECRET="caller-secret-$$"
LEAKED=$(dev_ino "$WORK/canary" / /sys/fs/cgroup /proc/self/ns/net "$WORK/leak-w" | sort -u)
[ "$(echo "$LEAKED" | wc -l)" = 5 ] || die "cannot identify the inherited host objects: $LEAKED"
is_leaked() { grep -qxF "$1" <<<"$LEAKED"; } # DEV:INO

# pids_of NAME: every process of the machine's pid namespace, as the host sees them.
pids_of() {
        local l ns p
        l=$(leader "$1")
        ns=$(readlink "/proc/$l/ns/pid") || return 0
        for p in /proc/[0-9]*; do
                [ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$ns" ] && echo "${p#/proc/}"
        done
        return 0
}

# scan_machine WHAT NAME: no process of the machine holds a leaked object as an fd, cwd or root;
# every process's root is PID 1's; none has the caller's secret in its environment.
scan_machine() {
        local what=$1 name=$2 p fd id bad="" n=0 root1
        root1=$(dev_ino "/proc/$(leader "$name")/root")
        for p in $(pids_of "$name"); do
                n=$((n + 1))
                for fd in /proc/"$p"/fd/*; do
                        id=$(dev_ino "$fd") || continue
                        is_leaked "$id" && bad+=" pid $p fd ${fd##*/} -> $(readlink "$fd");"
                done
                id=$(dev_ino "/proc/$p/cwd") && is_leaked "$id" && bad+=" pid $p cwd is a host object;"
                [ "$(dev_ino "/proc/$p/root")" = "$root1" ] || bad+=" pid $p has another root;"
                tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -q '^NLSEC_CALLER_SECRET=' && bad+=" pid $p has the caller's environment;"
        done
        [ "$n" -gt 0 ] || { fail "$what: no process found in machine $name"; return; }
        [ -z "$bad" ] && pass "$what: none of the machine's $n processes holds a host fd, cwd or environment" ||
                fail "$what:$bad"
}

# ====================================================================================================
# 1. boot: PID 1 and all guest processes
if up fdboot "$PROBE_BIND" "$TREE"; then
        l=$(leader fdboot)
        assert_eq "0 1 2" "$(ls /proc/"$l"/fd | sort -n | tr '\n' ' ' | sed 's/ $//')" "boot: PID 1 has exactly fds 0-2"
        pts_dev=$(in_guest fdboot stat -c %d /dev/pts/ptmx)
        ok=1
        for fd in 0 1 2; do [ "$(stat -L -c %d "/proc/$l/fd/$fd")" = "$pts_dev" ] || ok=0; done
        [ "$ok" = 1 ] && pass "boot: PID 1's stdio is a pty of the machine's own devpts" ||
                fail "boot: PID 1's stdio: $(ls -l /proc/"$l"/fd/ | tr '\n' ' ')"
        assert_eq "/" "$(in_guest fdboot readlink /proc/1/cwd)" "boot: PID 1's cwd is / of the guest"
        assert_eq "$(dev_ino "/proc/$l/root")" "$(dev_ino "/proc/$l/cwd")" "boot: PID 1's cwd is its root directory (host view)"
        assert_eq "" "$(tr '\0' '\n' <"/proc/$l/environ" | grep '^NLSEC_CALLER_SECRET=' || true)" "boot: PID 1's environment has nothing of the caller's"
        scan_machine "boot" fdboot

        # ================================================================================================
        # 2. shell on pipes: fds, cwd, environment, cgroup, confinement
        out=$(sh_in fdboot /nlsec-probe fds 2>&1) || true
        fds=$(echo "$out" | sed -n 's/^fd\([0-9]*\) .*/\1/p' | sort -n | tr '\n' ' ' | sed 's/ $//')
        assert_eq "0 1 2" "$fds" "shell (pipes): the command has exactly fds 0-2"
        assert_eq "fifo fifo fifo" "$(echo "$out" | sed -n 's/^fd[012] .* type=\([a-z]*\) .*/\1/p' | tr '\n' ' ' | sed 's/ $//')" \
                "shell (pipes): fds 0-2 are nspawnlite's pipes, not the caller's files"
        bad=""
        for id in $(echo "$out" | sed -n 's/.* id=\([0-9]*:[0-9]*\) .*/\1/p'); do is_leaked "$id" && bad+=" $id"; done
        assert_eq "" "$bad" "shell (pipes): no fd is an inherited host object"
        assert_eq "cwd /root" "$(echo "$out" | grep '^cwd ')" "shell: cwd is root's home in the guest"

        env_keys=$(sh_in fdboot env 2>&1 | sed 's/=.*//' | sort | tr '\n' ' ' | sed 's/ $//')
        assert_eq "HOME LOGNAME PATH SHELL TERM USER container" "$env_keys" "shell: the environment is nspawnlite's own (nothing of the caller's)"

        # Its cgroup: inside, every hierarchy's path is the machine's root; from the host, the
        # process sits in the machine's payload, not in the caller's cgroup.
        cg=$(sh_in fdboot cat /proc/self/cgroup 2>&1)
        assert_eq "" "$(echo "$cg" | grep -v ':/$' || true)" "shell: /proc/self/cgroup is the machine's own root in every hierarchy"
        timeout 30 "$NSPAWNLITE" shell fdboot -- sleep 5 </dev/null >/dev/null 2>&1 &
        STARTED_PIDS+=("$!")
        sleeper=""
        find_sleeper() {
                local p
                for p in $(pids_of fdboot); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ] && sleeper=$p && return 0; done
                return 1
        }
        if wait_for 10 find_sleeper; then
                payload="/$NSPAWNLITE_CGROUP_PARENT/machine-fdboot.scope/payload"
                # (v1 hierarchies with no controller of nspawnlite's, cpuset and the like, hold no
                # machine: there it keeps the caller's cgroup, as the guest does)
                other=$(grep -v ":$payload\$" "/proc/$sleeper/cgroup" | grep -v ":$payload/" |
                        grep -Ev '^[0-9]+:(cpuset|net_cls|net_prio|net_cls,net_prio|perf_event|hugetlb|rdma|misc):' || true)
                assert_eq "" "$other" "shell: its process is in the machine's payload cgroup in every hierarchy it has one (host view)"
                mine=$(sed -n 's/^0:://p' /proc/self/cgroup)
                [ "$(sed -n 's/^0:://p' "/proc/$sleeper/cgroup")" != "$mine" ] && pass "shell: its process is not in the caller's cgroup" ||
                        fail "shell: its process is in the caller's cgroup $mine"
        else
                fail "shell: cannot find the shell's process in the machine"
        fi

        # ================================================================================================
        # 3. shell on a pty: fds 0-2 are a pty of the machine's devpts
        echo "sleep 0.2" >"$WORK/nothing.script"
        pty_run "$WORK/pty-fds.out" 30 "$WORK/nothing.script" "$NSPAWNLITE shell fdboot -- /nlsec-probe fds"
        assert_eq 0 "$PTY_RC" "shell (pty) runs"
        out=$(tr -d '\r' <"$WORK/pty-fds.out")
        assert_eq "0 1 2" "$(echo "$out" | sed -n 's/^fd\([0-9]*\) .*/\1/p' | sort -n | tr '\n' ' ' | sed 's/ $//')" "shell (pty): exactly fds 0-2"
        devs=$(echo "$out" | sed -n 's/^fd[012] .* id=\([0-9]*\):.*/\1/p' | sort -u | tr '\n' ' ' | sed 's/ $//')
        assert_eq "$pts_dev" "$devs" "shell (pty): fds 0-2 are a pty of the machine's own devpts, never the caller's terminal"

        # ================================================================================================
        # 4. A guest root racing every new process (pidfd_getfd on fds 0-15, /proc/PID/environ) while
        # the operator runs "shell" on pipes and on a pty.
        racer_check() { # WHAT OUTFILE GUEST_PTS_DEV
                local what=$1 f=$2 gpts=$3 line id src bad="" stolen
                grep -q '^racer seen=' "$f" || { fail "$what: the racer did not run: $(head -c 300 "$f")"; return; }
                stolen=$(grep -c '^stolen ' "$f" || true)
                while read -r line; do
                        src=$(echo "$line" | sed -n 's/.* srcfd=\([0-9]*\) .*/\1/p')
                        id=$(echo "$line" | sed -n 's/.* id=\([0-9]*:[0-9]*\) .*/\1/p')
                        if is_leaked "$id"; then
                                bad+=" [inherited host object: ${line#stolen }]"
                        elif [[ $line == *" rdev=136:"* ]] && [ "${id%%:*}" != "$gpts" ]; then
                                bad+=" [the caller's terminal: ${line#stolen }]"
                        elif [[ $line == *" rdev=136:"* ]]; then
                                : # a pty of the machine's own devpts: the guest's already
                        elif [ "$src" -ge 3 ]; then
                                bad+=" [host fd $src: ${line#stolen }]"
                        fi
                done < <(grep '^stolen ' "$f")
                log "$what: $(tail -n 1 "$f") ($stolen fds taken in all)"
                [ -z "$bad" ] && pass "$what: the racer never got a host fd" ||
                        fail "$what: a guest root took host fds from nspawnlite's process in its pid namespace:$(echo "$bad" | head -c 900)"
                if grep -q '^environ ' "$f"; then
                        fail "$what: a guest root read the caller's environment ($(grep -c '^environ ' "$f") times; /proc/PID/environ before execve)"
                else
                        pass "$what: the racer never saw the caller's environment"
                fi
        }

        timeout 40 "$NSPAWNLITE" shell fdboot -- /nlsec-probe racer 9 NLSEC_CALLER_SECRET </dev/null >"$WORK/racer1.out" 2>&1 &
        rp=$!
        STARTED_PIDS+=("$rp")
        sleep 1
        t0=$SECONDS n=0
        while [ $((SECONDS - t0)) -lt 6 ]; do
                timeout 20 "$NSPAWNLITE" shell fdboot -- true </dev/null >/dev/null 2>&1 || true
                n=$((n + 1))
        done
        wait_exit "$rp" 30
        log "racer (pipes): $n shells"
        racer_check "racer vs shell (pipes)" "$WORK/racer1.out" "$pts_dev"

        timeout 40 "$NSPAWNLITE" shell fdboot -- /nlsec-probe racer 10 NLSEC_CALLER_SECRET </dev/null >"$WORK/racer2.out" 2>&1 &
        rp=$!
        STARTED_PIDS+=("$rp")
        sleep 1
        t0=$SECONDS n=0
        while [ $((SECONDS - t0)) -lt 7 ]; do
                pty_run "$WORK/pty-true.out" 20 "$WORK/nothing.script" "$NSPAWNLITE shell fdboot -- true"
                n=$((n + 1))
        done
        wait_exit "$rp" 30
        log "racer (pty): $n shells"
        racer_check "racer vs shell (pty)" "$WORK/racer2.out" "$pts_dev"
        scan_machine "after the shells" fdboot
        down fdboot
fi
clean "boot and shell"

# ====================================================================================================
# 5. run: the stub PID 1 and the command (pipe mode: the caller's own stdio is the command's, by
# design; nothing else), and on a pty.
out=$(timeout 30 "$NSPAWNLITE" run --network=none "$PROBE_BIND" "$TREE" /bin/sh -c \
        '/nlsec-probe fds; echo "pid1fds $(ls /proc/1/fd | tr "\n" " ")"; echo "pid1cwd $(readlink /proc/1/cwd)";
         for f in /proc/1/fd/*; do echo "pid1id $(stat -L -c %d:%i $f)"; done; tr "\0" "\n" </proc/1/environ | grep -c NLSEC_CALLER_SECRET' \
        </dev/null 2>&1) || true
assert_eq "0 1 2" "$(echo "$out" | sed -n 's/^fd\([0-9]*\) .*/\1/p' | sort -n | tr '\n' ' ' | sed 's/ $//')" "run: the command has exactly fds 0-2"
assert_eq "pid1fds 0 1 2 " "$(echo "$out" | grep '^pid1fds')" "run: the stub PID 1 has exactly fds 0-2"
assert_eq "pid1cwd /" "$(echo "$out" | grep '^pid1cwd')" "run: the stub PID 1's cwd is / of the guest"
bad=""
for id in $(echo "$out" | sed -n 's/.* id=\([0-9]*:[0-9]*\) .*/\1/p; s/^pid1id //p'); do is_leaked "$id" && bad+=" $id"; done
assert_eq "" "$bad" "run: neither the command nor the stub holds an inherited host object"
assert_eq 0 "$(echo "$out" | tail -n 1)" "run: the stub's environment has nothing of the caller's"
assert_clean "after run"

pty_run "$WORK/pty-run.out" 30 "$WORK/nothing.script" "$NSPAWNLITE run --network=none $PROBE_BIND $TREE /nlsec-probe fds"
assert_eq 0 "$PTY_RC" "run on a terminal runs"
out=$(tr -d '\r' <"$WORK/pty-run.out")
assert_eq "0 1 2" "$(echo "$out" | sed -n 's/^fd\([0-9]*\) .*/\1/p' | sort -n | tr '\n' ' ' | sed 's/ $//')" "run (terminal): exactly fds 0-2"
assert_match '^fd0 /dev/(pts/[0-9]+|console) type=chr' "$(echo "$out" | grep '^fd0 ')" "run (terminal): stdin is the machine's pty"
host_pts_dev=$(stat -c %d /dev/pts/ptmx)
[[ $(echo "$out" | grep '^fd0 ') != *" id=$host_pts_dev:"* ]] && pass "run (terminal): stdin is not a pty of the host's devpts" ||
        fail "run (terminal): stdin is a host pty: $(echo "$out" | grep '^fd0 ')"
assert_clean "after run on a terminal"

# ====================================================================================================
# 6. -U: the same racer, as the root of the machine's user namespace (meant to be a boundary)
UTREE=$(guest_copy busybox)
if up fdu -U "$PROBE_BIND" "$UTREE"; then
        upts=$(in_guest fdu stat -c %d /dev/pts/ptmx)
        timeout 40 "$NSPAWNLITE" shell fdu -- /nlsec-probe racer 9 NLSEC_CALLER_SECRET </dev/null >"$WORK/racer3.out" 2>&1 &
        rp=$!
        STARTED_PIDS+=("$rp")
        sleep 1
        t0=$SECONDS n=0
        while [ $((SECONDS - t0)) -lt 6 ]; do
                timeout 20 "$NSPAWNLITE" shell fdu -- true </dev/null >/dev/null 2>&1 || true
                n=$((n + 1))
        done
        wait_exit "$rp" 30
        log "racer (-U, pipes): $n shells"
        racer_check "-U: racer vs shell (pipes)" "$WORK/racer3.out" "$upts"
        scan_machine "-U machine" fdu
        down fdu
fi
clean "-U"

# ====================================================================================================
# 7. The name lock is the supervisor's alone: SIGKILL it, and the lock is free (no guest inherited
# it), the guest is gone, and gc leaves nothing.
if up fdlock "$TREE"; then
        sup=$(machine_state fdlock supervisor)
        lpid=$(leader fdlock)
        kill -KILL "$sup"
        wait_for 10 eval "! process_alive $lpid" && pass "SIGKILL of the supervisor: the guest's PID 1 dies with it" ||
                fail "SIGKILL of the supervisor: PID 1 $lpid still alive"
        if wait_for 10 flock -n "$NSPAWNLITE_RUNTIME_DIR/machines/fdlock/lock" true; then
                pass "SIGKILL of the supervisor: its name lock is free (no guest process holds it)"
        else
                fail "the name lock is still held after the supervisor died: $(fuser "$NSPAWNLITE_RUNTIME_DIR/machines/fdlock/lock" 2>&1)"
        fi
        timeout 30 "$NSPAWNLITE" gc >/dev/null 2>&1 || true
fi
clean "SIGKILL and gc"
exec 3<&- 4<&- 5<&- 6<&- 7>&-
