#!/bin/bash
# The image store (issue 15): list-images, image-status, clone, rename, remove, read-only, import-fs
# and gc on a store of the test's own (NSPAWNLITE_MACHINES_DIR); copies that keep device nodes,
# xattrs, ACLs, hardlinks and owners; boot -M NAME of a directory and of a raw image, with the image
# locked while it runs; bad inputs (one line, non-zero, nothing new in the store); SIGKILL of a
# clone then gc; btrfs subvolumes (snapshot, read-only flag, remove) in a loop-mounted btrfs.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

for t in setfacl getfacl setfattr getfattr mkfs.ext4 python3; do
        command -v "$t" >/dev/null || skip "needs $t (scripts/install-deps.sh)"
done
BB=$("$TOP/tests/guests/build.sh" busybox | tail -n 1)
[ -d "$BB" ] || die "no busybox guest"

TOPDIR=$(mktemp -d /tmp/nspawnlite-test-store.XXXXXX)
TEMP_DIRS+=("$TOPDIR")
export NSPAWNLITE_MACHINES_DIR=$TOPDIR/machines
S=$NSPAWNLITE_MACHINES_DIR
N=$NSPAWNLITE

entries() { find "$S" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort | tr '\n' ' '; }

# refused WHAT PATTERN ARGS…: nspawnlite ARGS… fails with one line (stdout and stderr) matching
# PATTERN, and the store's entries are the same after it.
refused() {
        local what=$1 pat=$2 before out rc=0
        shift 2
        before=$(entries)
        out=$("$N" "$@" 2>&1) || rc=$?
        if [ "$rc" != 0 ] && [ "$(echo "$out" | wc -l)" = 1 ] && [[ $out =~ $pat ]] && [ "$(entries)" = "$before" ]; then
                pass "$what"
        else
                fail "$what: status $rc, '$out', store '$before' -> '$(entries)'"
        fi
}

ok() { # WHAT ARGS…: nspawnlite ARGS… succeeds
        local what=$1 out rc=0
        shift
        out=$("$N" "$@" 2>&1) || rc=$?
        if [ "$rc" = 0 ]; then pass "$what"; else fail "$what: status $rc, '$out'"; fi
}

# json_names: the "name"s of list-images --json, checking that each object has the keys, "name" first.
json_names() {
        "$N" list-images --json | python3 -c '
import json, sys
a = json.load(sys.stdin)
for o in a:
    assert list(o)[0] == "name", o
    for k in ("type", "read_only", "usage", "created", "modified"):
        assert k in o, (k, o)
    assert o["type"] in ("directory", "subvolume", "raw"), o
print(" ".join(o["name"] for o in a))'
}
json_field() { # NAME KEY: a key of image-status NAME --json
        "$N" image-status "$1" --json | python3 -c 'import json, sys; v = json.load(sys.stdin)[sys.argv[1]]; print(str(v).lower() if isinstance(v, bool) else v)' "$2"
}

# metadata TREE: every entry's type, mode, owner, size, mtime, device numbers, xattrs and ACLs.
metadata() {
        (cd "$1" && find . -printf '%p %y %m %U:%G %s %T@ %l\n' | sort &&
                find . -type c -printf '%p ' -exec stat -c '%t:%T' {} \; | sort &&
                getfattr -R -h -d -m - . 2>/dev/null | grep -v '^$' &&
                getfacl -R -p -s . 2>/dev/null)
}

# --- a source tree with what a copy must keep
SRC=$TOPDIR/src
cp -a "$BB" "$SRC" || die "copying the busybox tree failed"
if ! { mkdir "$SRC/keep" && mknod "$SRC/keep/null" c 1 3 && mknod "$SRC/keep/loop9" b 7 9 && mkfifo "$SRC/keep/fifo" &&
                echo data >"$SRC/keep/a" && ln "$SRC/keep/a" "$SRC/keep/a-link" &&
                echo owned >"$SRC/keep/owned" && chown 1234:5678 "$SRC/keep/owned" && chmod 4750 "$SRC/keep/owned" &&
                setfattr -n user.nspawnlite -v kept "$SRC/keep/a" &&
                echo acl >"$SRC/keep/acl" && setfacl -m u:4321:rw "$SRC/keep/acl" && setfacl -d -m g:99:rx "$SRC/keep" &&
                ln -s ../etc/os-release "$SRC/keep/link"; }; then
        die "making the source tree failed"
