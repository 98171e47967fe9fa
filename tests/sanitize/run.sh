#!/bin/bash
# The root integration suite under AddressSanitizer + LeakSanitizer + UBSan, in its
# own build dir (build-asan; the main build is not touched). A test fails when its script fails or
# when any sanitizer report appears, in its output or in the report files.
#
#   tests/sanitize/run.sh [TEST…]        e.g. tests/sanitize/run.sh test-run test-options
#
# Where reports go: every host-side process (the verbs, the supervisor, also when detached and its
# output goes nowhere) writes them to build-asan/sanitize-logs/TEST/asan.PID (log_path). Our code
# that runs inside a guest's mount namespace (the clone3 child until it execs init, the stub init of
# "run", the joining side of login/shell) cannot open that path: on a report ASan says "Can't open
# file" on the guest's console and dies, which is grepped for too, and abort_on_error makes such a
# child fail its machine visibly. LeakSanitizer runs at exit() only: the verbs and the supervisor
# return from main() and are checked; children end with _exit() (after fork, or at a failed setup
# step) and are not, which is right for them: their memory is a copy that dies with them.
# UBSan, linked with ASan (gcc 12), ignores log_path and always writes to stderr: so it aborts
# (abort_on_error), which no test takes for success, and its lines are grepped in the test output.
set -uo pipefail
# Read whole before running: editing this file during a run must not change the run.
{
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${SANITIZE_BUILD_DIR:-$TOP/build-asan}
LOGS=$BUILD/sanitize-logs
TEST_TIMEOUT=${SANITIZE_TEST_TIMEOUT:-900}

say() { echo "sanitize: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
        say "SKIP: the integration tests need root"
        echo "sanitize: 0 passed, 0 failed, 0 skipped"
        exit 77
fi

# --- Build.
start=$(date +%s)
cd "$TOP" || exit 1
if [ ! -f "$BUILD/build.ninja" ]; then
        say "configuring $BUILD"
        meson setup "$BUILD" -Db_sanitize=address,undefined -Db_lundef=false \
                -Dc_args=-fno-omit-frame-pointer >"/tmp/nspawnlite-asan-setup.$$.log" 2>&1 ||
                { cat "/tmp/nspawnlite-asan-setup.$$.log" >&2; say "FAIL: meson setup"; exit 1; }
        rm -f "/tmp/nspawnlite-asan-setup.$$.log"
fi
# Stay an ASan build even if someone reconfigured it.
meson configure "$BUILD" -Db_sanitize=address,undefined -Db_lundef=false >/dev/null ||
        { say "FAIL: meson configure"; exit 1; }
if ! ninja -C "$BUILD" >"$BUILD/sanitize-build.log" 2>&1; then
        tail -n 40 "$BUILD/sanitize-build.log" >&2
        say "FAIL: build"
        exit 1
fi
say "built $BUILD/nspawnlite in $(($(date +%s) - start)) s"

# The unit tests (no root needed) first, under the same sanitizers, then the integration tests.
if [ $# -gt 0 ]; then
        TESTS=()
        for t in "$@"; do
                case $t in
                unit) TESTS+=(unit) ;;
                *)
                        t=${t%.sh}
                        if [ -f "$TOP/tests/integration/security/$t.sh" ]; then
                                TESTS+=("$TOP/tests/integration/security/$t.sh")
                        else
                                TESTS+=("$TOP/tests/integration/$t.sh")
                        fi
                        ;;
                esac
        done
else
        # Whatever integration tests exist, the hostile-guest ones (security/) too, but those whose
        # host-side code the others already drive and whose time goes into guests: the release
        # matrix (systemd of four Debian releases booting), create (mmdebstrap's time; the unit tests
        # drive its recipes), the nested lanes and the package (the binary runs inside a guest,
        # where its reports could not be written), and the chaos rounds (their supervisors die of
        # SIGKILL, which LeakSanitizer never sees).
        shopt -s nullglob
        TESTS=(unit)
        for script in "$TOP"/tests/integration/test-*.sh "$TOP"/tests/integration/security/test-*.sh; do
                case ${script##*/} in
                test-releases.sh | test-create.sh | test-nested.sh | test-nested-lxc.sh | test-systemd-host.sh | test-chaos.sh | \
                        test-package.sh) ;;
                *) TESTS+=("$script") ;;
                esac
        done
        shopt -u nullglob
fi
# The guest trees those tests boot (the lane's own cache is built from nothing on a fresh clone).
GUEST_KINDS=(busybox debian-systemd debian-sysvinit debian-openrc)

rm -rf "$LOGS"
mkdir -p "$LOGS"

