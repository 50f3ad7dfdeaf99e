#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fetch-kernel.sh OUTDIR [SERIES]
#
# Provide a guest kernel and the headers to build virtio_vssd.ko against,
# for one of the two kernel series the driver supports:
#
#   6.12  Debian 13 (trixie)'s kernel (the default). Image and headers
#         come through the private trixie apt setup (scripts/lib/apt-trixie.sh);
#         nothing is installed on the host: the headers are unpacked into
#         the trixie build root of scripts/trixie-root.sh (gcc-14; Debian
#         12's gcc-12 cannot build against them), where
#         scripts/kbuild-env.sh runs the module builds.
#   6.1   Debian 12 (bookworm)'s kernel; the headers are installed on the
#         host through the system's apt.
#
# Each is Debian's current packaged kernel of its release, whose ABI (the
# NN of 6.1.0-NN-amd64, the 6.12.NN+deb13 of 6.12) is resolved from the
# linux-image-amd64 metapackage at run time, so the script follows
# security updates instead of naming a kernel that has left the archive.
# Image and headers always come from the same ABI.
#
# Writes:
#   OUTDIR/vmlinuz       the kernel image
#   OUTDIR/series        the series, 6.12 or 6.1
#   OUTDIR/kver          its release string, e.g. 6.12.117+deb13-amd64
#   OUTDIR/kdir          the kbuild directory of the matching headers (a
#                        path inside OUTDIR/kroot when that is set)
#   OUTDIR/kroot         the build root the module is built in, empty for
#                        the host (see scripts/kbuild-env.sh)
#   OUTDIR/modules-dir   the extracted lib/modules/KVER of the image package
#
# Downloads go to $VSSD_CACHE/dl, the extracted package to
# $VSSD_CACHE/kernel-KVER. Idempotent: a second run only checks.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 OUTDIR [6.12|6.1]" >&2
	exit 2
fi
out=$1
series=${2:-6.12}
top=$(cd "$(dirname "$0")/.." && pwd)
VSSD_CACHE=${VSSD_CACHE:-/var/tmp/vssd-cache}
cache=$VSSD_CACHE
dl=$cache/dl

die() {
	echo "fetch-kernel: $*" >&2
	exit 1
}

case $series in
6.12)
	# shellcheck source=lib/apt-trixie.sh
	. "$top/scripts/lib/apt-trixie.sh"
	apt_trixie_ready
	APT_GET=apt_trixie
	APT_CACHE=apt_trixie_cache
	;;
6.1)
	APT_GET=apt-get
	APT_CACHE=apt-cache
	;;
*) die "unknown kernel series $series (6.12 or 6.1)" ;;
esac

# linux-image-amd64 depends on exactly one linux-image-<ABI>-amd64.
resolve_kver() {
	$APT_CACHE depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*-amd64\)$/\1/p' |
		head -n1
}

kver=$(resolve_kver)
if [ -z "$kver" ]; then
	# The package lists may never have been fetched on a fresh machine.
	if [ "$series" = 6.12 ]; then
		apt_trixie_update
	else
		apt-get update -qq
	fi
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
	(cd "$dl" && $APT_GET download -q "$image_pkg") ||
		die "apt-get download $image_pkg failed"
	deb=$(ls "$dl"/"${image_pkg}"_*_amd64.deb | sort -V | tail -n1)
fi

# 2. The headers: for 6.1 installed through apt (they pull the -common
#    part and kbuild); for 6.12 unpacked into the trixie build root with
#    the -common part and kbuild they depend on (same version).
kroot=""
if [ "$series" = 6.12 ]; then
	bash "$top/scripts/trixie-root.sh"
	kroot=$cache/trixie-root
	if [ ! -f "$kroot/usr/src/$headers_pkg/Module.symvers" ]; then
		parts=$($APT_CACHE depends "$headers_pkg" 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-headers-[^ ]*-common\|linux-kbuild-[^ ]*\)$/\1/p')
		[ "$(echo "$parts" | wc -w)" = 2 ] ||
			die "cannot resolve the -common and kbuild packages of $headers_pkg"
		for p in "$headers_pkg" $parts; do
			hdeb=$(ls "$dl"/"${p}"_*.deb 2>/dev/null | sort -V | tail -n1 || true)
			if [ -z "$hdeb" ]; then
				echo "fetch-kernel: downloading $p"
				(cd "$dl" && $APT_GET download -q "$p") ||
					die "apt-get download $p failed"
				hdeb=$(ls "$dl"/"${p}"_*.deb | sort -V | tail -n1)
			fi
			# the -amd64 part last: its Module.symvers marks completion
			if [ "$p" = "$headers_pkg" ]; then
				last=$hdeb
			else
				dpkg -x "$hdeb" "$kroot"
			fi
		done
		dpkg -x "$last" "$kroot"
	fi
elif ! dpkg-query -W -f='${Status}\n' "$headers_pkg" 2>/dev/null |
	grep -q "install ok installed"; then
	echo "fetch-kernel: installing $headers_pkg"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "$headers_pkg" ||
		die "apt-get install $headers_pkg failed"
fi

# 3. The image package, extracted once. Extract into a temporary folder and
#    rename it so that an interrupted run never leaves a half tree behind.
#    Trixie's package has its modules under usr/lib (merged /usr).
kimg=$cache/kernel-$kver
kmods=$kimg/lib/modules/$kver
[ "$series" = 6.1 ] || kmods=$kimg/usr/lib/modules/$kver
if [ ! -f "$kimg/boot/vmlinuz-$kver" ] || [ ! -d "$kmods" ]; then
	echo "fetch-kernel: extracting $(basename "$deb")"
	rm -rf "$kimg" "$kimg.tmp"
	dpkg -x "$deb" "$kimg.tmp"
	mv "$kimg.tmp" "$kimg"
fi
[ -f "$kimg/boot/vmlinuz-$kver" ] || die "no boot/vmlinuz-$kver in $deb"

# 4. The kbuild directory of the headers.
kdir=""
for d in "/usr/src/linux-headers-$kver" "/lib/modules/$kver/build"; do
	if [ -f "$kroot$d/Makefile" ] && [ -f "$kroot$d/Module.symvers" ]; then
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
if ! cmp -s "$kimg/boot/vmlinuz-$kver" "$out/vmlinuz"; then
	cp "$kimg/boot/vmlinuz-$kver" "$out/vmlinuz.tmp"
	mv "$out/vmlinuz.tmp" "$out/vmlinuz"
fi
write_if_changed "$out/series" "$series"
write_if_changed "$out/kver" "$kver"
write_if_changed "$out/kdir" "$kdir"
write_if_changed "$out/kroot" "$kroot"
write_if_changed "$out/modules-dir" "$kmods"

echo "fetch-kernel: $kver (kdir $kdir${kroot:+ in $kroot})"
