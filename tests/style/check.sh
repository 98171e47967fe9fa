#!/bin/bash
# The house rules a machine can check (docs/HACKING.md, "Code layout"): every file of a floor includes headers of
# its own floor or of those below it only, and the C sources are clang-format clean against the
# project's .clang-format. Prints each offence; exits 1 if there is one, 77 without clang-format.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1

# floor PATH: the floor's rank, lowest first (docs/HACKING.md, "Code layout").
floor() {
        case $1 in
        nspawnlite/basic/*) echo 0 ;;
        machines/*) echo 1 ;;
        network/*) echo 2 ;;
        nspawnlite/cli/*) echo 4 ;;
        nspawnlite/*) echo 3 ;;
        *) echo 9 ;;
        esac
}

bad=0
files=$(git ls-files 'nspawnlite/*.[ch]' 'machines/*.[ch]' 'network/*.[ch]' 2>/dev/null ||
        find nspawnlite machines network -name '*.[ch]')
for f in $files; do
        me=$(floor "$f")
        while read -r inc; do
                [ -n "$inc" ] || continue
                [ "$(floor "$inc")" -le "$me" ] && continue
                echo "FAIL: floors: $f includes $inc, of a floor above its own"
                bad=$((bad + 1))
        done < <(sed -n 's/^#include "\([^"]*\/[^"]*\)"$/\1/p' "$f")
done
[ "$bad" = 0 ] && echo "PASS: floors: no file reaches up ($(echo "$files" | wc -w) files)"

if ! command -v clang-format >/dev/null; then
        echo "SKIP: clang-format is not installed"
        [ "$bad" = 0 ] && exit 77
        exit 1
fi
# shellcheck disable=SC2086
n=$(clang-format --dry-run $files 2>&1 | grep -c 'warning:')
if [ "$n" -gt 0 ]; then
        echo "FAIL: clang-format: $n places differ from .clang-format (clang-format -i the files above)"
        # shellcheck disable=SC2086
        clang-format --dry-run $files 2>&1 | grep 'warning:' | head -n 20
        bad=$((bad + 1))
else
        echo "PASS: clang-format: every file is clean"
fi
[ "$bad" = 0 ]
