#!/bin/bash
# What the guest's mounts look like from inside a busybox guest ("run"), with and without -U:
# - /tmp, /run, /dev/shm and --tmpfs mounts are capped at 10% of the host's RAM and 400k inodes each
#   (what a tmpfs holds is pinned beyond the OOM killer's reach), /dev at 4 MiB and 64k inodes;
#   --tmpfs-size= changes the size of the first four, not /dev's;
# - --bind/--bind-ro with "\:" bind a host path whose name has a colon, onto a destination with one.
# Bad --tmpfs-size= values and too small -U ranges are in test-bad-input.sh.
. "$(dirname "$0")/lib.sh"

TREE=$(guest busybox)
[ -x "$TREE/bin/busybox" ] || die "no busybox guest tree: '$TREE'"
UTREE=$(guest_copy busybox) # -U needs an idmapped mount of the tree: not on an overlay
chmod 0700 "${UTREE%/*}"    # reachable by nobody else (-U warns otherwise)

PAGE=$(getconf PAGESIZE)
MEM_PAGES=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) * 1024 / PAGE))
pct_pages() { echo $(((MEM_PAGES * $1 + 99) / 100)); } # tmpfs's size=N%, in pages (rounded up)
MOUNTS="/tmp /run /dev/shm /scratch /dev"
# One "MOUNTPOINT BLOCKS BLOCKSIZE INODES" line per mount, from statfs inside.
STATFS='for m in '$MOUNTS'; do echo "$m $(stat -f -c "%b %S %c" $m)"; done'

# caps WHAT OUT SIZE_PAGES: every capped mount has SIZE_PAGES pages and 400k inodes; /dev 4 MiB, 64k.
caps() {
        local what=$1 out=$2 want=$3 m line
        for m in /tmp /run /dev/shm /scratch; do
                line=$(echo "$out" | grep "^$m " || true)
                assert_eq "$m $want $PAGE 409600" "$line" "$what: $m is capped at $want pages of $PAGE bytes and 400k inodes"
        done
        assert_eq "/dev $((4 * 1024 * 1024 / PAGE)) $PAGE 65536" "$(echo "$out" | grep '^/dev ' || true)" \
                "$what: /dev stays at 4 MiB and 64k inodes"
}

# run_in WHAT ARGS…: "nspawnlite run ARGS…", stdout into OUT; the exit status checked.
run_in() {
        local what=$1 rc=0
        shift
        OUT=$(timeout 60 "$NSPAWNLITE" run --network=none "$@" </dev/null 2>"$WORK/err") || rc=$?
        assert_eq 0 "$rc" "$what: the command ran (stderr: $(head -c 300 "$WORK/err" | tr '\n' '|'))"
}

# ---- tmpfs caps -------------------------------------------------------------------------------------
run_in "default" --tmpfs=/scratch "$TREE" /bin/sh -c "$STATFS"
caps "default" "$OUT" "$(pct_pages 10)"
run_in "--tmpfs-size=64M" --tmpfs-size=64M --tmpfs=/scratch "$TREE" /bin/sh -c "$STATFS"
caps "--tmpfs-size=64M" "$OUT" $((64 * 1024 * 1024 / PAGE))
run_in "-U --tmpfs-size=5%" -U --tmpfs-size=5% --tmpfs=/scratch "$UTREE" /bin/sh -c "$STATFS"
caps "-U --tmpfs-size=5%" "$OUT" "$(pct_pages 5)"
# The cap holds: writing past it fails with ENOSPC (a 1 MiB cap, 2 MiB written).
run_in "--tmpfs-size=1M, a write past it" --tmpfs-size=1M "$TREE" /bin/sh -c \
        'dd if=/dev/zero of=/tmp/fill bs=64k count=32 2>/dev/null && echo filled || echo "refused"'
assert_eq refused "$OUT" "--tmpfs-size=1M: writing 2 MiB into /tmp fails"
assert_clean "after the tmpfs checks"

# ---- colons in bind paths ---------------------------------------------------------------------------
mkdir -p "$WORK/a:b"
echo colon-ok >"$WORK/a:b/f"
chmod 0755 "$WORK/a:b"
chmod 0644 "$WORK/a:b/f"
run_in "--bind-ro with \\:" --bind-ro="$WORK/a\\:b:/mnt/c\\:d" "$TREE" /bin/cat /mnt/c:d/f
assert_eq colon-ok "$OUT" "--bind-ro=SRC\\:X:DST\\:Y binds the host path with a colon onto one"
run_in "--bind with \\: and :ro" --bind="$WORK/a\\:b:/mnt/e\\:f:ro" "$TREE" /bin/sh -c \
        'cat /mnt/e:f/f; touch /mnt/e:f/new 2>/dev/null && echo wrote || echo read-only'
assert_eq "colon-ok
read-only" "$OUT" "--bind=SRC\\:X:DST\\:Y:ro binds it read-only"
run_in "-U --bind-ro with \\:" -U --bind-ro="$WORK/a\\:b:/mnt/c\\:d" "$UTREE" /bin/cat /mnt/c:d/f
assert_eq colon-ok "$OUT" "-U: --bind-ro=SRC\\:X:DST\\:Y binds the host path with a colon"
[ ! -e "$WORK/a:b/new" ] && pass "nothing was written into the read-only source" || fail "$WORK/a:b/new was written"
assert_clean "after the colon checks"
