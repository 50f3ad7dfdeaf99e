#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# trixie-root.sh
#
# Provide $VSSD_CACHE/trixie-root: a minimal Debian 13 (trixie) root made
# with debootstrap, with the tools that build out-of-tree modules for
# trixie's 6.12 kernel (gcc-14, make, pahole, dkms, sparse, kmod, xz). Debian 12's
# gcc-12 cannot build against trixie's headers (they were configured with
# gcc-14's flags, and their kbuild programs need trixie's glibc), so the
# 6.12 module, its static checks and its DKMS build run in this root
# (scripts/kbuild-env.sh). Nothing of trixie is installed on the host.
#
# The packages come from the machine's Debian mirror (scripts/lib/
# apt-trixie.sh: $DEBIAN_MIRROR or the system's sources), the .debs are
# kept in $VSSD_CACHE/trixie-debs. The root is built in a temporary
# folder and renamed when complete: an interrupted run leaves no half
# root. Idempotent: a second run only checks the stamp file.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
VSSD_CACHE=${VSSD_CACHE:-/var/tmp/vssd-cache}
# shellcheck source=lib/apt-trixie.sh
. "$top/scripts/lib/apt-trixie.sh"

root=$VSSD_CACHE/trixie-root
debs=$VSSD_CACHE/trixie-debs
# Changing this list rebuilds the root (the stamp records it).
PKGS="gcc-14,make,libc6-dev,libelf1t64,libssl3t64,zlib1g,pahole,kmod,xz-utils,dkms,sparse,patch"
stamp="packages: $PKGS"

die() {
	echo "trixie-root: $*" >&2
	exit 1
}

if [ "$(cat "$root/.vssd-root" 2>/dev/null || true)" = "$stamp" ]; then
	exit 0
fi
command -v debootstrap >/dev/null || die "debootstrap missing (run: sh scripts/deps.sh)"

mirror=$(debian_mirror)
echo "trixie-root: debootstrap trixie into $root ($mirror; a few minutes, once)"
rm -rf "$root.tmp"
mkdir -p "$debs" "$root.tmp/var/cache/apt/archives"
# Downloaded packages of an earlier (interrupted) run are reused.
cp "$debs"/*.deb "$root.tmp/var/cache/apt/archives/" 2>/dev/null || true
debootstrap --variant=minbase --include="$PKGS" \
	--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
	trixie "$root.tmp" "$mirror" > "$VSSD_CACHE/trixie-root.log" 2>&1 || {
	tail -n 20 "$VSSD_CACHE/trixie-root.log" >&2
	cp "$root.tmp"/var/cache/apt/archives/*.deb "$debs/" 2>/dev/null || true
	die "debootstrap failed (log: $VSSD_CACHE/trixie-root.log)"
}
mv "$root.tmp"/var/cache/apt/archives/*.deb "$debs/" 2>/dev/null || true
chroot "$root.tmp" gcc-14 --version > /dev/null || die "gcc-14 does not run in the root"
# kbuild calls "gcc"; trixie's gcc package (the link) is not needed.
[ -e "$root.tmp/usr/bin/gcc" ] || ln -s gcc-14 "$root.tmp/usr/bin/gcc"
printf '%s\n' "$stamp" > "$root.tmp/.vssd-root"
rm -rf "$root"
mv "$root.tmp" "$root"
echo "trixie-root: $root ready"
