#!/bin/bash
# The Debian package, as a distribution would make and use it:
# - `dpkg-buildpackage -b -us -uc` builds it from a clean copy of the tree (the unit tests are left
#   to the test command's own unit suite: DEB_BUILD_OPTIONS=nocheck keeps this test short);
# - lintian finds no error, and every warning it still gives is overridden with a reason in debian/;
# - it installs with `dpkg -i` into a fresh Debian systemd guest booted by nspawnlite (--ephemeral,
#   --network=none: its Depends must already be there, nothing is fetched), and the installed
#   nspawnlite prints its version, has its unit and completions in place, and runs a busybox tree
#   inside the guest (nested);
# - its man pages (one per man/*.scd of the tree) are in the package and render without a warning
#   with the host's man, and `man nspawnlite` works in the guest once man-db is there (the minbase
#   guest has none: its .debs come from the host's apt, the guest stays offline).
. "$(dirname "$0")/lib.sh"

for t in dpkg-buildpackage dh lintian; do
        command -v "$t" >/dev/null || skip "needs $t (dpkg-dev, debhelper, lintian: scripts/install-deps.sh)"
done

# A clean copy: what git tracks and would track, without any build directory.
SRC=$WORK/src/nspawnlite
mkdir -p "$SRC"
if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
        (cd "$TOP" && git ls-files -z -co --exclude-standard | tar --null -cf - -T -) | tar -xf - -C "$SRC" ||
                die "cannot copy the tree"
else
        (cd "$TOP" && tar --exclude='./build*' -cf - .) | tar -xf - -C "$SRC" || die "cannot copy the tree"
fi
[ -f "$SRC/debian/control" ] || die "no debian/ in the tree"

VERSION=$(cd "$SRC" && dpkg-parsechangelog -S Version) || die "cannot read debian/changelog"
ARCH=$(dpkg --print-architecture)
DEB=$WORK/src/nspawnlite_${VERSION}_${ARCH}.deb
(cd "$SRC" && DEB_BUILD_OPTIONS="nocheck noddebs parallel=$(nproc)" exec timeout 600 \
        dpkg-buildpackage -b -us -uc >"$WORK/build.log" 2>&1) &
BUILD_PID=$!
STARTED_PIDS+=("$BUILD_PID")

# man-db and what it needs beyond a minbase Debian: fetched once by scripts/install-deps.sh (this
# test runs in its own network namespace, offline).
MANDB_DEBS=${NSPAWNLITE_GUEST_CACHE:-/var/cache/nspawnlite-tests}/debs/man-db
MANDB_BIND=()
[ -f "$MANDB_DEBS/.complete" ] && MANDB_BIND=(--bind-ro="$MANDB_DEBS:/man-db")

# A fresh Debian guest, its own tree untouched (--ephemeral), offline (--network=none); it boots
# while the package builds.
GUEST=$(guest debian-systemd) || die "no debian-systemd guest tree"
BB=$("$TOP/tests/guests/build.sh" busybox | tail -n 1)
[ -d "$BB" ] || die "no busybox guest tree"
up pkg --ephemeral --bind-ro="$WORK/src:/pkg" --bind-ro="$BB:/bb" "${MANDB_BIND[@]}" "$GUEST" || exit 1

rc=0
wait "$BUILD_PID" || rc=$?
if [ "$rc" = 0 ] && [ -f "$DEB" ]; then
        pass "dpkg-buildpackage -b -us -uc builds $(basename "$DEB") from a clean copy"
        log "package built after ${SECONDS} s"
else
        die "dpkg-buildpackage: status $rc: $(tail -n 15 "$WORK/build.log" | tr '\n' '|')"
fi
MESON_VERSION=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$SRC/meson.build" | head -n 1)
assert_eq "$MESON_VERSION" "$VERSION" "the package's version is meson's project version"

# lintian takes a while: it runs while the guest installs the package.
timeout 180 lintian --fail-on error --display-info "$WORK/src/nspawnlite_${VERSION}_${ARCH}.changes" \
        >"$WORK/lintian.log" 2>&1 &
LINTIAN_PID=$!
STARTED_PIDS+=("$LINTIAN_PID")

# What the package holds.
CONTENTS=$(dpkg-deb -c "$DEB" | awk '{ print $6 }' | sed 's|^\./|/|') || fail "dpkg-deb -c"
for f in /usr/bin/nspawnlite /lib/systemd/system/nspawnlite@.service \
        /usr/share/bash-completion/completions/nspawnlite /usr/share/zsh/vendor-completions/_nspawnlite; do
        grep -qx -- "$f" <<<"$CONTENTS" && pass "the package holds $f" || fail "the package lacks $f"
