#!/bin/bash
# Mount flags the guest must not lift, under -U a boundary: the kernel locks the
# flags of a mount copied into a less privileged mount namespace, so nspawnlite sets them before
# that copy (userns-mounts.h). From inside, as the guest's root:
# - --read-only: "mount -o remount,bind,rw /" fails and nothing lands in the tree;
# - --bind-ro (and :ro): the target cannot be remounted read-write; nothing lands in the source,
#   which the guest's root could write to otherwise (mode 1777: the control);
# - /run/host/os-release, /proc/sys, /sys and the /proc masks stay read-only; nosuid, nodev and
#   noexec stay on /proc and /sys, and on the bind (the host's flags of its source are kept);
#   nosuid (and nodev) on the guest's tmpfs mounts /dev, /dev/shm, /run, /tmp;
# - a mask cannot be unmounted to show what it covers.
# Without -U the same attempts are recorded only (guest root is host root: docs/security.md).
. "$(dirname "$0")/sec-lib.sh"

TREE=$(guest_copy busybox)
chmod 0700 "${TREE%/*}" # reachable by nobody else (-U warns otherwise)
mkdir -p "$TREE/ro" "$TREE/ro2" "$TREE/nsd"
touch "$TREE/nlsec-flags.sh" # mount points: the tree is read-only
OPEN=$WORK/open # writable by anyone: only the read-only mount may stop the guest
mkdir -p "$OPEN"
chmod 1777 "$OPEN"
# A source mounted nosuid,nodev,noexec on the host: the bind keeps the host's flags.
NSD=$WORK/nsd
mkdir -p "$NSD"
mount -t tmpfs -o nosuid,nodev,noexec,mode=1777,size=1m nsd "$NSD" || die "cannot mount a tmpfs on $NSD"

cat >"$WORK/flags.sh" <<'EOF'
#!/bin/sh
# One "name RESULT" line per attempt (OK: it worked), then "opts:MOUNTPOINT OPTIONS" per mount.
r() { if "$@" >/dev/null 2>&1; then echo OK; else echo FAILED; fi; }
echo "remount-root-rw $(r mount -o remount,bind,rw /)"
echo "write-root $(r touch /nlsec-written)"
echo "remount-bind-ro-rw $(r mount -o remount,bind,rw /ro)"
echo "write-bind-ro $(r touch /ro/nlsec-written)"
echo "remount-bind-ro2-rw $(r mount -o remount,bind,rw /ro2)"
echo "write-bind-ro2 $(r touch /ro2/nlsec-written)"
echo "remount-os-release-rw $(r mount -o remount,bind,rw /run/host/os-release)"
echo "remount-proc-sys-rw $(r mount -o remount,bind,rw /proc/sys)"
echo "remount-sys-rw $(r mount -o remount,bind,rw /sys)"
echo "remount-proc-suid-dev-exec $(r mount -o remount,bind,suid,dev,exec /proc)"
echo "remount-sys-suid-dev-exec $(r mount -o remount,bind,suid,dev,exec /sys)"
echo "remount-nsd-suid-dev-exec $(r mount -o remount,bind,suid,dev,exec /nsd)"
for m in /dev /dev/shm /run /tmp; do
        echo "remount-$m-suid-dev $(r mount -o remount,bind,suid,dev $m)"
done
echo "remount-mask-rw $(r mount -o remount,bind,rw /proc/kallsyms)"
echo "umount-mask $(r umount /proc/kallsyms)"
echo "umount-lazy-mask $(r umount -l /proc/timer_list)"
for m in / /ro /ro2 /nsd /run/host/os-release /proc /proc/sys /sys /proc/kallsyms /proc/timer_list /dev /dev/shm /run /tmp; do
        echo "opts:$m $(awk -v mp="$m" '$5 == mp {o=$6} END {print o}' /proc/self/mountinfo)"
done
echo flags-done
EOF
chmod 0755 "$WORK/flags.sh"
ARGS=(--network=none --read-only --bind-ro="$WORK/flags.sh:/nlsec-flags.sh" --bind-ro="$OPEN:/ro"
        --bind="$OPEN:/ro2:ro" --bind="$NSD:/nsd")

# has_opts WHAT OUT MOUNTPOINT OPT…: the mount's options still hold every OPT.
has_opts() {
        local what=$1 out=$2 mp=$3 opts o missing=""
        shift 3
        opts=$(echo "$out" | sed -n "s|^opts:$mp ||p")
        for o in "$@"; do
                [[ ,$opts, == *",$o,"* ]] || missing+=" $o"
        done
        [ -n "$opts" ] && [ -z "$missing" ] && pass "$what: $mp keeps $* ($opts)" ||
                fail "$what: $mp lost$missing: '$opts'"
}

