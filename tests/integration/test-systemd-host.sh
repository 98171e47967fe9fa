#!/bin/bash
# nspawnlite on a host where systemd is PID 1: a Debian systemd guest of nspawnlite's own, with
# systemd-machined (the debian-machined tree), runs the built nspawnlite; inside it systemd owns a
# cgroup2 tree. There:
# - a machine's scope is the transient unit machine-NAME.scope, Delegate=yes, in machine.slice,
#   with the guest in …/payload under it; machined lists the machine with its init as leader;
# - `machinectl terminate` ends it and nspawnlite follows: not listed, its veth and lease gone;
# - --register=no: the scope, but no machine in machined;
# - --memory-max= is the unit's MemoryMax, and set-limit changes it at run time;
# - --keep-unit: the machine lives in the unit nspawnlite was started in (systemd-run --scope);
# - after a SIGKILL of the supervisor, gc and the next boot of the name clear what is left where the
#   state file says (a --slice=, a kept unit that lives on, and machined's record in it);
# - without systemd as PID 1 nothing changes (every other test).
# The minbase guest lacks the project's libraries: the host's library directory is bound read-only
# at /hostlib and named in LD_LIBRARY_PATH (same Debian release), as in test-nested.sh.
. "$(dirname "$0")/lib.sh"

HOST=$(guest debian-machined) || die "no debian-machined guest tree"
BB=$("$TOP/tests/guests/build.sh" busybox | tail -n 1)
LIBDIR=$(dirname "$(ldd "$NSPAWNLITE" | awk '/libc\.so/ { print $3 }')")
[ -d "$BB" ] && [ -d "$LIBDIR" ] || die "no busybox tree or library dir"
BIN=$(dirname "$NSPAWNLITE")

# Without systemd as PID 1 (this host), enable and disable say so in one line.
if [ ! -d /run/systemd/system ]; then
        OUT=$("$NSPAWNLITE" enable sdhost 2>&1) && rc=0 || rc=$?
        assert_eq "1 1" "$rc $(echo "$OUT" | wc -l)" "enable without systemd: exit status 1, one line"
        assert_match "needs systemd as PID 1" "$OUT" "enable without systemd: the line says why"
fi

up sdhost --ephemeral --bind-ro="$BIN:/nl" --bind-ro="$LIBDIR:/hostlib" --bind-ro="$BB:/bb" "$HOST" || exit 1
assert_eq running "$(systemd_state sdhost)" "sdhost: the Debian guest with machined is running"

# inner CMD…: a shell command line inside sdhost, with the inner nspawnlite as $N.
inner() {
        timeout 150 "$NSPAWNLITE" shell sdhost -- /bin/sh -c \
                "export LD_LIBRARY_PATH=/hostlib; N=/nl/$(basename "$NSPAWNLITE"); $*" </dev/null 2>&1 || true
}

