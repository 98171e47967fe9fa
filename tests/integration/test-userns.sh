#!/bin/bash
# -U/--private-users: the guest's root is an unprivileged id range on the host; the tree's owners are
# mapped by an idmapped mount (or shifted on disk with --private-users-ownership=chown and shifted
# back without it); ranges are never shared; a Debian systemd guest boots 'running'; the guest's root
# cannot reach a host root-only file through a mount nspawnlite made.
. "$(dirname "$0")/lib.sh"

BUSYBOX=$(guest_copy busybox)
host_uid() { sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status"; }

# --- run -U: maps, owners, the command's host identity
out=$("$NSPAWNLITE" run -U --network=none "$BUSYBOX" /bin/sh -c 'cat /proc/self/uid_map; stat -c %u /bin/busybox; id -u')
map=$(echo "$out" | sed -n 1p | tr -s ' ' | sed 's/^ //')
assert_match '^0 [0-9]+ 65536$' "$map" "run -U: uid_map maps 0 to a range of 65536"
base=${map#0 }
base=${base%% *}
[ "$base" -ge 524288 ] && [ $(((base - 524288) % 65536)) = 0 ] && pass "run -U: the range is picked at 524288 + k·65536 ($base)" ||
        fail "run -U: range base $base is not a picked one"
assert_eq 0 "$(echo "$out" | sed -n 2p)" "run -U: the tree's files show their own owner (idmapped), not nobody"
assert_eq 0 "$(echo "$out" | sed -n 3p)" "run -U: the command runs as root of the namespace"
assert_eq 0 "$(stat -c %u "$BUSYBOX/bin/busybox")" "run -U: the tree on disk is unchanged (0 owns it)"
assert_clean "run -U leaves nothing"
[ -z "$(ls -A "$NSPAWNLITE_RUNTIME_DIR/userns" 2>/dev/null)" ] && pass "the range lock is gone after run" ||
        fail "range locks left: $(ls "$NSPAWNLITE_RUNTIME_DIR/userns")"

# --- two machines at once never share a range; PID 1 is the range's base on the host
boot_bg ua "$WORK/ua.log" -U --network=none "$BUSYBOX"
pid_a=$BOOT_PID
boot_bg ub "$WORK/ub.log" -U --network=none "$BUSYBOX"
pid_b=$BOOT_PID
wait_running ua 20 && wait_running ub 20 || die "two -U machines did not start: $(cat "$WORK"/u?.log)"
ua_uid=$(host_uid "$(leader ua)")
ub_uid=$(host_uid "$(leader ub)")
[ "$ua_uid" -ge 524288 ] && [ "$ub_uid" -ge 524288 ] && [ "$ua_uid" != "$ub_uid" ] &&
        pass "two -U machines run as different unprivileged host uids ($ua_uid, $ub_uid)" ||
        fail "-U machines' host uids: $ua_uid $ub_uid"
assert_eq "$ua_uid" "$(machine_state ua uid_shift)" "the state file records the shift"
# The kernel counts per-user limits (fs.inotify.max_user_instances…) against a user namespace's
# owner: owned by the machine's own uid, not root, machines do not share root's 128 instances.
ns_owner() { python3 -c 'import fcntl,os,struct,sys
fd=os.open("/proc/%s/ns/user" % sys.argv[1], os.O_RDONLY)
print(struct.unpack("I", fcntl.ioctl(fd, 0xb704, b"\0"*4))[0])' "$1"; }
assert_eq "$ua_uid $ub_uid" "$(ns_owner "$(leader ua)") $(ns_owner "$(leader ub)")" \
        "each -U machine's user namespace is owned by its own range base, not root"

# The guest's root against the host: a root-only host file bound in stays unreadable; no remount
# of the host's filesystem, no device node, no sysrq.
echo host-secret >"$WORK/secret"
chmod 0600 "$WORK/secret"
out=$("$NSPAWNLITE" run -U --network=none --bind-ro="$WORK/secret:/tmp/secret" --bind="$WORK:/tmp/work" "$BUSYBOX" \
        /bin/sh -c 'cat /tmp/secret 2>&1; echo "cat=$?"; touch /tmp/work/owned-by-guest 2>&1; echo "touch=$?";
                    mknod /dev/sdx b 8 0 2>&1; echo "mknod=$?"; echo b > /proc/sysrq-trigger 2>&1; echo "sysrq=$?";
                    mount -o remount,ro / 2>&1; echo "remount=$?"' 2>&1) || true
assert_match 'cat=1' "$out" "-U: a host root-only file bound in cannot be read by the guest's root"
[[ $out != *host-secret* ]] && pass "-U: the secret's content never shows" || fail "-U: the secret leaked: $out"
assert_match 'touch=1' "$out" "-U: a host directory owned by root is not writable by the guest's root"
[ ! -e "$WORK/owned-by-guest" ] && pass "-U: nothing was created in the host directory" || fail "-U: guest wrote into $WORK"
assert_match 'mknod=1' "$out" "-U: no mknod of a disk"
assert_match 'sysrq=1' "$out" "-U: /proc/sysrq-trigger is not writable"
assert_match 'remount=[1-9]' "$out" "-U: the host's filesystem cannot be remounted"

# A fixed range taken twice
"$NSPAWNLITE" poweroff ua >/dev/null
"$NSPAWNLITE" poweroff ub >/dev/null
wait_exit "$pid_a" 20
assert_eq 0 "$EXIT_RC" "-U machine ua powers off with 0"
wait_exit "$pid_b" 20
assert_eq 0 "$EXIT_RC" "-U machine ub powers off with 0"
boot_bg fx "$WORK/fx.log" --private-users=200000:65536 --network=none "$BUSYBOX"
pid_fx=$BOOT_PID
wait_running fx 20 || die "fixed range machine did not start: $(cat "$WORK/fx.log")"
assert_eq 200000 "$(host_uid "$(leader fx)")" "--private-users=200000:65536 runs init as host uid 200000"
err=$("$NSPAWNLITE" run --private-users=200000:65536 --network=none -M fx2 "$BUSYBOX" true 2>&1) && rc=0 || rc=$?
[ "$rc" != 0 ] && [ "$(echo "$err" | wc -l)" = 1 ] && assert_match 'in use' "$err" "a range in use is refused with one clear line" ||
        fail "a second machine on a used range: rc=$rc: $err"
kill -TERM "$pid_fx"
wait_exit "$pid_fx" 20
assert_eq 0 "$EXIT_RC" "SIGTERM powers the fixed-range machine off"
assert_clean "-U machines leave nothing"

# --- a -U tree every host user can reach: one warning, naming the directory to close
OPEN=$(mktemp -d /tmp/nspawnlite-reach.XXXXXX)
TEMP_DIRS+=("$OPEN")
chmod 0755 "$OPEN"
cp -a "$BUSYBOX" "$OPEN/tree"
rc=0
err=$("$NSPAWNLITE" run -U --network=none "$OPEN/tree" /bin/true 2>&1) || rc=$?
assert_eq 0 "$rc" "-U on a world-reachable tree still runs ($err)"
assert_eq 1 "$(echo "$err" | grep -c "every host user can reach $OPEN/tree.*chmod 0700 $OPEN)")" \
        "-U on a world-reachable tree: one warning naming the directory to close"
chmod 0700 "$OPEN"
rc=0
err=$("$NSPAWNLITE" run -U --network=none "$OPEN/tree" /bin/true 2>&1) || rc=$?
assert_eq "0:" "$rc:$err" "-U on a tree behind a 0700 directory: no warning"
rm -rf -- "$OPEN"

# --- chown: shifted once on disk, shifted back by a boot without it
TREE=$WORK/chowned
cp -a "$BUSYBOX" "$TREE"
out=$("$NSPAWNLITE" run -U --private-users-ownership=chown --network=none "$TREE" /bin/sh -c 'stat -c %u /bin/busybox' 2>/dev/null)
assert_eq 0 "$out" "chown: the guest sees its files owned by its root"
shift_uid=$(stat -c %u "$TREE/bin/busybox")
[ "$shift_uid" -ge 524288 ] && pass "chown: the tree is shifted on disk ($shift_uid)" || fail "chown: tree not shifted ($shift_uid)"
assert_eq "$shift_uid" "$(stat -c %u "$TREE")" "chown: the tree's root records the shift"
"$NSPAWNLITE" run --network=none "$TREE" /bin/true 2>/dev/null
assert_eq 0 "$(stat -c %u "$TREE/bin/busybox")" "a boot without -U shifts the tree back"

# --- the Debian systemd guest boots running under -U
DEBIAN=$(guest_copy debian-systemd)
boot_bg deb "$WORK/deb.log" -U "$DEBIAN"
pid_deb=$BOOT_PID
wait_running deb 30 || die "Debian -U did not start: $(tail -20 "$WORK/deb.log")"
assert_eq running "$(systemd_state deb "$NSPAWNLITE" shell deb --)" "Debian systemd reaches 'running' under -U"
assert_empty_ok "no failed unit under -U" "$NSPAWNLITE" shell deb -- systemctl --failed --plain --no-legend
[ "$(host_uid "$(leader deb)")" -ge 524288 ] && pass "systemd runs as an unprivileged host uid" || fail "systemd runs as host uid $(host_uid "$(leader deb)")"
# The supervisor creates the namespace with SECBIT_NO_SETUID_FIXUP set (as the range's base uid);
# the kernel gives a new user namespace default securebits, so the guest's setuid() drops still
# drop capabilities.
assert_eq "Securebits: [none]" "$("$NSPAWNLITE" run -q -U --network=none -M debsb "$DEBIAN" /usr/bin/setpriv --dump 2>&1 |
        grep ^Securebits)" "-U: the guest's processes have the default securebits (no setuid fixup kept)"
"$NSPAWNLITE" poweroff deb
wait_exit "$pid_deb" 30
assert_eq 0 "$EXIT_RC" "Debian -U powers off with 0"
assert_clean "Debian -U leaves nothing"
