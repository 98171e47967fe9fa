#!/bin/bash
# Devices, /proc and /sys, and PID 1 and signals, probed from processes nspawnlite confines (shell, run's command),
# never from the test's own nsenter:
# - writes: /proc/sysrq-trigger, /proc/sys/kernel/* and /sys are not writable (opened O_WRONLY and
#   closed, nothing is ever written); /proc/sys/net is (own network: the positive control inside);
#   the host can open the same files (the positive control outside);
# - reads: /proc/kcore, kallsyms, keys, timer_list, sysrq-trigger give nothing, and each has its
#   own mount in the guest (systemd#40501: masks that silently did not happen);
# - devices: mknod of a disk, /dev/mem, /dev/kmsg and a VT fails or cannot be opened (the v1
#   devices cgroup); /dev/null's numbers work (control);
# - PID 1: SIGKILL and SIGSTOP sent from inside do nothing (pid_namespaces(7));
# - undo attempts (umount/remount of the masks, fresh proc/sysfs/cgroup/binfmt_misc mounts,
#   release_agent, widening the devices cgroup): with -U every one must fail (a boundary); without
#   -U they are recorded only (not a boundary, docs/security.md), and reported in the log.
. "$(dirname "$0")/sec-lib.sh"

TREE=$(guest busybox)
[ -x "$TREE/bin/busybox" ] || die "no busybox guest tree: '$TREE'"

RO_FILES="/proc/sys/kernel/core_pattern /proc/sys/kernel/modprobe /proc/sys/kernel/panic /proc/sys/vm/drop_caches /proc/sys/fs/file-max /sys/power/state /sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/uevent_helper /sys/kernel/profiling"
MASKED="/proc/kcore /proc/kallsyms /proc/keys /proc/timer_list /proc/sysrq-trigger"
existing() { local f; for f in "$@"; do [ -e "$f" ] && echo "$f"; done; return 0; } # on the host
RO_FILES=$(existing $RO_FILES | tr '\n' ' ')
MASKED=$(existing $MASKED | tr '\n' ' ')

# Positive controls on the host: the probe sees a writable sysctl and a readable masked file as such.
assert_eq "openw:/proc/sys/kernel/core_pattern OK" "$("$PROBE" openw /proc/sys/kernel/core_pattern)" "control: on the host the probe opens core_pattern for writing"
assert_match 'bytes=[1-9]' "$("$PROBE" readn /proc/kallsyms)" "control: on the host /proc/kallsyms reads non-empty"
log "files the host itself cannot open for writing (checked inside all the same): $("$PROBE" openw $RO_FILES | grep -v ' OK$' | tr '\n' ' ')"

# writes_denied WHAT OUTPUT: every openw line but /proc/sys/net's is an error.
writes_denied() {
        local what=$1 out=$2 f line
        for f in /proc/sysrq-trigger $RO_FILES; do
                line=$(echo "$out" | grep "^openw:$f " || true)
                [[ $line =~ \ E[A-Z]+$ ]] && pass "$what: $f cannot be opened for writing (${line##* })" ||
                        fail "$what: $f opens for writing: '$line'"
        done
        assert_eq "openw:/proc/sys/net/ipv4/ip_forward OK" "$(echo "$out" | grep '^openw:/proc/sys/net/ipv4/ip_forward ')" \
                "$what: control: /proc/sys/net (own network) opens for writing"
}
reads_empty() { # WHAT OUTPUT
        local what=$1 out=$2 f line
        for f in $MASKED; do
                line=$(echo "$out" | grep "^readn:$f " || true)
                [[ $line == *" bytes=0" || $line =~ \ E[A-Z]+$ ]] && pass "$what: $f gives nothing (${line##* })" ||
                        fail "$what: $f is readable: '$line'"
        done
}

# The disk of the host's root file system, and other nodes a guest must not reach.
root_dev=$(stat -c '%Hd %Ld' /)
DEVICES="disk b $root_dev
mem c 1 1
kmsg c 1 11
tty1 c 4 1
null c 1 3"
DEV_SCRIPT='while read -r name type maj min; do echo "$name $(/nlsec-probe mknod-open /dev/nlsec-$name $type $maj $min | tr "\n" " ")"; rm -f /dev/nlsec-$name; done'
devices_denied() { # WHAT OUTPUT [userns]
        local what=$1 out=$2 name line
        for name in disk mem kmsg tty1; do
                line=$(echo "$out" | grep "^$name " || true)
                # The policy (v1 devices cgroup, BPF on v2, or no CAP_MKNOD) refuses the node itself;
                # whether the host would let it be opened is the host's business (here it does not).
                if [[ $line == "$name mknod EPERM "* ]]; then
                        pass "$what: mknod of a $name node is refused (EPERM)"
                else
                        fail "$what: mknod of a $name node is not refused: '$line'"
                fi
        done
        if [ "${3:-}" = userns ]; then # no mknod at all in a user namespace
                assert_match '^null mknod EPERM' "$(echo "$out" | grep '^null ' || true)" "$what: no mknod at all in the user namespace"
        else
                assert_match '^null mknod OK open OK read (OK|EOF)' "$(echo "$out" | grep '^null ' || true)" "$what: control: a node with /dev/null's numbers can be made and used"
        fi
}