fi
touch -h -d '2001-02-03 04:05:06' "$SRC/keep/link" || die "touch -h failed"
[ "$(getfacl -p -c "$SRC/keep/acl" | grep -c 4321)" = 1 ] || skip "ACLs do not work on $TOPDIR"

keeps_everything() { # WHAT COPY
        local a b
        a=$(metadata "$SRC")
        b=$(metadata "$2")
        if [ -n "$a" ] && [ "$a" = "$b" ]; then pass "$1 keeps types, modes, owners, times, device nodes, xattrs, ACLs"; else
                fail "$1 differs: $(diff <(echo "$a") <(echo "$b") | head -n 8 | tr '\n' ' ')"
        fi
        assert_eq "$(stat -c %i "$2/keep/a")" "$(stat -c %i "$2/keep/a-link")" "$1 keeps the hardlink (one inode)"
        assert_eq "7:9" "$(stat -c '%t:%T' "$2/keep/loop9")" "$1 keeps the block device's numbers"
        assert_eq "kept" "$(getfattr -h --absolute-names --only-values -n user.nspawnlite "$2/keep/a" 2>&1)" "$1 keeps the xattr"
        assert_match "user:4321:rw-" "$(getfacl -p -c "$2/keep/acl" 2>&1)" "$1 keeps the ACL"
        assert_eq "1234:5678 4750" "$(stat -c '%u:%g %a' "$2/keep/owned")" "$1 keeps owner and set-uid mode"
}

# --- import-fs, list-images, image-status
ok "import-fs DIR NAME" import-fs "$SRC" src
keeps_everything "import-fs" "$S/src"
assert_eq "src" "$(entries | xargs)" "the store holds the image only, no temporary"
assert_eq "src" "$(json_names)" "list-images --json: an array of objects, name first"
out=$("$N" list-images 2>&1) || fail "list-images failed: $out"
assert_match "^NAME +TYPE +RO +USAGE +CREATED +MODIFIED" "$out" "list-images has machinectl's columns"
assert_match "src +directory +no " "$out" "list-images shows the directory image"
assert_eq "directory" "$(json_field src type)" "image-status --json: type"
assert_eq "false" "$(json_field src in_use)" "image-status --json: not in use"
assert_eq "$S/src" "$(json_field src path)" "image-status --json: path"
usage=$(json_field src usage)
if [ "$usage" -gt 1000000 ] 2>/dev/null; then pass "image-status --json: usage $usage"; else fail "usage '$usage'"; fi
out=$("$N" image-status src 2>&1) || fail "image-status failed: $out"
assert_match "Type: directory" "$out" "image-status shows the type"

# --- clone, rename, read-only, remove
ok "clone of a directory" clone src c1
keeps_everything "clone" "$S/c1"
ok "rename" rename c1 c2
assert_eq "c2 src" "$(json_names)" "rename: the image has its new name only"
echo "[Exec]" >"$S/c2.nspawn"
ok "read-only (yes implied)" read-only c2
assert_match "i" "$(lsattr -d "$S/c2" | cut -d' ' -f1)" "read-only marks a directory immutable (machinectl's mark)"
assert_eq "true" "$(json_field c2 read_only)" "image-status: read-only"
refused "remove of a read-only image" "read-only; 'nspawnlite read-only c2 no' first" remove c2
refused "rename of a read-only image" "read-only" rename c2 c3
ok "read-only no" read-only c2 no
assert_eq "false" "$(json_field c2 read_only)" "image-status: writable again"
ok "remove" remove c2
assert_eq "src" "$(entries | xargs)" "remove took the image and its .nspawn file, no temporary left"

