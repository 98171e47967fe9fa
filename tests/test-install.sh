#!/bin/bash
# `meson install` into a DESTDIR installs exactly what a distribution ships: the binary in BINDIR,
# nspawnlite@.service in systemd's system unit directory (naming that BINDIR), the bash completion
# in bash-completion's completionsdir, the zsh one in zsh/vendor-completions, and a man page for
# each man/*.scd of the tree (where scdoc is). Nothing else. No root.
# Usage: test-install.sh BUILDDIR
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$TOP/build}
FAILURES=0
CHECKS=0
pass() { CHECKS=$((CHECKS + 1)); echo "PASS: $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILURES=$((FAILURES + 1)); echo "FAIL: $*"; }

D=$(mktemp -d /tmp/nspawnlite-install.XXXXXX)
trap 'rm -rf "$D"' EXIT

# The build's own directories, as meson was told them.
opt() {
        meson introspect "$BUILD" --buildoptions |
                python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$1"
}
PREFIX=$(opt prefix) && BINDIR=$(opt bindir) && DATADIR=$(opt datadir) && MANDIR=$(opt mandir) ||
        { echo "FAIL: cannot read the build options of $BUILD"; exit 1; }
# Relative values are under the prefix; absolute ones stand as they are.
under() { case $1 in /*) echo "$1" ;; *) echo "$PREFIX/$1" ;; esac; }
BINDIR=$(under "$BINDIR") DATADIR=$(under "$DATADIR") MANDIR=$(under "$MANDIR")
UNITDIR=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null) || UNITDIR=$PREFIX/lib/systemd/system
BASHDIR=$(pkg-config --define-variable=datadir="$DATADIR" --variable=completionsdir bash-completion 2>/dev/null) ||
        BASHDIR=$DATADIR/bash-completion/completions

WANT=("$BINDIR/nspawnlite" "$UNITDIR/nspawnlite@.service" "$BASHDIR/nspawnlite"
        "$DATADIR/zsh/vendor-completions/_nspawnlite")
# (meson builds them where scdoc is found)
for f in "$TOP"/man/*.scd; do
        [ -e "$f" ] && command -v scdoc >/dev/null || continue
        page=$(basename "$f" .scd) # NAME.SECTION
        WANT+=("$MANDIR/man${page##*.}/$page")
done

out=$(DESTDIR=$D meson install -C "$BUILD" --no-rebuild 2>&1)
rc=$?
if [ "$rc" = 0 ]; then pass "meson install into DESTDIR exits 0"; else fail "meson install: status $rc: $(tail -n 5 <<<"$out")"; fi

got=$(cd "$D" && find . -type f -o -type l | sed 's/^\.//' | sort)
want=$(printf '%s\n' "${WANT[@]}" | sort)
if [ "$got" = "$want" ]; then
        pass "the installed files are exactly: $(tr '\n' ' ' <<<"$want")"
else
        fail "installed files: got '$(tr '\n' ' ' <<<"$got")', expected '$(tr '\n' ' ' <<<"$want")'"
fi

if [ -x "$D$BINDIR/nspawnlite" ] && v=$("$D$BINDIR/nspawnlite" --version) && [[ $v == "nspawnlite "* ]]; then
        pass "the installed binary runs: $(head -n 1 <<<"$v")"
else
        fail "the installed binary: '${v:-}'"
fi
exec_line=$(grep '^ExecStart=' "$D$UNITDIR/nspawnlite@.service" 2>/dev/null)
if [[ $exec_line == "ExecStart=$BINDIR/nspawnlite boot "* ]]; then
        pass "the unit starts the installed binary ($BINDIR/nspawnlite)"
else
        fail "the unit's ExecStart: '$exec_line'"
fi
# systemctl help nspawnlite@NAME opens the page that documents the unit.
if grep -qx 'Documentation=man:nspawnlite(1)' "$D$UNITDIR/nspawnlite@.service" 2>/dev/null &&
        { ! command -v scdoc >/dev/null || [ -f "$D$MANDIR/man1/nspawnlite.1" ]; }; then
        pass "the unit's Documentation= is nspawnlite(1), which is installed"
else
        fail "the unit's Documentation=: '$(grep '^Documentation=' "$D$UNITDIR/nspawnlite@.service" 2>/dev/null)'"
fi
if grep -q '^complete -F _nspawnlite nspawnlite$' "$D$BASHDIR/nspawnlite" 2>/dev/null; then
        pass "the bash completion is installed under the command's name (bash-completion loads it on demand)"
else
        fail "no bash completion for nspawnlite in $BASHDIR"
fi

echo "test-install: $((CHECKS - FAILURES)) passed, $FAILURES failed"
[ "$FAILURES" = 0 ] && [ "$CHECKS" -gt 0 ]