# ====================================================================================================
# 1. -U: every attempt fails, every flag stays.
out=$(timeout 60 "$NSPAWNLITE" run -U "${ARGS[@]}" "$TREE" /nlsec-flags.sh </dev/null 2>"$WORK/err") && rc=0 || rc=$?
assert_eq 0 "$rc" "-U: the probe script ran (exit status; stderr: $(head -c 300 "$WORK/err"))"
assert_match 'flags-done' "$out" "-U: the probe script ran to its end"
while read -r what res; do
        case $what in
        opts:* | flags-done | "") continue ;;
        esac
        [ "$res" = FAILED ] && pass "-U: $what fails" || fail "-U: $what succeeded inside: $res"
done <<<"$out"
[ ! -e "$TREE/nlsec-written" ] && pass "-U --read-only: nothing was written into the tree" ||
        fail "-U --read-only: the guest wrote $TREE/nlsec-written (owner $(stat -c %u "$TREE/nlsec-written"))"
[ -z "$(ls -A "$OPEN")" ] && pass "-U --bind-ro: nothing was written into the read-only bind's source" ||
        fail "-U --bind-ro: the guest wrote into $OPEN: $(ls -A "$OPEN")"
has_opts "-U" "$out" / ro
has_opts "-U" "$out" /ro ro
has_opts "-U" "$out" /ro2 ro
has_opts "-U" "$out" /run/host/os-release ro nosuid nodev noexec
has_opts "-U" "$out" /proc nosuid nodev noexec
has_opts "-U" "$out" /proc/sys ro nosuid nodev noexec
has_opts "-U" "$out" /sys ro nosuid nodev noexec
has_opts "-U" "$out" /nsd nosuid nodev noexec
has_opts "-U" "$out" /proc/kallsyms ro
has_opts "-U" "$out" /proc/timer_list ro
has_opts "-U" "$out" /dev nosuid
for m in /dev/shm /run /tmp; do
        has_opts "-U" "$out" $m nosuid nodev
done
assert_clean "-U: nothing left behind"

# Control: the same tree without --read-only and --bind-ro is writable by the guest's root, so
# the failures above are the read-only mounts' doing.
out=$(timeout 60 "$NSPAWNLITE" run -U --network=none --bind="$OPEN:/ro" "$TREE" \
        /bin/sh -c 'touch /nlsec-control /ro/nlsec-control && echo wrote' </dev/null 2>"$WORK/err") || true
assert_eq wrote "$out" "-U: control: without --read-only the guest's root writes the tree and the bind"
rm -f "$TREE/nlsec-control" "$OPEN/nlsec-control"

# ====================================================================================================
# 2. -U --read-only: a mount point missing from the read-only tree is one clear line.
err=$(timeout 60 "$NSPAWNLITE" run -U --network=none --read-only --bind-ro="$OPEN:/nlsec-missing" "$TREE" /bin/true 2>&1) && rc=0 || rc=$?
[ "$rc" != 0 ] && [ "$(echo "$err" | wc -l)" = 1 ] &&
        assert_match 'mount point /nlsec-missing in the read-only tree' "$err" "-U --read-only: a missing mount point is refused with one clear line" ||
        fail "-U --read-only with a missing mount point: rc=$rc: $err"
[ ! -e "$TREE/nlsec-missing" ] && pass "-U --read-only: the missing mount point was not created" || fail "-U --read-only: $TREE/nlsec-missing was created"
assert_clean "-U --read-only refused: nothing left behind"

# ====================================================================================================
# 3. Without -U: recorded only (not a boundary); the flags as set are there at the start.
out=$(timeout 60 "$NSPAWNLITE" run "${ARGS[@]}" "$TREE" /bin/sh -c 'grep -E " / | /ro " /proc/self/mountinfo | cut -d" " -f5,6' </dev/null 2>"$WORK/err") && rc=0 || rc=$?
assert_eq 0 "$rc" "without -U: the guest ran (exit status)"
assert_match '^/ ro,' "$(echo "$out" | grep '^/ ')" "without -U: --read-only makes the root read-only"
assert_match '^/ro ro,' "$(echo "$out" | grep '^/ro ')" "without -U: --bind-ro is read-only"
out=$(timeout 60 "$NSPAWNLITE" run "${ARGS[@]}" "$TREE" /nlsec-flags.sh </dev/null 2>"$WORK/err") || true
log "without -U (not a boundary; informational): $(echo "$out" | grep -v '^opts:' | tr '\n' ';')"
rm -f "$TREE/nlsec-written" "$OPEN/nlsec-written" "$OPEN"/*
assert_clean "without -U: nothing left behind"
umount "$NSD"