# The guest trees: a cache of our own (build-asan/guests), so that other test runs on this machine
# changing the shared trees under us (an -U test shifting owners, a test swapping /etc/passwd)
# cannot fail this lane, nor this lane them. Built once (busybox in seconds, each Debian tree in about
# a minute; .debs are taken from the shared cache when it has them). A tree whose /etc/passwd is
# not a plain file is rebuilt. SANITIZE_GUEST_CACHE=/var/cache/nspawnlite-tests shares instead.
if [ "${TESTS[*]}" != unit ]; then
        export NSPAWNLITE_GUEST_CACHE=${SANITIZE_GUEST_CACHE:-$BUILD/guests}
        shared=/var/cache/nspawnlite-tests
        mkdir -p "$NSPAWNLITE_GUEST_CACHE/debs"
        if [ "$NSPAWNLITE_GUEST_CACHE" != "$shared" ] && [ -d "$shared/debs" ] &&
                [ -z "$(ls -A "$NSPAWNLITE_GUEST_CACHE/debs")" ]; then
                cp -a "$shared/debs/." "$NSPAWNLITE_GUEST_CACHE/debs/" 2>/dev/null || true
        fi
        for tree in "$NSPAWNLITE_GUEST_CACHE"/*-*/; do
                [ -d "$tree" ] && [ "$tree" != "$NSPAWNLITE_GUEST_CACHE/debs/" ] || continue
                [ -f "$tree/etc/passwd" ] && [ ! -L "$tree/etc/passwd" ] && continue
                say "guest tree $tree was damaged (etc/passwd): rebuilding it"
                rm -rf -- "$tree"
        done
        t0=$(date +%s)
        for kind in "${GUEST_KINDS[@]}"; do
                if ! "$TOP/tests/guests/build.sh" "$kind" >>"$LOGS/guests.log" 2>&1; then
                        tail -n 20 "$LOGS/guests.log" >&2
                        say "FAIL: building the guest tree $kind into $NSPAWNLITE_GUEST_CACHE"
                        exit 1
                fi
        done
        say "guest trees in $NSPAWNLITE_GUEST_CACHE ready in $(($(date +%s) - t0)) s"
fi
REPORT_RE='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: (Address|Undefined|Leak)Sanitizer|ERROR: Can.t open file|LeakSanitizer has encountered a fatal error|AddressSanitizer:DEADLYSIGNAL'

passed=0
failed=0
skipped=0
for script in "${TESTS[@]}"; do
        name=$(basename "$script" .sh)
        dir=$LOGS/$name
        mkdir -p "$dir"
        t0=$(date +%s)
        opts="detect_leaks=1:abort_on_error=1:halt_on_error=1:log_path=$dir/asan"
        # Each test bounds itself; the timeout is a backstop for a test that hangs under ASan.
        NSPAWNLITE=$BUILD/nspawnlite \
                ASAN_OPTIONS="$opts:detect_stack_use_after_return=0" \
                LSAN_OPTIONS="log_path=$dir/asan" \
                UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1:log_path=$dir/asan" \
                timeout -k 30 "$TEST_TIMEOUT" \
                $([ "$script" = unit ] && echo "$BUILD/tests/unit/unit-tests" || echo "bash $script") \
                >"$dir/output.log" 2>&1
        rc=$?
        secs=$(($(date +%s) - t0))
        reports=$( {
                grep -E -h "$REPORT_RE" "$dir/output.log"
                find "$dir" -name 'asan.*' -type f -size +0 -exec grep -E -h "$REPORT_RE" {} +
        } 2>/dev/null | sort | uniq -c | sort -rn | head -n 8)
        files=$(find "$dir" -name 'asan.*' -type f -size +0 | sort)
        if [ $rc -eq 77 ] && [ -z "$reports" ]; then
                skipped=$((skipped + 1))
                echo "SKIP: $name ($(grep -m1 '^SKIP' "$dir/output.log" || echo "exit 77"))"
        elif [ $rc -eq 0 ] && [ -z "$reports" ] && [ -z "$files" ]; then
                passed=$((passed + 1))
                echo "PASS: $name ($secs s)"
        else
                failed=$((failed + 1))
                why="exit $rc"
                [ $rc -eq 124 ] && why="timed out after $TEST_TIMEOUT s"
                [ -n "$reports" ] && why="$why, sanitizer reports"
                echo "FAIL: $name ($why, $secs s), output: $dir/output.log"
                grep -E '^FAIL' "$dir/output.log" | head -n 5 | sed 's/^/    /'
                [ -n "$reports" ] && echo "$reports" | sed 's/^/    /'
                for f in $files; do echo "    report file: $f"; done
        fi
done

echo "sanitize: $passed passed, $failed failed, $skipped skipped ($(($(date +%s) - start)) s)"
[ $failed -eq 0 ] || exit 1
[ $passed -gt 0 ] || exit 77
exit 0
}
