#!/bin/bash
# The image store's boundaries: what a store verb removes, renames or opens stays the store's.
# Each case is an attack or an accident seen from the host: a mount point inside an image or an
# abandoned temporary (remove and gc must never empty what a mount shows), ...
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