# The undo attempts, run inside; one "name RESULT" line each (RESULT: OK when it worked).
cat >"$WORK/undo.sh" <<'EOF'
#!/bin/sh
# undo.sh MAJ MIN: one "name RESULT" line per attempt; RESULT is OK when it worked.
r() { if "$@" >/dev/null 2>&1; then echo OK; else echo FAILED; fi; }
w() { /nlsec-probe openw "$1" | sed 's/.* //'; }
rd() { /nlsec-probe readn "$1" | sed 's/.* //'; }
mkdir -p /tmp/u/p /tmp/u/s /tmp/u/c /tmp/u/d /tmp/u/b
for f in /proc/kcore /proc/kallsyms /proc/keys /proc/timer_list /proc/sysrq-trigger; do
        grep -q " $f " /proc/self/mountinfo && echo "umount-mask:$f $(r umount -l $f)"
done
echo "umount-proc-sys $(r umount -l /proc/sys)"
echo "after-umount:core_pattern $(w /proc/sys/kernel/core_pattern)"
echo "remount-proc-sys-rw $(r mount -o remount,bind,rw /proc/sys)"
echo "after-remount:core_pattern $(w /proc/sys/kernel/core_pattern)"
echo "remount-sys-rw $(r mount -o remount,bind,rw /sys)"
echo "mount-proc $(r mount -t proc proc /tmp/u/p)"
echo "fresh-proc:sysrq-trigger $(w /tmp/u/p/sysrq-trigger)"
echo "fresh-proc:core_pattern $(w /tmp/u/p/sys/kernel/core_pattern)"
echo "fresh-proc:timer_list $(rd /tmp/u/p/timer_list)"
echo "mount-sysfs $(r mount -t sysfs sysfs /tmp/u/s)"
echo "mount-cgroup-v1-named $(r mount -t cgroup -o none,name=nlsec nlsec /tmp/u/c)"
echo "cgroup:release_agent $(w /tmp/u/c/release_agent)"
echo "mount-cgroup-v1-devices $(r mount -t cgroup -o devices devices /tmp/u/d)"
echo "devices-allow-all $(r sh -c 'echo a > /tmp/u/d/devices.allow')"
echo "mknod-disk-after $(/nlsec-probe mknod-open /dev/nlsec-after b $1 $2 | head -n 1 | sed 's/^mknod //')"
rm -f /dev/nlsec-after
echo "mount-binfmt_misc $(r mount -t binfmt_misc binfmt_misc /tmp/u/b)"
echo "binfmt:register $(w /tmp/u/b/register)"
for m in /tmp/u/p /tmp/u/s /tmp/u/c /tmp/u/d /tmp/u/b; do umount -l $m 2>/dev/null; done
echo undo-done
EOF
chmod 0755 "$WORK/undo.sh"
UNDO_BIND=--bind-ro=$WORK/undo.sh:/nlsec-undo.sh

# pid1_survives WHAT NAME: kill -9 and kill -STOP of PID 1 from inside change nothing.
pid1_survives() {
        local what=$1 name=$2 l st
        l=$(leader "$name")
        st=$(awk '{print $22}' "/proc/$l/stat")
        sh_in "$name" /bin/sh -c 'kill -9 1; kill -STOP 1; sleep 0.5; echo sent' >/dev/null 2>&1 || true
        sleep 0.5
        if process_alive "$l" && [ "$(awk '{print $22}' "/proc/$l/stat")" = "$st" ]; then
                pass "$what: kill -9 1 from inside leaves PID 1 alive"
        else
                fail "$what: PID 1 died of a signal sent from inside"
        fi
        [ "$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$l/status")" != T ] && pass "$what: kill -STOP 1 from inside does not stop PID 1" ||
                fail "$what: PID 1 was stopped from inside"
}

