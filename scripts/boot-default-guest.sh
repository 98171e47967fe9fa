#!/bin/bash
# Sets everything up on a fresh Debian 12 machine and boots the default guest (Debian bookworm with
# systemd) to its login prompt on this terminal. Log in as root, password root.
# Ctrl-] three times within a second kills the machine; "poweroff" inside ends it cleanly.
#
# The guest is the image "debian" of the image store (/var/lib/machines, or NSPAWNLITE_MACHINES_DIR),
# made once with "nspawnlite create"; what the machine writes stays there. Later runs boot it again.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
"$TOP/scripts/install-deps.sh"
NL=$TOP/build/nspawnlite
NAME=${NSPAWNLITE_DEFAULT_GUEST:-debian}
if ! "$NL" image-status "$NAME" >/dev/null 2>&1; then
        echo "Making the Debian bookworm guest '$NAME' in the image store (once; about a minute)…" >&2
        pw=$(mktemp)
        trap 'rm -f -- "$pw"' EXIT
        echo root >"$pw"
        "$NL" create "$NAME" --release=bookworm --root-password-file="$pw"
        rm -f -- "$pw"
        trap - EXIT
fi
echo "Booting '$NAME' from the image store. Log in as root with password root." >&2
exec "$NL" boot -M "$NAME" "$@"
