#!/bin/bash
# Every bad input to boot and run ("every error is one clear line on stderr naming
# what was wrong and what to do, and a non-zero exit status; nothing is left behind") fails at once
# with exactly one line on stderr that names the problem, nothing on stdout, a non-zero exit status,
# no machine directory, cgroup or process left and no new mount in the caller's mount namespace:
# bad root directories, trees that cannot boot, bad machine names, bad option values, a machine name
# already in use (the running machine stays untouched), a too small -U range, a caller that is not
# root, and a kernel without a visible cgroup2 hierarchy.
. "$(dirname "$0")/lib.sh"

TREE=$(guest busybox)
[ -x "$TREE/bin/busybox" ] || die "no busybox guest tree: '$TREE'"

# bad WHAT REGEX [--as CMD…] -- ARGS…: "nspawnlite ARGS…" (prefixed by CMD if given) must fail at once
# with one line on stderr matching the extended regex REGEX, and leave nothing behind.
bad() {
        local what=$1 re=$2 rc=0 t0 ms before after lines
        shift 2
        local prefix=()
        if [ "$1" = --as ]; then
                shift
                while [ "$1" != -- ]; do
                        prefix+=("$1")
                        shift
                done
        fi
        [ "$1" = -- ] && shift
        local left_before left_after
        left_before=$(leftovers)
        before=$(cat /proc/self/mountinfo)
        t0=$(date +%s%N)
        timeout 20 "${prefix[@]}" "$NSPAWNLITE" "$@" </dev/null >"$WORK/out" 2>"$WORK/err" || rc=$?
        ms=$((($(date +%s%N) - t0) / 1000000))
        after=$(cat /proc/self/mountinfo)
        if [ "$rc" = 0 ]; then
                fail "$what: exit status 0"
        elif [ "$rc" = 124 ]; then
                fail "$what: still running after 20 s"
        else
                pass "$what: exit status $rc"
        fi
        [ "$ms" -lt 5000 ] && pass "$what: fails at once (${ms} ms)" || fail "$what: took ${ms} ms to fail"
        lines=$(grep -c '' "$WORK/err" || true)
        assert_eq 1 "$lines" "$what: exactly one line on stderr ($(head -c 300 "$WORK/err" | tr '\n' '|'))"
        if grep -qE -- "$re" "$WORK/err"; then
                pass "$what: the error names the problem"
        else
                fail "$what: the error '$(head -c 300 "$WORK/err" | tr '\n' '|')' does not match /$re/"
        fi
        assert_eq "" "$(head -c 300 "$WORK/out")" "$what: nothing on stdout"
        assert_eq "$before" "$after" "$what: no mount left in the caller's namespace"
        if [ -z "$left_before" ]; then
                assert_clean "$what: nothing left behind"
        else
                # Another machine runs meanwhile: what is there must be exactly what was there.
                left_after=$(leftovers)
                assert_eq "$left_before" "$left_after" "$what: nothing left behind, the running machine's files untouched"
        fi
}

# ---- root directories -----------------------------------------------------------------------------
echo not-a-tree >"$WORK/regular-file"
ln -s loop-b "$WORK/loop-a"
ln -s loop-a "$WORK/loop-b"
bad "missing rootfs" "$WORK/no-such-tree.*(does not exist|No such file)" -- boot "$WORK/no-such-tree"
bad "missing rootfs (run)" "$WORK/no-such-tree.*(does not exist|No such file)" -- run "$WORK/no-such-tree" true
bad "rootfs is a regular file" "regular-file.*not a directory" -- boot "$WORK/regular-file"
bad "rootfs is a symlink loop" "loop-a.*(symbolic links|loop)" -- boot "$WORK/loop-a"

cp -a "$TREE" "$WORK/noos"
rm -f "$WORK/noos/etc/os-release" "$WORK/noos/usr/lib/os-release"
bad "boot on a tree without os-release" "os-release" -- boot "$WORK/noos"
cp -a "$TREE" "$WORK/noinit"
rm -f "$WORK/noinit/sbin/init"
bad "boot on a tree without init" "[Nn]o init|init.*(not found|missing)" -- boot "$WORK/noinit"

# ---- machine names ------------------------------------------------------------------------------------
name64=$(printf 'n%.0s' {1..64})
name65=$(printf 'n%.0s' {1..65})
bad "-M ../x" "[Mm]achine name.*\.\./x" -- run -M ../x "$TREE" true
bad "-M a/b" "[Mm]achine name.*a/b" -- run -M a/b "$TREE" true
bad "-M ''" "[Mm]achine name" -- run -M '' "$TREE" true
bad "-M with 65 characters" "[Mm]achine name.*$name65" -- run -M "$name65" "$TREE" true
rc=0
timeout 20 "$NSPAWNLITE" run -M "$name64" "$TREE" sh -c 'hostname' </dev/null >"$WORK/out" 2>"$WORK/err" || rc=$?
assert_eq 0 "$rc" "-M with 64 characters is accepted ($(head -c 200 "$WORK/err"))"
assert_eq "$name64" "$(cat "$WORK/out")" "the 64-character name is the hostname"
assert_clean "after the 64-character name"