# 1. A delegated transient unit, registered with machined.
OUT=$(inner '$N boot -d --wait-ready --timeout=60 -M inbb --network=bridge /bb >/dev/null; echo "boot=$?";
        systemctl show machine-inbb.scope -p Delegate --value; systemctl show machine-inbb.scope -p ActiveState --value;
        systemctl show machine-inbb.scope -p Slice --value;
        L=$($N status inbb --json | sed -n "s/.*\"leader\": *\([0-9]*\).*/\1/p"); sed -n "s/^0:://p" /proc/$L/cgroup;
        machinectl list --no-legend | grep -c "^inbb  *container  *nspawnlite";
        [ "$(machinectl show inbb -p Leader --value)" = "$L" ] && echo leader=init')
assert_eq "$(printf 'boot=0\nyes\nactive\nmachine.slice\n/machine.slice/machine-inbb.scope/payload\n1\nleader=init')" \
        "$OUT" "boot on a systemd host: machine-inbb.scope is delegated and active in machine.slice, the guest in its payload, machinectl lists it with the guest's init as leader"

# systemd's and machined's own restarts leave the machine alone.
OUT=$(inner 'systemctl daemon-reload; systemctl restart systemd-machined; echo "restarts=$?";
        $N list | grep -c "^inbb  *running"; systemctl show machine-inbb.scope -p ActiveState --value;
        machinectl list --no-legend | grep -c "^inbb "')
assert_eq "$(printf 'restarts=0\n1\nactive\n1')" "$OUT" \
        "daemon-reload and a restart of machined: inbb runs on, its unit active, machined still lists it"

# A reboot: the same unit, machined's leader is the new init. (Then wait for the new init to catch
# SIGUSR2, its poweroff signal: before that, a stop request is lost on it until --timeout kills it.)
OUT=$(inner 'lead() { $N status inbb --json 2>/dev/null | sed -n "s/.*\"leader\": *\([0-9]*\).*/\1/p"; }; L0=$(lead);
        $N reboot inbb >/dev/null; echo "reboot=$?";
        for i in $(seq 150); do L=$(lead); [ -n "$L" ] && [ "$L" != "$L0" ] &&
                [ "$(machinectl show inbb -p Leader --value 2>/dev/null)" = "$L" ] && break; sleep 0.2; done;
        [ -n "$L" ] && [ "$L" != "$L0" ] && [ "$(machinectl show inbb -p Leader --value)" = "$L" ] && echo leader=new-init;
        for i in $(seq 100); do c=$(sed -n "s/^SigCgt:[[:space:]]*//p" /proc/$L/status); c=${c#????????????};
                [ $((0x$c & 0x800)) -ne 0 ] && break; sleep 0.1; done;
        systemctl show machine-inbb.scope -p ActiveState --value')
assert_eq "$(printf 'reboot=0\nleader=new-init\nactive')" "$OUT" \
        "reboot: machine-inbb.scope stays active, machined's leader is the new init"

# 2. machinectl terminate: nspawnlite's list, the veth and the lease follow. The supervisor is the
# scope's Controller=: systemd asks it to stop (RequestStop) instead of signalling every process of
# the scope, and it powers the guest off through its init, as a SIGTERM would. Its console log (the
# supervisor's messages too; followed, as it goes with the machine) says so: "systemd asks to stop
# unit", "Asking inbb to power off", busybox init's "Requesting system poweroff", nothing killed
# (the supervisor's "was killed", "Killing", "killing it").
# Three times: without the controller about 1 stop in 4 was killed by systemd after 90 s.
TERM_INBB='V=$(ip -o link show | grep -o "ve-inbb[^:@]*" | head -n 1); echo "veth=$V";
        tail -s 0.1 -n +1 -f /run/nspawnlite/machines/inbb/console.log >/tmp/inbb-console 2>/dev/null & T=$!;
        timeout 60 machinectl terminate inbb; echo "terminate=$?";
        for i in $(seq 100); do $N list | grep -q "^inbb" || break; sleep 0.1; done;
        $N list | grep -c "^inbb"; ip link show "$V" >/dev/null 2>&1; echo "veth-exists=$?";
        cat /run/nspawnlite/network/leases 2>/dev/null | grep -c "^inbb "; machinectl list --no-legend | grep -c "^inbb";
        for i in $(seq 50); do [ "$(systemctl show machine-inbb.scope -p LoadState --value)" = not-found ] && break; sleep 0.1; done;
        systemctl show machine-inbb.scope -p LoadState --value;
        sleep 0.3; { kill $T; wait $T; } 2>/dev/null; for w in "systemd asks to stop unit machine-inbb.scope" \
                "Asking inbb to power off" "Requesting system poweroff" "was killed\|Killing\|killing it"; do grep -c "$w" /tmp/inbb-console; done | tr "\n" " "'
TERM_OK='veth=ve-inbb\nterminate=0\n0\nveth-exists=1\n0\n0\nnot-found\n1 1 1 0 '
for i in 1 2 3; do
        [ $i = 1 ] || OUT=$(inner '$N boot -d --wait-ready --timeout=60 -M inbb --network=bridge /bb >/dev/null; echo "boot=$?"')
        [ $i = 1 ] || assert_eq boot=0 "$OUT" "inbb boots again ($i)"
        OUT=$(inner "$TERM_INBB")
        assert_eq "$(printf "$TERM_OK")" "$OUT" \
                "machinectl terminate $i: systemd asked the supervisor, which powered the guest off through its init (console: systemd asks, Asking, Requesting system poweroff, nothing killed); gone from nspawnlite's list and machined, its veth, lease and unit too"
done

# 3. --register=no: the unit, no machine in machined.
OUT=$(inner '$N boot -d --wait-ready --timeout=60 -M innoreg --register=no --network=none /bb >/dev/null;
        echo "boot=$?"; systemctl show machine-innoreg.scope -p ActiveState --value;
        machinectl show innoreg >/dev/null 2>&1; echo "machinectl-show=$?";
        $N poweroff innoreg >/dev/null; echo "poweroff=$?"')
assert_eq "$(printf 'boot=0\nactive\nmachinectl-show=1\npoweroff=0')" "$OUT" \
        "--register=no: machine-innoreg.scope is active, machined does not know the machine"

# 4. Limits are unit properties; set-limit changes them.
OUT=$(inner '$N boot -d --wait-ready --timeout=60 -M inmem --memory-max=64M --pids-max=500 --network=none /bb >/dev/null;
        echo "boot=$?"; systemctl show machine-inmem.scope -p MemoryMax --value;
        systemctl show machine-inmem.scope -p TasksMax --value;
        $N set-limit inmem memory-max=128M cpu-weight=50 >/dev/null; echo "set-limit=$?";
        systemctl show machine-inmem.scope -p MemoryMax --value; systemctl show machine-inmem.scope -p CPUWeight --value;
        $N status inmem --json | grep -o "\"memory-max\":[0-9]*";
        $N poweroff inmem >/dev/null; echo "poweroff=$?"')
assert_eq "$(printf 'boot=0\n67108864\n500\nset-limit=0\n134217728\n50\n"memory-max":134217728\npoweroff=0')" "$OUT" \
        "--memory-max=64M is the unit's MemoryMax (67108864), set-limit sets 128M and cpu-weight 50 on the unit, status says 128M"

# 5. --keep-unit: the unit nspawnlite runs in.
OUT=$(inner 'systemd-run --quiet --scope --unit=kept.scope $N boot -d --wait-ready --timeout=60 -M inkeep --keep-unit \
                --network=none /bb >/dev/null; echo "boot=$?";
        L=$($N status inkeep --json | sed -n "s/.*\"leader\": *\([0-9]*\).*/\1/p"); sed -n "s/^0:://p" /proc/$L/cgroup;
        systemctl show machine-inkeep.scope -p LoadState --value; machinectl show inkeep -p Unit --value;
        $N status inkeep --json | grep -o "\"cgroup\":\"[^\"]*\"";
        $N poweroff inkeep >/dev/null; echo "poweroff=$?";
        for i in $(seq 50); do [ "$(systemctl show kept.scope -p ActiveState --value)" = inactive ] && break; sleep 0.1; done;
        systemctl show kept.scope -p ActiveState --value')
assert_eq "$(printf 'boot=0\n/system.slice/kept.scope/payload\nnot-found\nkept.scope\n"cgroup":"system.slice/kept.scope"\npoweroff=0\ninactive')" "$OUT" \
        "--keep-unit from systemd-run --scope: the guest is in kept.scope's payload, machined names kept.scope, status shows that cgroup, no machine-inkeep.scope"

# Registered runs of one name back to back: each ends with machined's record gone (else the next
# one's registration met "Machine 'NAME' already exists", or machined's clear-up of the last one
# stopped the new unit of the same name, now and then). And with machined unreachable,
# --register=yes starts nothing of the guest: its registration overlaps the child's setup, but the
# command waits for it.
OUT=$(inner 'bad=0; for i in $(seq 30); do $N run -q -M inrun --network=none /bb /bin/true 2>&1 || bad=$((bad + 1)); done;
        echo "failed-runs=$bad"; machinectl show inrun >/dev/null 2>&1; echo "listed=$?";
        systemctl mask --runtime --quiet systemd-machined; systemctl stop systemd-machined;
        O=$($N run -q -M inrun --network=none --register=yes /bb /bin/echo GUEST-RAN 2>&1); echo "rc=$?";
        echo "$O" | grep -c GUEST-RAN; echo "$O" | grep -c "^nspawnlite: --register=yes, but systemd-machined is not on the bus";
        $N run -q -M inrun --network=none /bb /bin/echo DEFAULT-RAN 2>&1; echo "default=$?";
        systemctl unmask --runtime --quiet systemd-machined; systemctl start systemd-machined; echo "machined=$?"')
assert_eq "$(printf 'failed-runs=0\nlisted=1\nrc=1\n0\n1\nDEFAULT-RAN\ndefault=0\nmachined=0')" "$OUT" \
        "30 registered runs of one name back to back all succeed, machined forgets each; with machined masked: --register=yes an error and the command never runs, the default runs unregistered"

# The mechanism, without a race: a run's end waits for machined to have forgotten it (machined
# stopped for 2 s, the run of a 1 s command is still there; once machined goes on, it ends and
# machined does not list it).
OUT=$(inner '$N run -q -M inwait --network=none /bb /bin/sleep 1 & R=$!;
        for i in $(seq 50); do machinectl show inwait >/dev/null 2>&1 && break; sleep 0.1; done;
        M=$(systemctl show systemd-machined -p MainPID --value); kill -STOP $M; sleep 2;
        st=$(sed -n "s/^State:[[:space:]]*\(.\).*/\1/p" /proc/$R/status 2>/dev/null);
        [ -n "$st" ] && [ "$st" != Z ] && echo "run-waits-for-machined";
        kill -CONT $M; wait $R; echo "run=$?"; machinectl show inwait >/dev/null 2>&1; echo "listed=$?"')
assert_eq "$(printf 'run-waits-for-machined\nrun=0\nlisted=1')" "$OUT" \
        "a registered run ends only once machined has forgotten the machine"

# 6. A SIGKILLed supervisor in another slice: gc finds its scope where the state file says
# (foo.slice, not machine.slice) and clears what outlived the guest (here a process that joined the
# payload from outside), so that systemd can remove the unit.
OUT=$(inner '$N boot -d --wait-ready --timeout=60 -M inslice --slice=foo.slice --network=none /bb >/dev/null;
        echo "boot=$?"; sed -n "s/^unit=//p" /run/nspawnlite/machines/inslice/state;
        sleep 30 & P=$!; echo $P >/sys/fs/cgroup/foo.slice/machine-inslice.scope/payload/cgroup.procs;
        S=$(sed -n "s/^supervisor=//p" /run/nspawnlite/machines/inslice/state); kill -KILL $S;
        for i in $(seq 50); do [ -d /proc/$S ] || break; sleep 0.1; done;
        $N gc >/dev/null 2>&1; echo "gc=$?";
        for i in $(seq 50); do [ "$(systemctl show machine-inslice.scope -p LoadState --value)" = not-found ] && break; sleep 0.1; done;
        systemctl show machine-inslice.scope -p LoadState --value;
        kill $P 2>/dev/null; { wait $P; echo "joined=$?"; } 2>/dev/null; ls /run/nspawnlite/machines | grep -c "^inslice$"')
assert_eq "$(printf 'boot=0\nmachine-inslice.scope\ngc=0\nnot-found\njoined=137\n0')" "$OUT" \
        "gc after a SIGKILLed supervisor in --slice=foo.slice: the process left in its payload killed, the unit gone, no state left"

# A SIGKILLed supervisor in a kept unit that lives on (a service's other process): the next boot of
# the name clears its payload and supervisor cgroups there and machined's record of it.
OUT=$(inner 'systemd-run --quiet --unit=keepsvc -p Delegate=yes --setenv=LD_LIBRARY_PATH=/hostlib /bin/sh -c \
                "$N boot -d --wait-ready --timeout=60 -M inkept --keep-unit --network=none /bb; exec sleep 300";
        for i in $(seq 150); do $N list 2>/dev/null | grep -q "^inkept  *running" && break; sleep 0.1; done;
        machinectl show inkept -p Unit --value; sed -n "s/^unit_kept=//p" /run/nspawnlite/machines/inkept/state;
        S=$(sed -n "s/^supervisor=//p" /run/nspawnlite/machines/inkept/state); kill -KILL $S;
        for i in $(seq 50); do [ -d /proc/$S ] || break; sleep 0.1; done;
        systemd-run --quiet --scope --unit=kept2.scope $N boot -d --wait-ready --timeout=60 -M inkept --keep-unit \
                --network=none /bb 2>&1 >/dev/null; echo "boot-again=$?"; machinectl show inkept -p Unit --value;
        ls /sys/fs/cgroup/system.slice/keepsvc.service | grep -cE "^(payload|supervisor)$";
        $N poweroff inkept >/dev/null; echo "poweroff=$?"; systemctl stop keepsvc.service')
assert_eq "$(printf 'keepsvc.service\n1\nboot-again=0\nkept2.scope\n0\npoweroff=0')" "$OUT" \
        "boot after a SIGKILLed supervisor whose kept unit lives on: machined's old record and the unit's payload/supervisor cgroups cleared, the new machine registered in kept2.scope"

# A Type=notify service: READY=1 from the supervisor lets systemd-run return; the guest lives in the
# service's payload; systemctl stop powers it off, the service ends with success.
OUT=$(inner 'systemd-run --quiet --unit=nlsvc -p Type=notify -p Delegate=yes -p KillMode=mixed -p TimeoutStartSec=60 \
                -p RemainAfterExit=no --setenv=LD_LIBRARY_PATH=/hostlib \
                $N boot --keep-unit --console=read-only --network=none -M insvc /bb; echo "start=$?";
        systemctl show nlsvc.service -p ActiveState --value;
        L=$($N status insvc --json | sed -n "s/.*\"leader\": *\([0-9]*\).*/\1/p"); sed -n "s/^0:://p" /proc/$L/cgroup;
        machinectl show insvc -p Unit --value;
        systemctl stop nlsvc.service; echo "stop=$?"; $N list | grep -c "^insvc"')
assert_eq "$(printf 'start=0\nactive\n/system.slice/nlsvc.service/payload\nnlsvc.service\nstop=0\n0')" "$OUT" \
        "--keep-unit in a Type=notify service: ready through READY=1, the guest in the service's payload, machined names the service, systemctl stop ends it"

# nspawnlite@.service (as meson installs it, with the inner binary's path) starts and stops a store
# machine; enable and disable it as machinectl does.
OUT=$(inner 'mkdir -p /var/lib/machines && cp -a /bb /var/lib/machines/bbsvc &&
        sed "s|^ExecStart=[^ ]*|ExecStart=$N|" /nl/nspawnlite@.service >/etc/systemd/system/nspawnlite@.service &&
        mkdir -p /etc/systemd/system/nspawnlite@.service.d &&
        printf "[Service]\nEnvironment=LD_LIBRARY_PATH=/hostlib\n" >/etc/systemd/system/nspawnlite@.service.d/hostlib.conf &&
        systemctl daemon-reload; systemctl start nspawnlite@bbsvc.service; echo "start=$?";
        machinectl show bbsvc -p Unit --value; $N list | grep -c "^bbsvc  *running";
        systemctl stop nspawnlite@bbsvc.service; echo "stop=$?";
        systemctl show nspawnlite@bbsvc.service -p Result --value; $N list | grep -c "^bbsvc";
        $N enable bbsvc; echo "enable=$?"; systemctl is-enabled nspawnlite@bbsvc.service machines.target;
        $N disable bbsvc; echo "disable=$?"; systemctl is-enabled nspawnlite@bbsvc.service')
assert_eq "$(printf 'start=0\nnspawnlite@bbsvc.service\n1\nstop=0\nsuccess\n0\nenable=0\nenabled\nenabled\ndisable=0\ndisabled')" \
        "$OUT" "nspawnlite@bbsvc.service: starts (READY=1), machined names it, stops with Result=success; enable/disable"

# (`nspawnlite shell` lands in the guest's init.scope: out to the root cgroup, in no unit.)
OUT=$(inner 'echo $$ >/sys/fs/cgroup/cgroup.procs;
        E=$($N boot -d --keep-unit --network=none -M inroot /bb 2>&1 >/dev/null); echo "boot=$?"; echo "$E";
        $N list | grep -c "^inroot"')
assert_match $'^boot=1\n[^\n]*--keep-unit: nspawnlite does not run in a scope or service of its own [^\n]*\n0$' "$OUT" \
        "--keep-unit outside any unit: one clear error, nothing started"

timeout 60 "$NSPAWNLITE" terminate sdhost >/dev/null 2>&1 || fail "terminate sdhost"
wait_for 15 eval '! _leader_alive sdhost' || fail "sdhost: still alive after terminate"
assert_clean "nothing of the systemd host or its machines left"
