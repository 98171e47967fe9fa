#!/bin/bash
# Trees deeper than PATH_MAX, or than any fixed recursion, made by whoever fills them: an image of
# the store (a tar's, a guest's) and a guest's --ephemeral-size=disk upper directory. Removing them
# (remove, gc, the end of the machine, its next start) must go all the way, whatever the depth,
# and leave nothing behind.
. "$(dirname "$0")/../lib.sh"

# deep.sh DIR: in DIR/deep, five chains of 60 levels (2460 characters each) put end to end: 300
# levels, 12300 characters, though no path it uses is longer than one chain.
cat >"$WORK/deep.sh" <<'SH'
N=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
p=$N; i=1; while [ $i -lt 60 ]; do p=$p/$N; i=$((i+1)); done
cd "$1" && mkdir deep && cd deep && mkdir -p c1/$p c2/$p c3/$p c4/$p c5/$p && echo deep >c5/$p/file &&
        mv c5 c4/$p/ && mv c4 c3/$p/ && mv c3 c2/$p/ && mv c2 c1/$p/ && echo deep-made
SH

# --- remove: an image of the store 300 levels deep ---------------------------------------------
export NSPAWNLITE_MACHINES_DIR=$WORK/store
mkdir -m 0700 "$NSPAWNLITE_MACHINES_DIR" "$NSPAWNLITE_MACHINES_DIR/deep"
assert_eq deep-made "$(sh "$WORK/deep.sh" "$NSPAWNLITE_MACHINES_DIR/deep")" "a deep image made"
rc=0
"$NSPAWNLITE" remove deep >"$WORK/remove.out" 2>&1 || rc=$?
assert_eq "0 " "$rc $(ls -A "$NSPAWNLITE_MACHINES_DIR")" "remove of a deep image: exit 0, nothing left in the store"

# --- gc: an abandoned temporary as deep ---------------------------------------------------------
mkdir "$NSPAWNLITE_MACHINES_DIR/.#deep.abcdef"
assert_eq deep-made "$(sh "$WORK/deep.sh" "$NSPAWNLITE_MACHINES_DIR/.#deep.abcdef")" "a deep temporary made"
rc=0
"$NSPAWNLITE" gc >"$WORK/gc.out" 2>&1 || rc=$?
assert_eq "0 " "$rc $(ls -A "$NSPAWNLITE_MACHINES_DIR")" "gc of a deep temporary: exit 0, nothing left in the store"

# --- --ephemeral-size=disk: a guest's deep upper directory, at its end and at the next start -----
TREE=$(guest busybox) || die "no busybox guest"
run_deep() {
        timeout 60 "$NSPAWNLITE" run --network=none -M edeep --ephemeral --ephemeral-size=disk \
                --bind-ro="$WORK/deep.sh:/deep.sh" "$TREE" /bin/sh /deep.sh /root 2>&1
}
out=$(run_deep) || true
assert_match deep-made "$out" "the guest made a deep tree in its upper directory"
assert_clean "--ephemeral-size=disk: nothing left after a guest's deep tree"
# A supervisor killed at once leaves the upper directory to the next start or gc.
mkdir -p "$NSPAWNLITE_RUNTIME_DIR/machines/edeep/ephemeral/upper/srv"
assert_eq deep-made "$(sh "$WORK/deep.sh" "$NSPAWNLITE_RUNTIME_DIR/machines/edeep/ephemeral/upper/srv")" \
        "a deep upper directory left behind made"
rc=0
out=$(timeout 60 "$NSPAWNLITE" run --network=none -M edeep --ephemeral --ephemeral-size=disk "$TREE" /bin/true 2>&1) || rc=$?
assert_eq "0 " "$rc $out" "the next start clears a deep upper directory left behind"
assert_clean "--ephemeral-size=disk: nothing left after the next start"