# ====================================================================================================
# 1. Without -U: what is promised, from shell and from run
if up psd "$PROBE_BIND" "$UNDO_BIND" "$TREE"; then
        out=$(sh_in psd /nlsec-probe openw /proc/sysrq-trigger $RO_FILES /proc/sys/net/ipv4/ip_forward 2>&1)
        writes_denied "shell" "$out"
        reads_empty "shell" "$(sh_in psd /nlsec-probe readn $MASKED 2>&1)"
        mi=$(in_guest psd cat /proc/1/mountinfo)
        for f in $MASKED; do
                echo "$mi" | awk -v mp="$f" '$5 == mp {found=1} END {exit !found}' && pass "mountinfo: $f has a masking mount" ||
                        fail "mountinfo: no mount covers $f (a mask that silently did not happen)"
        done
        echo "$mi" | awk '$5 == "/proc/sys" && $6 ~ /(^|,)ro(,|$)/ {f=1} END {exit !f}' && pass "mountinfo: /proc/sys is a read-only mount" || fail "mountinfo: /proc/sys is not read-only"
        echo "$mi" | awk '$5 == "/sys" && $6 ~ /(^|,)ro(,|$)/ {f=1} END {exit !f}' && pass "mountinfo: /sys is a read-only mount" || fail "mountinfo: /sys is not read-only"
        assert_eq FAILED "$(sh_in psd /bin/sh -c 'touch /sys/nlsec 2>/dev/null && echo OK || echo FAILED')" "shell: nothing can be created in /sys"
        devices_denied "shell" "$(timeout 30 "$NSPAWNLITE" shell psd -- /bin/sh -c "$DEV_SCRIPT" <<<"$DEVICES" 2>&1)"
        pid1_survives "busybox init" psd

        # Undo attempts without -U: recorded, not asserted (guest root is host root here).
        und=$(sh_in psd /nlsec-undo.sh $root_dev 2>&1)
        assert_match 'undo-done' "$und" "without -U: the undo attempts ran (results in the log)"
        log "without -U (not a boundary; informational): $(echo "$und" | grep -v undo-done | tr '\n' ';')"
        down psd
fi
clean "without -U"

out=$(timeout 30 "$NSPAWNLITE" run --network=none "$PROBE_BIND" "$TREE" /nlsec-probe openw /proc/sysrq-trigger $RO_FILES /proc/sys/net/ipv4/ip_forward </dev/null 2>&1) || true
writes_denied "run" "$out"
out=$(timeout 30 "$NSPAWNLITE" run --network=none "$PROBE_BIND" "$TREE" /nlsec-probe readn $MASKED </dev/null 2>&1) || true
reads_empty "run" "$out"
out=$(timeout 30 "$NSPAWNLITE" run --network=none "$PROBE_BIND" "$TREE" /bin/sh -c "$DEV_SCRIPT" <<<"$DEVICES" 2>&1) || true
devices_denied "run" "$out"
assert_clean "after run"

# ====================================================================================================
# 2. With -U: the same, plus every undo attempt must fail.
UTREE=$(guest_copy busybox)
if up psdu -U "$PROBE_BIND" "$UNDO_BIND" "$UTREE"; then
        out=$(sh_in psdu /nlsec-probe openw /proc/sysrq-trigger $RO_FILES /proc/sys/net/ipv4/ip_forward 2>&1)
        writes_denied "-U shell" "$out"
        reads_empty "-U shell" "$(sh_in psdu /nlsec-probe readn $MASKED 2>&1)"
        devices_denied "-U shell" "$(timeout 30 "$NSPAWNLITE" shell psdu -- /bin/sh -c "$DEV_SCRIPT" <<<"$DEVICES" 2>&1)" userns
        assert_eq "readn:/dev/null bytes=0" "$(sh_in psdu /nlsec-probe readn /dev/null 2>&1)" "-U: control: /dev/null (bound in) works"
        pid1_survives "-U busybox init" psdu
        und=$(sh_in psdu /nlsec-undo.sh $root_dev 2>&1)
        assert_match 'undo-done' "$und" "-U: the undo attempts ran"
        # A cgroup v1 hierarchy (of the guest's own cgroup namespace) and binfmt_misc (per user
        # namespace since Linux 6.7) may be mounted; nothing they give may reach the host.
        info="mount-cgroup-v1-devices mount-binfmt_misc binfmt:register"
        while read -r what res; do
                case $what in
                undo-done | "") continue ;;
                esac
                if [[ " $info " == *" $what "* ]]; then
                        log "-U: $what: $res (allowed by the kernel in a user namespace; informational)"
                        continue
                fi
                case $res in
                # /proc, its masks and /sys come locked (MNT_LOCKED) into the guest's mount
                # namespace: no undo may work.
                OK* | bytes=[1-9]*) fail "-U: $what succeeded inside: $res" ;;
                *) pass "-U: $what fails (${res%% *})" ;;
                esac
        done <<<"$und"
        down psdu
fi
clean "-U"