# --- raw images
mkfs.ext4 -q -d "$BB" "$S/bbraw.raw" 32M >/dev/null || die "mkfs.ext4 failed"
chmod 0644 "$S/bbraw.raw"
ok "clone of a raw image" clone bbraw raw2
if cmp -s "$S/bbraw.raw" "$S/raw2.raw"; then pass "the raw clone has the same bytes"; else fail "the raw clone differs"; fi
assert_eq "raw" "$(json_field raw2 type)" "a raw clone is raw"
ok "read-only of a raw image" read-only raw2 yes
assert_eq "444" "$(stat -c %a "$S/raw2.raw")" "a read-only raw image has no write bits (machinectl's mark)"
ok "read-only no of a raw image" read-only raw2 no
assert_eq "644" "$(stat -c %a "$S/raw2.raw")" "writable again: the owner's write bit"
ok "remove of a raw image" remove raw2
assert_eq "bbraw src" "$(json_names)" "the raw image is gone"

# --- bad inputs: one line, non-zero, nothing new in the store
refused "clone of an unknown image" "No image named nope" clone nope x
refused "image-status of an unknown image" "No image named nope" image-status nope
refused "remove of an unknown image" "No image named nope" remove nope
refused "rename of an unknown image" "No image named nope" rename nope x
refused "read-only of an unknown image" "No image named nope" read-only nope
refused "clone onto ../x" "Invalid image name '\.\./x'" clone src ../x
refused "clone onto .hidden" "Invalid image name '\.hidden'" clone src .hidden
refused "import-fs as ../x" "Invalid image name" import-fs "$SRC" ../x
refused "rename to .hidden" "Invalid image name '\.hidden'" rename src .hidden
refused "image-status of ../x" "Invalid image name" image-status ../x
refused "clone onto an existing name" "An image named bbraw exists already" clone src bbraw
refused "import-fs onto an existing name" "An image named src exists already" import-fs "$SRC" src
refused "rename onto an existing name" "An image named bbraw exists already" rename src bbraw
refused "import-fs of a missing directory" "does not exist" import-fs "$TOPDIR/none" x
refused "read-only with a bad value" "Invalid value 'maybe'" read-only src maybe
refused "boot -M of an unknown image" "No image named nope in" boot -M nope

# --- boot -M NAME: a directory, then a raw image; the image is locked while it runs
ok "import-fs of the busybox tree" import-fs "$BB" bb
out=$("$N" run -M bb --network=none /bin/cat /etc/os-release 2>&1) || fail "run -M bb failed: $out"
assert_match "ID=" "$out" "run -M NAME CMD runs in the store's tree"
boot_bg bb "$WORK/bb.log" --network=none
wait_running bb 20 || die "boot -M bb did not start: $(tail -n 5 "$WORK/bb.log")"
assert_eq "$S/bb" "$(machine_state bb rootfs)" "boot -M bb boots the store's directory"
assert_eq "true" "$(json_field bb in_use)" "image-status: in use while it runs"
refused "remove of a running machine's image" "Image bb is in use by a running machine" remove bb
refused "rename of a running machine's image" "Image bb is in use by a running machine" rename bb bb2
refused "read-only of a running machine's image" "Image bb is in use by a running machine" read-only bb
refused "a second read-write boot of the image (by path)" "Image $S/bb is in use by another machine" run -M other --network=none "$S/bb" /bin/true
"$N" poweroff bb >/dev/null 2>&1 || true
wait_exit "$BOOT_PID" 30
assert_eq 0 "$EXIT_RC" "boot -M bb powers off with 0"
ok "the image is free again: rename" rename bb bb1

boot_bg bbraw "$WORK/raw.log" --network=none
wait_running bbraw 20 || die "boot -M bbraw did not start: $(tail -n 5 "$WORK/raw.log")"
assert_match "ID=" "$(in_guest bbraw cat /etc/os-release 2>&1)" "boot -M of a raw image boots it"
refused "remove of a running raw image" "Image bbraw is in use by a running machine" remove bbraw
refused "--image= of the running raw image" "in use by another machine" run -M other2 --network=none --image="$S/bbraw.raw" /bin/true
"$N" poweroff bbraw >/dev/null 2>&1 || true
wait_exit "$BOOT_PID" 30
assert_eq 0 "$EXIT_RC" "boot -M bbraw powers off with 0"
ok "remove of several images" remove bbraw bb1
assert_clean "the machines left nothing behind"

