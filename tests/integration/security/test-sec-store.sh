#!/bin/bash
# The image store's boundaries: what a store verb removes, renames or opens stays the store's.
# Each case is an attack or an accident seen from the host: a mount point inside an image or an
# abandoned temporary (remove and gc must never empty what a mount shows); a store that others
# than root may change (every store verb, gc and boot -M refuse it); a store every host user can
# reach (the verbs that bring images in, with their setuid files, warn); a relative store path.
. "$(dirname "$0")/../lib.sh"

export NSPAWNLITE_MACHINES_DIR=$WORK/store
mkdir -m 0700 "$NSPAWNLITE_MACHINES_DIR"
HOST=$WORK/host # what a bind mount shows: the host's, never the store's to remove
mkdir -p "$HOST"
echo precious >"$HOST/file"
host_intact() { [ "$(cat "$HOST/file" 2>/dev/null)" = precious ]; }

# --- remove: an image with a bind mount of a host directory inside -----------------------------
mkdir -p "$NSPAWNLITE_MACHINES_DIR/img/mnt" && touch "$NSPAWNLITE_MACHINES_DIR/img/etc-file"
mount --bind "$HOST" "$NSPAWNLITE_MACHINES_DIR/img/mnt"
rc=0
"$NSPAWNLITE" remove img >"$WORK/remove.out" 2>"$WORK/remove.err" || rc=$?
[ "$rc" != 0 ] && pass "remove of an image with a mount inside fails (exit $rc)" ||
        fail "remove of an image with a mount inside succeeded"
host_intact && pass "remove left the bind-mounted host directory's file alone" ||
        fail "remove deleted a file of the host through a bind mount inside the image"
assert_match "mount point inside it.*unmount it" "$(cat "$WORK/remove.err")" "remove names the mount and what to do"
assert_eq 1 "$(wc -l <"$WORK/remove.err")" "remove's error is one line"
umount "$(grep -o " $NSPAWNLITE_MACHINES_DIR/[^ ]*/mnt" /proc/self/mountinfo | head -n1 | tr -d ' ')"
"$NSPAWNLITE" gc >/dev/null 2>&1 && pass "gc after the unmount succeeds" || fail "gc after the unmount failed"
assert_eq "" "$(ls -A "$NSPAWNLITE_MACHINES_DIR")" "gc removed the rest of the image"

# --- gc: an abandoned temporary with a bind mount inside ------------------------------------------
mkdir -p "$NSPAWNLITE_MACHINES_DIR/.#img.abcdef/deep/mnt"
mount --bind "$HOST" "$NSPAWNLITE_MACHINES_DIR/.#img.abcdef/deep/mnt"
rc=0
"$NSPAWNLITE" gc >/dev/null 2>"$WORK/gc.err" || rc=$?
[ "$rc" != 0 ] && pass "gc of a temporary with a mount inside fails (exit $rc)" ||
        fail "gc of a temporary with a mount inside succeeded"
host_intact && pass "gc left the bind-mounted host directory's file alone" ||
        fail "gc deleted a file of the host through a bind mount inside a temporary"
assert_match "mount point inside it" "$(cat "$WORK/gc.err")" "gc names the mount"
umount "$NSPAWNLITE_MACHINES_DIR/.#img.abcdef/deep/mnt"
"$NSPAWNLITE" gc >/dev/null 2>&1 && pass "gc after the unmount succeeds" || fail "gc after the unmount failed"
assert_eq "" "$(ls -A "$NSPAWNLITE_MACHINES_DIR")" "gc removed the temporary"

# --- a store others than root may change: refused by every verb that uses it ----------------------
mkdir -p "$WORK/src/bin"
cp /bin/true "$WORK/src/bin/suid" && chmod 4755 "$WORK/src/bin/suid"
tar -C "$WORK/src" -cf "$WORK/suid.tar" .
mkdir -p "$NSPAWNLITE_MACHINES_DIR/kept/etc"
unsafe() { # WHAT ARGS…: nspawnlite ARGS… refused, one line naming the store, the image kept
        local what=$1 rc=0 err
        shift
        err=$(timeout 30 "$NSPAWNLITE" "$@" 2>&1 >/dev/null) || rc=$?
        if [ "$rc" != 0 ] && [ "$(echo "$err" | wc -l)" = 1 ] &&
                [[ $err =~ "can be changed by others than root" ]] && [ -d "$NSPAWNLITE_MACHINES_DIR/kept/etc" ]; then
                pass "$what: refused in one line, the image kept"
        else
                fail "$what: status $rc, output '$(echo "$err" | head -c 400)'"
        fi
}
for mode in 0777 1777 0775; do
        chmod "$mode" "$NSPAWNLITE_MACHINES_DIR"
        unsafe "store $mode: list-images" list-images
        unsafe "store $mode: remove" remove kept
        unsafe "store $mode: rename" rename kept other
        unsafe "store $mode: import-tar" import-tar "$WORK/suid.tar" evil
        unsafe "store $mode: gc" gc
        unsafe "store $mode: boot -M" boot -M kept --network=none
