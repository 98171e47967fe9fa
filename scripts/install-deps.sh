#!/bin/bash
# Installs what nspawnlite needs to build and test on Debian 12 (as root), then builds it in ./build.
# Idempotent: packages already present are not fetched again.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)

PACKAGES=(
        # build
        gcc meson ninja-build pkg-config
        libmount-dev libblkid-dev libnl-3-dev libnl-route-3-dev libcap-dev libseccomp-dev libnftables-dev libsystemd-dev check
        # the store's transfer verbs: tar and compression, HTTP(S), SHA-256; gpgv checks signatures
        libarchive-dev libcurl4-openssl-dev libssl-dev gpgv
        # test-transfer: ACLs to carry, a throwaway signing key
        acl gnupg
        # guests and tests
        debootstrap busybox-static util-linux fdisk squashfs-tools erofs-utils e2fsprogs tmux iproute2 procps nftables clang-format
        # the image store (test-store.sh): ACLs and xattrs of the copies
        acl attr
        # create (Debian guests; debootstrap is the fallback)
        mmdebstrap
        # images (test-image-debian.sh, test-image-parts.sh, bench-image.sh): systemd-repart and
        # systemd-dissect, more filesystems (dosfstools: vfat ESPs)
        systemd xfsprogs btrfs-progs dosfstools
        # nspawnlite inside another container (test-nested-lxc.sh)
        lxc
        # the man pages (man/*.scd) and their test (man --warnings)
        scdoc man-db
        # the yardstick
        systemd-container
        # shell completion (test-completion.sh), the Debian package (test-package.sh)
        bash-completion zsh dpkg-dev debhelper lintian
)

[ "$(id -u)" = 0 ] || { echo "$0: run as root (apt-get, namespaces, cgroups)." >&2; exit 1; }

missing=()
for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
        echo "Installing: ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# test-package.sh installs man-db into an offline minbase guest (to run `man nspawnlite` there): the
# .debs it needs beyond minbase, fetched once into the test cache.
MANDB_DEBS=${NSPAWNLITE_GUEST_CACHE:-/var/cache/nspawnlite-tests}/debs/man-db
if [ ! -f "$MANDB_DEBS/.complete" ]; then
        tmp=$(mktemp -d)
        chmod 0755 "$tmp" # apt-get download runs as _apt
        if (cd "$tmp" && apt-get download -qq man-db groff-base bsdextrautils libgdbm6 libpipeline1 libuchardet0 \
                >/dev/null 2>&1); then
                mkdir -p "${MANDB_DEBS%/*}" && rm -rf "$MANDB_DEBS" && mv "$tmp" "$MANDB_DEBS" && touch "$MANDB_DEBS/.complete"
        else
                echo "$0: warning: cannot fetch man-db's packages for test-package.sh (apt-get download)" >&2
                rm -rf "$tmp"
        fi
fi

cd "$TOP"
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
echo "Built $TOP/build/nspawnlite" >&2