# ---- options ---------------------------------------------------------------------------------------
bad "unknown option --frobnicate" "frobnicate" -- run --frobnicate "$TREE" true
# "what to do": the hint must be a command that works as written.
assert_match "'nspawnlite run --help'" "$(cat "$WORK/err")" "the unknown-option error points to 'nspawnlite run --help'"
bad "--bind=relative:/x" "relative:/x" -- run --bind=relative:/x "$TREE" true
bad "--bind=/nonexistent:/x" "/nonexistent" -- run --bind=/nonexistent:/x "$TREE" true
bad "--bind=/tmp:/a/../b" "/a/\.\./b" -- run --bind=/tmp:/a/../b "$TREE" true
bad "--bind=/tmp:/x:bogus" "bogus" -- run --bind=/tmp:/x:bogus "$TREE" true
bad "--bind=/tmp\\ (a lone backslash)" "Invalid bind mount.*colon" -- run '--bind=/tmp\' "$TREE" true
bad "--tmpfs-size=0 (tmpfs: no limit)" "tmpfs-size.*'0'.*1M" -- run --tmpfs-size=0 "$TREE" true
bad "--tmpfs-size=150%" "tmpfs-size.*150%.*100%" -- run --tmpfs-size=150% "$TREE" true
bad "--tmpfs-size=lots" "tmpfs-size.*lots" -- run --tmpfs-size=lots --tmpfs=/scratch "$TREE" true
bad "--private-users=200000:100 (too small a range)" "private-users.*200000:100.*65536" -- run --private-users=200000:100 "$TREE" true
bad "--private-users=200000:6 (too small a range)" "private-users.*200000:6.*65536" -- boot --private-users=200000:6 "$TREE"
bad "--console=bogus" "console.*bogus" -- run --console=bogus "$TREE" true
bad "--network=bogus" "network.*bogus" -- run --network=bogus "$TREE" true
bad "--kill-signal=NOPE" "NOPE" -- run --kill-signal=NOPE "$TREE" true
bad "--timeout=abc" "timeout.*abc" -- run --timeout=abc "$TREE" true
bad "-E NOEQUALS" "NOEQUALS" -- run -E NOEQUALS "$TREE" true
bad "run without a command" "[Cc]ommand" -- run "$TREE"

# ---- a name already in use ------------------------------------------------------------------------------
boot_bg dup "$WORK/dup.log" "$TREE"
if wait_log "$WORK/dup.log" 'nspawnlite-guest: busybox ready' 30 && wait_running dup 10; then
        pass "the first machine 'dup' is up"
        leader_before=$(leader dup)
        bad "run -M dup while dup runs" "dup.*(already|in use|running)|(already|in use).*dup" -- run -M dup "$TREE" true
        bad "boot -M dup while dup runs" "dup.*(already|in use|running)|(already|in use).*dup" -- boot -M dup "$TREE"
        assert_eq "$leader_before" "$(leader dup)" "the first machine keeps its state file and leader"
        if kill -0 "$BOOT_PID" 2>/dev/null && in_guest dup true; then
                pass "the first machine still runs"
        else
                fail "the first machine was disturbed"
        fi
        [ -e "$NSPAWNLITE_RUNTIME_DIR/machines/dup/lock" ] && pass "the first machine's lock file is still there" ||
                fail "the first machine's lock file was removed by the failed attempt"
else
        fail "the first machine 'dup' did not come up: $(tr '\r\n' '  ' <"$WORK/dup.log" | head -c 400)"
fi
kill -TERM "$BOOT_PID" 2>/dev/null || true
wait_exit "$BOOT_PID" 30
assert_eq 0 "$EXIT_RC" "the first machine 'dup' powers off normally afterwards"
assert_clean "after the name-in-use checks"

# ---- not root -------------------------------------------------------------------------------------------
if command -v setpriv >/dev/null; then
        bad "not root" "root" --as setpriv --reuid=65534 --regid=65534 --clear-groups -- run "$TREE" true
else
        fail "setpriv (util-linux) is missing: cannot test a caller that is not root"
fi

# ---- a missing kernel feature: no cgroup2 hierarchy visible --------------------------------------------
mount -t tmpfs -o size=1m,mode=0755 nspawnlite-no-cgroup /sys/fs/cgroup
bad "no cgroup2 hierarchy" "cgroup2|cgroup v2|unified" -- run "$TREE" true
umount /sys/fs/cgroup
assert_clean "after the missing cgroup2 check"
