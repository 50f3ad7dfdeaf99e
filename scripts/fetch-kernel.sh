#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fetch-kernel.sh OUTDIR
#
# Provide the guest kernel and the headers to build virtio_vssd.ko against:
# Debian's current packaged kernel, whose ABI (the NN of 6.1.0-NN-amd64) is
# resolved from the linux-image-amd64 metapackage at run time, so the script
# follows security updates instead of naming a kernel that has left the
# archive. Image and headers always come from the same ABI.
#
# Writes:
#   OUTDIR/vmlinuz       the kernel image
#   OUTDIR/kver          its release string, e.g. 6.1.0-56-amd64
#   OUTDIR/kdir          the kbuild directory of the matching headers
#   OUTDIR/modules-dir   the extracted lib/modules/KVER of the image package
#
# Downloads go to $VSSD_CACHE/dl, the extracted package to
# $VSSD_CACHE/kernel-KVER. Idempotent: a second run only checks.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
out=$1
cache=${VSSD_CACHE:-/var/tmp/vssd-cache}
dl=$cache/dl

die() {
	echo "fetch-kernel: $*" >&2
	exit 1
}

# linux-image-amd64 depends on exactly one linux-image-<ABI>-amd64.
resolve_kver() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*-amd64\)$/\1/p' |
		head -n1
}

kver=$(resolve_kver)
if [ -z "$kver" ]; then
	# The package lists may never have been fetched on a fresh machine.
	apt-get update -qq
	kver=$(resolve_kver)
fi
[ -n "$kver" ] || die "cannot resolve the kernel ABI from linux-image-amd64"

image_pkg=linux-image-$kver
headers_pkg=linux-headers-$kver

# 1. The image package, downloaded once.
mkdir -p "$dl"
deb=$(ls "$dl"/"${image_pkg}"_*_amd64.deb 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$deb" ]; then
	echo "fetch-kernel: downloading $image_pkg"
	(cd "$dl" && apt-get download -q "$image_pkg") ||
		die "apt-get download $image_pkg failed"
	deb=$(ls "$dl"/"${image_pkg}"_*_amd64.deb | sort -V | tail -n1)
fi

# 2. The headers, installed through apt (they pull the -common part and kbuild).
if ! dpkg-query -W -f='${Status}\n' "$headers_pkg" 2>/dev/null |
	grep -q "install ok installed"; then
	echo "fetch-kernel: installing $headers_pkg"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "$headers_pkg" ||
		die "apt-get install $headers_pkg failed"
fi

# 3. The image package, extracted once. Extract into a temporary folder and
#    rename it so that an interrupted run never leaves a half tree behind.
kroot=$cache/kernel-$kver
if [ ! -f "$kroot/boot/vmlinuz-$kver" ] || [ ! -d "$kroot/lib/modules/$kver" ]; then
	echo "fetch-kernel: extracting $(basename "$deb")"
	rm -rf "$kroot" "$kroot.tmp"
	dpkg -x "$deb" "$kroot.tmp"
	mv "$kroot.tmp" "$kroot"
fi
[ -f "$kroot/boot/vmlinuz-$kver" ] || die "no boot/vmlinuz-$kver in $deb"

# 4. The kbuild directory of the headers.
kdir=""
for d in "/usr/src/linux-headers-$kver" "/lib/modules/$kver/build"; do
	if [ -f "$d/Makefile" ] && [ -f "$d/Module.symvers" ]; then
		kdir=$d
		break
	fi
done
[ -n "$kdir" ] || die "no kbuild tree for $kver (is $headers_pkg installed?)"

# 5. Outputs; files are rewritten only when they change, so make sees no
#    spurious updates.
mkdir -p "$out"
write_if_changed() {
	if [ "$(cat "$1" 2>/dev/null || true)" != "$2" ]; then
		printf '%s\n' "$2" > "$1"
	fi
}
if ! cmp -s "$kroot/boot/vmlinuz-$kver" "$out/vmlinuz"; then
	cp "$kroot/boot/vmlinuz-$kver" "$out/vmlinuz"
fi
write_if_changed "$out/kver" "$kver"
write_if_changed "$out/kdir" "$kdir"
write_if_changed "$out/modules-dir" "$kroot/lib/modules/$kver"

echo "fetch-kernel: $kver (kdir $kdir)"
