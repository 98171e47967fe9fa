#!/bin/bash
# Sets everything up on a fresh Debian 12 machine (as root) and runs every test: unit tests (Check),
# the root integration tests booting real guests, then the benchmark against systemd-nspawn
# (figures only, never a pass/fail). Exit status: non-zero if any test failed.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"

"$TOP/scripts/install-deps.sh"

echo "== Guest trees" >&2
"$TOP/tests/guests/build.sh" all >/dev/null

echo "== Tests" >&2
rc=0
meson test -C build --print-errorlogs --no-rebuild || rc=$?

# One closing line for whoever reads the log: counts from meson's own record of the run.
python3 - "$TOP/build/meson-logs/testlog.json" <<'PY' || true
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
for line in open(sys.argv[1]):
    r = json.loads(line).get("result", "")
    if r in ("OK", "EXPECTEDFAIL"):
        counts["OK"] += 1
    elif r == "SKIP":
        counts["SKIP"] += 1
    else:
        counts["FAIL"] += 1
print(f"{counts['OK']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
PY

if [ "${NSPAWNLITE_SKIP_BENCH:-0}" != 1 ]; then
        # The density bench's 20 Debian machines without -U are left to a run by hand here: its
        # hundred Debian machines (-U --ephemeral, against systemd-nspawn's largest count) tell more,
        # and both together would take the test command past its hour.
        export BENCH_DENSITY_DEBIAN=${BENCH_DENSITY_DEBIAN:-0}
        for b in bench-boot bench-network bench-density bench-ephemeral bench-image bench-systemd-host bench-cycle; do
                echo "== Benchmark $b (figures side by side with systemd-nspawn, not a test)" >&2
                "$TOP/tests/bench/$b.sh" || echo "benchmark $b did not complete (exit $?)" >&2
        done
fi
exit "$rc"
