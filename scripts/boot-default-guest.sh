#!/bin/bash
# Sets everything up on a fresh Debian 12 machine and boots the default guest (Debian bookworm with
# systemd) to its login prompt on this terminal. Log in as root, password root.
# Ctrl-] three times within a second kills the machine; "poweroff" inside ends it cleanly.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
"$TOP/scripts/install-deps.sh"
echo "Preparing the Debian bookworm guest (debootstrap, cached after the first time)…" >&2
CACHED=$("$TOP/tests/guests/build.sh" debian-systemd | tail -n 1)
# The machine gets a tree of its own under the persistent state dir: what it writes stays there,
# and the cached tree the tests start from stays as built.
STATE=${NSPAWNLITE_STATE_DIR:-/var/lib/nspawnlite}
TREE=$STATE/machines/debian
# 0700: under -U a guest may make setuid files there, which no other host user may reach.
mkdir -p -m 0700 "$STATE/machines"
chmod 0700 "$STATE/machines"
if [ ! -e "$TREE/etc/os-release" ]; then
        rm -rf "$TREE.tmp"
        cp -a "$CACHED" "$TREE.tmp"
        mv "$TREE.tmp" "$TREE"
fi
echo "Booting $TREE. Log in as root with password root." >&2
exec "$TOP/build/nspawnlite" boot "$TREE" "$@"
