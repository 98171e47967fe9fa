#!/bin/bash
# Paths the guest's tree
# controls are never followed out of the tree by nspawnlite itself. In a copy of the busybox tree
# (an overlay of the cache, private to this test), each of /dev /proc /sys /run /tmp /run/host
# /sys/fs/cgroup, a --bind target's parent, /etc/os-release, /sbin/init and /etc/passwd (which
# "shell" reads) is made, in turn: an absolute symlink to an existing host directory or file, an
# absolute symlink to a missing host path, a relative ../../.. symlink climbing out, a dangling
# symlink, a symlink loop, a FIFO, and a regular file where a directory is expected. Every time:
# no hang (each command bounded), either a clean refusal or a working machine whose API file
# systems are inside the tree, and nothing created, changed or mounted outside the tree (a canary
# directory on the host, and a canary name at the host's root for dangling links).
. "$(dirname "$0")/sec-lib.sh"

VICTIM=$WORK/victim
mkdir -p "$VICTIM"
ROOT_CANARY=/nlsec-dangling-$$ # what a naive resolution of a dangling link would create
trap 'rc=$?; set +e; rm -rf "$ROOT_CANARY"; for s in "${SUPERVISORS[@]}"; do kill -KILL "$s" 2>/dev/null; done; (exit $rc); cleanup' EXIT
for d in dev proc sys run tmp run-host sys-fs-cgroup mnt etc-passwd; do
        mkdir -p "$VICTIM/exists-$d"
        echo "victim $d" >"$VICTIM/exists-$d/marker"
done
printf 'NAME=victim\nID=victim\n' >"$VICTIM/os-release"
printf '#!/bin/sh\ntouch %s/PWNED-init\n' "$VICTIM" >"$VICTIM/init"
chmod 0755 "$VICTIM/init"
printf 'root:x:0:0:VICTIM:/victimhome:/bin/sh\n' >"$VICTIM/passwd"
echo "bind-source" >"$WORK/bindsrc-marker"
mkdir -p "$WORK/bindsrc" && mv "$WORK/bindsrc-marker" "$WORK/bindsrc/marker"

snapshot() {
        (cd "$VICTIM" && find . -printf '%y %m %s %p %l\n' | sort && find . -type f -exec cat {} + | sha256sum)
        [ -e "$ROOT_CANARY" ] && echo "ROOT CANARY EXISTS"
        grep -c " $VICTIM" /proc/self/mountinfo || true
}
BEFORE=$(snapshot)
victim_intact() { # WHAT
        local now
        now=$(snapshot)
        if [ "$now" = "$BEFORE" ]; then
                pass "$1: nothing outside the tree was created, changed or mounted"
        else
                fail "$1: the host changed: $(diff <(echo "$BEFORE") <(echo "$now") | grep '^[<>]' | tr '\n' ' ' | head -c 500)"
                BEFORE=$now
        fi
}

# make_kind TREE RELPATH KIND SLUG: turn TREE/RELPATH into KIND.
make_kind() {
        local t=$1 p=$2 kind=$3 slug=$4 up
        up=$(printf '../%.0s' $(seq 1 24))
        rm -rf "${t:?}/$p"
        mkdir -p "$(dirname "$t/$p")"
        case $kind in
        abs-existing) ln -s "$VICTIM/exists-$slug" "$t/$p" ;;
        abs-missing) ln -s "$VICTIM/missing-$slug/sub" "$t/$p" ;;
        relative-out) ln -s "${up}${VICTIM#/}/rel-$slug" "$t/$p" ;;
        dangling) ln -s "$ROOT_CANARY/$slug/x" "$t/$p" ;;
        loop) ln -s "$(basename "$p")" "$t/$p" ;;
        fifo) mkfifo "$t/$p" ;;
        file) echo "not what you expect" >"$t/$p" ;;
        esac
}
KINDS="abs-existing abs-missing relative-out dangling loop fifo file"

# outcome WHAT RC OUT ERR WANT: no hang; a success shows WANT, a failure is a clean error.
outcome() {
        local what=$1 rc=$2 out=$3 err=$4 want=$5
        if [ "$rc" = 124 ]; then
                fail "$what: hangs (killed after the timeout)"
        elif [ "$rc" = 0 ]; then
                [[ $out == *"$want"* ]] && pass "$what: works, inside the tree" || fail "$what: exit 0 but '$want' missing: $out $err"
        elif [ "$rc" -gt 128 ]; then
                fail "$what: nspawnlite died of signal $((rc - 128)): $err"
        elif [ -n "$err" ]; then
                pass "$what: refused cleanly (exit $rc: $(echo "$err" | head -n 1 | head -c 150))"
        else
                fail "$what: exit $rc without a message"
        fi
}

API_CHECK='test -r /proc/self/status && test -c /dev/null && test -d /sys/kernel && test -d /tmp && test -d /run && test -e /run/host/container-manager && echo API-OK'

