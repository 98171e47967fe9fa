#!/bin/bash
# libFuzzer targets for every parser: builds tests/fuzz/fuzz-*.c with clang and
# ASan + UBSan against the project's own sources, then runs each for SECONDS (default 20) on a
# scratch copy of its checked-in corpus (tests/fuzz/corpus/NAME/, NAME without "fuzz-"). New inputs
# go to the scratch dir, never into the checked-in corpus. Any crash, leak, timeout or sanitizer
# report fails the run (exit 1), naming the reproducer. Exit 77 when clang/libFuzzer can't be had.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET…]      e.g. tests/fuzz/run.sh 60 fuzz-lease
#   Reproduce: build/fuzz/fuzz-NAME path/to/crash-…
set -uo pipefail
# Read whole before running: editing this file during a run must not change the run.
{
TOP=$(cd "$(dirname "$0")/../.." && pwd)
FUZZ_SRC=$TOP/tests/fuzz
SECONDS_PER_TARGET=${1:-20}
shift || true
BUILD=${FUZZ_BUILD_DIR:-$TOP/build/fuzz}
CC=${FUZZ_CC:-clang}

say() { echo "fuzz: $*" >&2; }

case "$SECONDS_PER_TARGET" in
'' | *[!0-9]*) say "usage: $0 [SECONDS] [TARGET…]"; exit 2 ;;
esac

# --- The compiler and libFuzzer: installed quietly when we are root and they are missing.
PKG_LIBS=(mount blkid libnl-3.0 libnl-route-3.0 libcap libseccomp libnftables libarchive libcurl libcrypto)

probe_libfuzzer() {
        command -v "$CC" >/dev/null || return 1
        local d
        d=$(mktemp -d) || return 1
        printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }\n' >"$d/p.c"
        "$CC" -fsanitize=fuzzer,address,undefined "$d/p.c" -o "$d/p" >/dev/null 2>&1
        local rc=$?
        rm -rf "$d"
        return $rc
}

if ! probe_libfuzzer; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
                say "installing clang and libFuzzer (apt-get)"
                export DEBIAN_FRONTEND=noninteractive
                { apt-get update -qq && apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev; } \
                        >/dev/null 2>&1 || true
        fi
        if ! probe_libfuzzer; then
                say "SKIP: clang with libFuzzer (-fsanitize=fuzzer) is not available"
                exit 77
        fi
fi
if ! pkg-config --exists "${PKG_LIBS[@]}" 2>/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
                say "installing the project's library headers (apt-get)"
                export DEBIAN_FRONTEND=noninteractive
                { apt-get update -qq && apt-get install -y -qq --no-install-recommends pkg-config libmount-dev \
                        libblkid-dev libnl-3-dev libnl-route-3-dev libcap-dev libseccomp-dev libnftables-dev \
                        libarchive-dev libcurl4-openssl-dev libssl-dev; } \
                        >/dev/null 2>&1 || true
        fi
        pkg-config --exists "${PKG_LIBS[@]}" 2>/dev/null || { say "FAIL: pkg-config cannot find ${PKG_LIBS[*]}"; exit 1; }
fi

# --- Build: the project's library sources (the lists meson.build gives the static library), once,
# instrumented for coverage; then one binary per target.
mapfile -t CORE < <(sed -n '/^[a-z]*_sources = files(/,/^)/p' "$TOP/meson.build" | grep -o "'[^']*\.c'" | tr -d "'")
[ "${#CORE[@]}" -gt 0 ] || { say "FAIL: no *_sources lists in meson.build"; exit 1; }

# shellcheck disable=SC2207
PKG_CFLAGS=($(pkg-config --cflags "${PKG_LIBS[@]}"))
# shellcheck disable=SC2207
PKG_LDLIBS=($(pkg-config --libs "${PKG_LIBS[@]}"))
CFLAGS=(-g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
        -D_GNU_SOURCE -DNSPAWNLITE_VERSION='"fuzz"' -std=gnu11 -I"$TOP" "${PKG_CFLAGS[@]}"
        -Wall -Wno-unused-parameter -Wno-unused-function -Werror=implicit-function-declaration)