done
chmod 0700 "$NSPAWNLITE_MACHINES_DIR" && chown nobody "$NSPAWNLITE_MACHINES_DIR"
unsafe "store of another user: list-images" list-images
chown root "$NSPAWNLITE_MACHINES_DIR"
assert_eq "kept" "$(ls -A "$NSPAWNLITE_MACHINES_DIR")" "nothing came into the refused store"

# --- a store every host user can reach: setuid files of imported images are theirs ---------------
OPEN=$(mktemp -d /tmp/nspawnlite-test-openstore.XXXXXX)
TEMP_DIRS+=("$OPEN")
chmod 0755 "$OPEN"
rc=0
NSPAWNLITE_MACHINES_DIR=$OPEN/store "$NSPAWNLITE" import-tar "$WORK/suid.tar" a >/dev/null 2>"$WORK/import.err" || rc=$?
assert_eq "0 0700" "$rc $(stat -c %#a "$OPEN/store")" "a store nspawnlite makes is 0700"
mkdir -m 0755 "$OPEN/reachable"
rc=0
NSPAWNLITE_MACHINES_DIR=$OPEN/reachable "$NSPAWNLITE" import-tar "$WORK/suid.tar" a >/dev/null 2>"$WORK/import.err" || rc=$?
assert_eq 0 "$rc" "import-tar into a reachable store works"
assert_match "every host user can reach the images of $OPEN/reachable.*chmod 0700 $OPEN/reachable" \
        "$(cat "$WORK/import.err")" "import-tar into a reachable store warns, naming what to close"
rc=0
NSPAWNLITE_MACHINES_DIR=$OPEN/store "$NSPAWNLITE" import-tar "$WORK/suid.tar" b >/dev/null 2>"$WORK/import.err" || rc=$?
if [ "$rc" = 0 ] && ! grep -q "every host user" "$WORK/import.err"; then
        pass "import-tar into a 0700 store: no warning"
else
        fail "import-tar into a 0700 store: status $rc, '$(head -c 300 "$WORK/import.err")'"
fi

# --- a relative NSPAWNLITE_MACHINES_DIR never falls back to /var/lib/machines ---------------------
mkdir -p "$WORK/rel/store/relimg"
rc=0
err=$(cd "$WORK/rel" && NSPAWNLITE_MACHINES_DIR=store "$NSPAWNLITE" remove relimg 2>&1) || rc=$?
if [ "$rc" != 0 ] && [[ $err =~ "NSPAWNLITE_MACHINES_DIR=store is not an absolute path" ]] &&
        [ "$(echo "$err" | wc -l)" = 1 ] && [ -d "$WORK/rel/store/relimg" ]; then
        pass "a relative store is refused in one line (remove touched nothing)"
else
        fail "a relative store: status $rc, output '$(echo "$err" | head -c 300)'"
fi

# --- nor a relative NSPAWNLITE_RUNTIME_DIR to /run/nspawnlite (gc would clear the host's machines) ---
mkdir -p "$WORK/rel/run"
for verb in gc list; do
        rc=0
        err=$(cd "$WORK/rel" && NSPAWNLITE_RUNTIME_DIR=run "$NSPAWNLITE" $verb 2>&1) || rc=$?
        if [ "$rc" != 0 ] && [[ $err =~ "NSPAWNLITE_RUNTIME_DIR=run is not an absolute path" ]] &&
                [ "$(echo "$err" | wc -l)" = 1 ]; then
                pass "$verb with a relative runtime dir is refused in one line"
        else
                fail "$verb with a relative runtime dir: status $rc, output '$(echo "$err" | head -c 300)'"
        fi
done

# --- names: a directory image whose name ends in .raw is listed like any other --------------------
mkdir -p "$WORK/odd/etc"
rc=0
"$NSPAWNLITE" import-fs "$WORK/odd" odd.raw >/dev/null 2>&1 || rc=$?
assert_eq 0 "$rc" "import-fs DIR odd.raw works"
rc=0
list=$("$NSPAWNLITE" list-images --json) || rc=$?
assert_match '"name": *"odd.raw", *"type": *"directory"' "$rc $list" "list-images shows the directory image odd.raw"