# ====================================================================================================
# 1. The API file system mount points, with run (the same mount code as boot).
for p in dev proc sys run tmp run/host sys/fs/cgroup; do
        slug=$(echo "$p" | tr / -)
        for kind in $KINDS; do
                t=$(guest busybox) || die "no busybox overlay"
                make_kind "$t" "$p" "$kind" "$slug"
                rc=0
                out=$(timeout 30 "$NSPAWNLITE" run --network=none "$t" /bin/sh -c "$API_CHECK" </dev/null 2>"$WORK/err") || rc=$?
                outcome "/$p as $kind (run)" "$rc" "$out" "$(cat "$WORK/err")" API-OK
                if [ "$kind" = abs-existing ] && [ "$rc" = 0 ]; then
                        # the guest saw its own, not the host's directory
                        seen=$(timeout 30 "$NSPAWNLITE" run --network=none "$t" /bin/sh -c "cat /$p/marker 2>/dev/null" </dev/null 2>/dev/null || true)
                        assert_eq "" "$seen" "/$p as abs-existing: the guest does not see the host directory's marker"
                fi
        done
        victim_intact "/$p"
        assert_clean "/$p: nothing left behind"
done

# ====================================================================================================
# 2. A --bind target below a guest-controlled path: the bind lands inside the tree.
for kind in $KINDS; do
        t=$(guest busybox) || die "no busybox overlay"
        make_kind "$t" mnt "$kind" mnt
        rc=0
        out=$(timeout 30 "$NSPAWNLITE" run --network=none --bind="$WORK/bindsrc:/mnt/b" "$t" /bin/sh -c 'cat /mnt/b/marker' </dev/null 2>"$WORK/err") || rc=$?
        outcome "--bind target under /mnt as $kind" "$rc" "$out" "$(cat "$WORK/err")" bind-source
done
victim_intact "--bind targets"
[ "$(cat "$WORK/bindsrc/marker")" = bind-source ] && [ "$(ls -A "$WORK/bindsrc")" = marker ] &&
        pass "--bind: the source directory is unchanged" || fail "--bind: the source changed: $(ls -la "$WORK/bindsrc")"
assert_clean "--bind targets: nothing left behind"

# ====================================================================================================
# 3. boot: /etc/os-release and /sbin/init. A boot that comes up is powered off again.
boot_kind() { # PATH KIND SLUG
        local p=$1 kind=$2 slug=$3 t rc=0
        t=$(guest busybox) || die "no busybox overlay"
        make_kind "$t" "$p" "$kind" "$slug"
        timeout 60 "$NSPAWNLITE" boot -d --wait-ready --timeout=30 --network=none -M symboot "$t" </dev/null >"$WORK/out" 2>"$WORK/err" || rc=$?
        local s
        s=$(machine_state symboot supervisor) || true
        [ -n "$s" ] && SUPERVISORS+=("$s")
        outcome "/$p as $kind (boot)" "$rc" "booted" "$(cat "$WORK/err")" booted
        if [ "$rc" = 0 ]; then
                assert_eq "" "$(in_guest symboot timeout 5 cat /etc/os-release 2>/dev/null | grep -x 'ID=victim' || true)" "/$p as $kind: the guest never sees the host's file"
                down symboot
        fi
        [ ! -e "$VICTIM/PWNED-init" ] && pass "/$p as $kind: no host program ran as init" || fail "/$p as $kind: the host's $VICTIM/init ran"
}
for kind in $KINDS; do
        [ "$kind" = file ] && continue
        boot_kind etc/os-release "$kind" os-release
done
# abs-existing/relative-out for /sbin/init point at the host's executable $VICTIM/init
for kind in $KINDS; do
        boot_kind sbin/init "$kind" init
done
victim_intact "boot with a hostile /etc/os-release or /sbin/init"
clean "boot cases"

# ====================================================================================================
# 4. shell reads /etc/passwd of a running machine: never the host's file, never a hang.
if up symsh "$(guest busybox)"; then
        leaderp=$(leader symsh)
        gtree=/proc/$leaderp/root
        for kind in abs-existing abs-missing relative-out dangling loop fifo file; do
                # the machine's /etc/passwd, changed from the host through its root
                rm -f "$gtree/etc/passwd"
                case $kind in
                abs-existing) ln -s "$VICTIM/passwd" "$gtree/etc/passwd" ;;
                abs-missing) ln -s "$VICTIM/missing-passwd" "$gtree/etc/passwd" ;;
                relative-out) ln -s "$(printf '../%.0s' $(seq 1 24))${VICTIM#/}/passwd" "$gtree/etc/passwd" ;;
                dangling) ln -s "$ROOT_CANARY/passwd" "$gtree/etc/passwd" ;;
                loop) ln -s passwd "$gtree/etc/passwd" ;;
                fifo) mkfifo "$gtree/etc/passwd" ;;
                file) mkdir "$gtree/etc/passwd" ;;
                esac
                rc=0
                out=$(timeout 15 "$NSPAWNLITE" shell symsh -- /bin/sh -c 'echo "home=$HOME"' </dev/null 2>"$WORK/err") || rc=$?
                if [ "$rc" = 124 ]; then
                        fail "shell with /etc/passwd as $kind: hangs (killed after 15 s)"
                elif [ "$rc" = 0 ]; then
                        [ "$out" != "home=/victimhome" ] && pass "shell with /etc/passwd as $kind: works, never with the host's file ($out)" ||
                                fail "shell with /etc/passwd as $kind: used the host's $VICTIM/passwd"
                else
                        [ -n "$(cat "$WORK/err")" ] && pass "shell with /etc/passwd as $kind: refused cleanly ($(head -n 1 "$WORK/err"))" ||
                                fail "shell with /etc/passwd as $kind: exit $rc without a message"
                fi
                rm -rf "$gtree/etc/passwd"
        done
        printf 'root:x:0:0:root:/root:/bin/sh\n' >"$gtree/etc/passwd"
        down symsh
fi
victim_intact "shell with a hostile /etc/passwd"
clean "shell cases"