rm -rf "$BUILD/obj" # a source dropped from meson.build must not linger in the archive
mkdir -p "$BUILD/obj" "$BUILD/gen"
: >"$BUILD/build.log"
# The seccomp program is compiled from its policy at build time, as meson.build does.
if ! "$CC" "${CFLAGS[@]}" -o "$BUILD/gen/seccomp-gen" "$TOP/nspawnlite/seccomp-gen.c" \
        "$TOP/nspawnlite/seccomp-policy.c" "${PKG_LDLIBS[@]}" 2>>"$BUILD/build.log" ||
        ! "$BUILD/gen/seccomp-gen" "$BUILD/gen/seccomp-filter.h" 2>>"$BUILD/build.log"; then
        cat "$BUILD/build.log" >&2
        say "FAIL: generating the seccomp program"
        exit 1
fi
CFLAGS+=(-I"$BUILD/gen")
start_build=$(date +%s)
say "building ${#CORE[@]} project sources into $BUILD"
export CC BUILD TOP
printf '%s\n' "${CORE[@]}" | xargs -P "$(nproc)" -I{} sh -c '
        o="$BUILD/obj/$(echo "{}" | tr / _ | sed "s/\.c$/.o/")"
        exec "$CC" "$@" -fsanitize=fuzzer-no-link -c "$TOP/{}" -o "$o"
' sh "${CFLAGS[@]}" 2>>"$BUILD/build.log"
build_rc=$?
if [ $build_rc -ne 0 ]; then
        cat "$BUILD/build.log" >&2
        say "FAIL: building the project sources"
        exit 1
fi
rm -f "$BUILD/libcore-fuzz.a"
ar rcs "$BUILD/libcore-fuzz.a" "$BUILD"/obj/*.o

if [ $# -gt 0 ]; then
        TARGETS=("$@")
else
        TARGETS=()
        for f in "$FUZZ_SRC"/fuzz-*.c; do
                TARGETS+=("$(basename "$f" .c)")
        done
fi

for t in "${TARGETS[@]}"; do
        if ! "$CC" "${CFLAGS[@]}" -fsanitize=fuzzer "$FUZZ_SRC/$t.c" "$BUILD/libcore-fuzz.a" "${PKG_LDLIBS[@]}" \
                -o "$BUILD/$t" 2>>"$BUILD/build.log"; then
                cat "$BUILD/build.log" >&2
                say "FAIL: building $t"
                exit 1
        fi
done
say "built ${#TARGETS[@]} targets in $(($(date +%s) - start_build)) s; ${SECONDS_PER_TARGET} s each"

# --- Run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0
failed=0
for t in "${TARGETS[@]}"; do
        name=${t#fuzz-}
        run=$BUILD/run/$name
        rm -rf "$run"
        mkdir -p "$run/corpus" "$run/artifacts" "$run/tmp"
        [ -d "$FUZZ_SRC/corpus/$name" ] && cp -a "$FUZZ_SRC/corpus/$name/." "$run/corpus/"
        t0=$(date +%s)
        # The checked-in corpus is run first (regressions), then fuzzing adds to the scratch copy.
        (cd "$run" && TMPDIR=$run/tmp timeout -k 10 $((SECONDS_PER_TARGET + 120)) "$BUILD/$t" \
                -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
                -print_final_stats=1 -artifact_prefix="$run/artifacts/" "$run/corpus") >"$run/log" 2>&1
        rc=$?
        rm -rf "$run/tmp"
        artifacts=$(find "$run/artifacts" -type f | sort)
        reports=$(grep -E -m3 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|ERROR: libFuzzer|check failed:' "$run/log")
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$run/log" | tail -1)
        if [ $rc -eq 0 ] && [ -z "$artifacts" ] && [ -z "$reports" ]; then
                passed=$((passed + 1))
                echo "PASS: $t (${execs:-?} runs in $(($(date +%s) - t0)) s, corpus $(find "$run/corpus" -type f | wc -l))"
        else
                failed=$((failed + 1))
                echo "FAIL: $t (exit $rc), log $run/log"
                [ -n "$reports" ] && echo "$reports" | sed 's/^/    /'
                for a in $artifacts; do
                        echo "    reproducer: $a   (run: $BUILD/$t $a)"
                done
                [ $rc -eq 124 ] || [ $rc -eq 137 ] && echo "    the run did not end within its bound"
        fi
done

echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
exit
}