done

# Man pages: in the package, and rendered by man without a warning.
mkdir -p "$WORK/x" && dpkg-deb -x "$DEB" "$WORK/x" || fail "dpkg-deb -x"
for scd in "$SRC"/man/*.scd; do
        [ -e "$scd" ] || { log "no man/*.scd in this tree: no man page to check"; break; }
        page=$(basename "$scd" .scd)
        f=/usr/share/man/man${page##*.}/$page.gz
        if grep -qx -- "$f" <<<"$CONTENTS"; then pass "the package holds $f"; else fail "the package lacks $f"; continue; fi
        rc=0
        out=$(MANWIDTH=80 man --warnings -l "$WORK/x$f" 2>&1 >/dev/null) || rc=$?
        text=$(MANWIDTH=80 man -l "$WORK/x$f" 2>/dev/null | head -n 5 || true)
        if [ "$rc" = 0 ] && [ -z "$out" ] && [ -n "$text" ]; then
                pass "man renders $page without a warning"
        else
                fail "man $page: status $rc: $out"
        fi
done

inside() { timeout 120 "$NSPAWNLITE" shell pkg -- /bin/bash -c "$*" </dev/null 2>&1 || true; }

OUT=$(inside "dpkg -i /pkg/$(basename "$DEB") >/dev/null 2>&1; echo dpkg=\$?; dpkg-query -W -f='\${Status}\n' nspawnlite")
assert_eq $'dpkg=0\ninstall ok installed' "$OUT" "the guest: dpkg -i installs the package with what the guest has"

OUT=$(inside 'nspawnlite --version; echo rc=$?')
assert_match "^nspawnlite $VERSION"$'.*\nrc=0$' "$OUT" "the guest: the installed nspawnlite --version"

if [ -f "$MANDB_DEBS/.complete" ]; then
        OUT=$(inside 'dpkg -i /man-db/*.deb >/dev/null 2>&1; echo dpkg=$?; MANWIDTH=80 man -P cat nspawnlite 2>&1 | sed -n "1p;/^NAME/,+1p"')
        assert_match $'^dpkg=0\nnspawnlite\\(1\\).*\nNAME\n +nspawnlite - ' "$OUT" "the guest: man nspawnlite shows the installed page"
else
        fail "no man-db packages in $MANDB_DEBS: scripts/install-deps.sh fetches them (apt-get download)"
fi

OUT=$(inside 'command -v nspawnlite; systemctl cat nspawnlite@demo.service | grep ^ExecStart=')
assert_eq $'/usr/bin/nspawnlite\nExecStart=/usr/bin/nspawnlite boot --keep-unit --console=read-only --wait-ready -M %i' \
        "$OUT" "the guest: the binary in /usr/bin, and systemd knows nspawnlite@.service"

OUT=$(inside '. /usr/share/bash-completion/completions/nspawnlite && complete -p nspawnlite')
assert_eq "complete -F _nspawnlite nspawnlite" "$OUT" "the guest: the bash completion loads in bash"

OUT=$(inside 'nspawnlite run --network=none /bb /bin/echo nested-ok; echo rc=$?')
assert_match $'nested-ok\nrc=0$' "$OUT" "the guest: the installed nspawnlite runs a busybox tree (nested)"

OUT=$(inside 'dpkg -r nspawnlite >/dev/null 2>&1; echo rc=$?; ls /usr/bin/nspawnlite 2>&1 | grep -c "No such"')
assert_eq $'rc=0\n1' "$OUT" "the guest: dpkg -r removes it"

rc=0
wait "$LINTIAN_PID" || rc=$?
LINT=$(cat "$WORK/lintian.log")
if [ "$rc" = 0 ] && ! grep -q '^E:' <<<"$LINT"; then
        pass "lintian: no error"
else
        fail "lintian: status $rc: $(grep -E '^E:' <<<"$LINT" | tr '\n' '|')"
fi
WARN=$(grep -E '^W:' <<<"$LINT" || true)
# A tree without man/ (the man pages are built from man/*.scd) has none to ship yet.
compgen -G "$SRC/man/*.scd" >/dev/null || WARN=$(grep -v ': no-manual-page ' <<<"$WARN" || true)
assert_eq "" "$WARN" "lintian: no warning left that debian/ does not override"

down pkg
log "done after ${SECONDS} s"