# --- SIGKILL of a clone midway, then gc
DEB=$("$TOP/tests/guests/build.sh" debian-systemd | tail -n 1)
if [ -d "$DEB" ]; then
        ok "import-fs of the Debian tree" import-fs "$DEB" deb
        "$N" clone deb deb2 >/dev/null 2>&1 &
        CLONE=$!
        STARTED_PIDS+=("$CLONE")
        wait_for 20 sh -c "ls -A '$S' | grep -q '^\.#deb2\.'" || fail "no temporary of the clone appeared"
        sleep 0.3
        if kill -KILL "$CLONE" 2>/dev/null; then
                wait "$CLONE" 2>/dev/null || true
                if [ -e "$S/deb2" ]; then fail "a half clone under the real name deb2"; else pass "SIGKILL of clone: nothing under the real name"; fi
                assert_match "\.#deb2\." "$(entries)" "the killed clone left its temporary"
                ok "gc after the killed clone" gc
                assert_eq "deb src" "$(entries | xargs)" "gc removed the temporary; the images are untouched"
        else
                fail "the clone of the Debian tree ended before the kill"
        fi
        # SIGTERM (or Ctrl-C) instead: the clone stops and takes its temporary with it, no gc needed.
        "$N" clone deb deb3 >/dev/null 2>"$WORK/term.err" &
        CLONE=$!
        STARTED_PIDS+=("$CLONE")
        wait_for 20 sh -c "ls -A '$S' | grep -q '^\.#deb3\.'" || fail "no temporary of the second clone appeared"
        sleep 0.3
        kill -TERM "$CLONE" 2>/dev/null || true
        wait_exit "$CLONE" 30
        assert_match "^[1-9]" "$EXIT_RC" "SIGTERM of clone: a non-zero exit"
        assert_match "Interrupted: image deb3 was not made" "$(cat "$WORK/term.err")" "SIGTERM of clone: one line says so"
        assert_eq "deb src" "$(entries | xargs)" "SIGTERM of clone: no temporary, no deb3, without gc"
        ok "remove of the Debian image" remove deb
else
        log "no debian-systemd guest: the SIGKILL check is not run"
fi

# --- btrfs: subvolumes, snapshots, the read-only flag
if command -v mkfs.btrfs >/dev/null && truncate -s 300M "$WORK/btrfs.img" && mkfs.btrfs -q "$WORK/btrfs.img" >/dev/null 2>&1 &&
        mkdir "$WORK/bt" && mount -o loop "$WORK/btrfs.img" "$WORK/bt"; then
        export NSPAWNLITE_MACHINES_DIR=$WORK/bt/machines
        S=$NSPAWNLITE_MACHINES_DIR
        ok "import-fs into a btrfs store" import-fs "$BB" sub
        assert_eq "subvolume" "$(json_field sub type)" "import-fs on btrfs makes a subvolume"
        ok "clone of a subvolume" clone sub sub2
        assert_eq "subvolume" "$(json_field sub2 type)" "the clone is a subvolume (a snapshot)"
        assert_eq "256" "$(stat -c %i "$S/sub2")" "the clone's top is a subvolume's root inode"
        ok "read-only of a subvolume" read-only sub2
        assert_match "ro=true" "$(btrfs property get "$S/sub2" ro 2>&1)" "read-only sets the btrfs read-only flag"
        ok "read-only no of a subvolume" read-only sub2 no
        ok "remove of a subvolume" remove sub2
        ok "remove of the other subvolume" remove sub
        head -c 8M /dev/urandom >"$S/disk.raw"
        ok "clone of a raw image on btrfs" clone disk disk2
        assert_match "shared" "$(filefrag -v "$S/disk2.raw" 2>&1)" "the raw clone shares its blocks (a reflink)"
        ok "remove of the raw images" remove disk disk2
        assert_eq "" "$(entries)" "the btrfs store is empty"
        umount "$WORK/bt"
else
        log "no btrfs in a loop file here: the subvolume checks are not run"
fi
