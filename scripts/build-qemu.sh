#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build QEMU (Debian's source package + Debian's patches) with the vssd
# device, for one of the QEMU versions the device supports:
#
#   QEMU_VERSION=10.0  Debian 13 (trixie)'s qemu 10.0 source (the default)
#   QEMU_VERSION=7.2   Debian 12 (bookworm)'s qemu 7.2 source
#
#   bash scripts/build-qemu.sh OUTDIR [--qtest] [--sanitize]
#
# OUTDIR/qemu-system-x86_64   the emulator (a copy, not a link)
# OUTDIR/qemu-build-dir       the path of the QEMU build directory
# OUTDIR/qemu-version         the QEMU version built (e.g. 10.0.13)
# OUTDIR/qos-test             with --qtest: the qos test runner, and QEMU's
# OUTDIR/device-introspect-test, qom-test, qmp-cmd-test: generic qtests
#
# --sanitize builds with clang, AddressSanitizer, UndefinedBehaviorSanitizer
# and libFuzzer instrumentation (--enable-asan --enable-ubsan
# --enable-fuzzing), also OUTDIR/qemu-fuzz-x86_64 (QEMU's generic-fuzz),
# in trees of their own (qemu-V/sanitize/), so that they and the plain
# build never evict each other (make soak).
#
# Environment:
#   QEMU_VERSION  7.2 or 10.0 (default: VSSD_DEFAULT_QEMU_VERSION below)
#   VSSD_CACHE    cache folder (default /var/tmp/vssd-cache)
#   QEMU_SRC      an unpacked QEMU source tree to use instead of Debian's;
#                 its VERSION file (7.2.x or 10.0.x) picks the patches
#   DEBIAN_MIRROR the Debian archive for trixie (default: the first URI of
#                 /etc/apt/sources.list.d/debian.sources or sources.list)
#
# How each version's source is fetched:
#   7.2   apt-get source --download-only qemu with the system's own apt
#         lists (Debian 12 with deb-src, which scripts/deps.sh enables).
#   10.0  the system's apt configuration is left alone: a private apt
#         setup under $VSSD_CACHE/apt-trixie/ (scripts/lib/apt-trixie.sh;
#         its own sources.list with "deb" and "deb-src" lines for trixie
#         on the machine's mirror, signed by the debian-archive-keyring
#         that Debian 12 already has, its own lists and archive cache,
#         passed with -o Dir::Etc::...) runs
#         apt-get update, apt-get source --download-only qemu (10.0.x+ds:
#         its python/wheels/ is empty, Debian strips the bundled meson) and
#         apt-get download meson (trixie's 1.7; QEMU 10 needs >= 1.5 and
#         Debian 12 has 1.0). The meson .deb is not installed: dpkg -x
#         unpacks it into the version's cache folder and PYTHONPATH points
#         configure's pyvenv (created with system site packages) and ninja's
#         meson re-runs at it, so the system's meson 1.0 stays what it is.
#
# Layout under $VSSD_CACHE (one set of folders per QEMU version V):
#   apt-trixie/            the private apt setup for Debian 13 (10.0 only; also
#                          the 6.12 guest kernel, scripts/fetch-kernel.sh)
#   qemu-V/dl/             the downloaded source package (and meson .deb)
#   qemu-V/meson/          trixie's meson, unpacked (10.0 only)
#   qemu-V/src-pristine/   dpkg-source -x of it (Debian patches applied)
#   qemu-V/work-KEY/       pristine + qemu/patches/V/*.patch, overlaid with
#                          qemu/ and tests/qtest/; KEY hashes the source
#                          identity, the patches, the device config and the
#                          configure options, so a change to any of them
#                          starts a fresh tree (the last old one of the same
#                          version is kept).
#   qemu-V/work-KEY/build/ the meson/ninja build directory
#   ccache/                compiler cache shared by all trees: a fresh tree
#                          recompiles only what its patches changed
#   qemu.lock              one QEMU build at a time, whatever the version
#
# The overlay is copied with rsync --checksum: unchanged files keep their
# mtimes and ninja rebuilds only what really changed. The device code is
# the same for every version, written against QEMU 10's API;
# qemu/hw/block/vssd/vssd-compat.h maps it onto 7.2. Only the patches to
# QEMU's own files differ (qemu/patches/7.2/, qemu/patches/10.0/).

set -euo pipefail

usage() {
	echo "usage: $0 OUTDIR [--qtest] [--sanitize]" >&2
	exit 2
}

[ $# -ge 1 ] || usage
OUTDIR=$1
shift
WANT_QTEST=0
WANT_SANITIZE=0
for arg in "$@"; do
	case $arg in
	--qtest) WANT_QTEST=1 ;;
	--sanitize) WANT_SANITIZE=1 ;;
	*) usage ;;
	esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VSSD_CACHE=${VSSD_CACHE:-/var/tmp/vssd-cache}
# The version built when QEMU_VERSION is not given.
VSSD_DEFAULT_QEMU_VERSION=10.0
QEMU_VERSION=${QEMU_VERSION:-$VSSD_DEFAULT_QEMU_VERSION}
case $QEMU_VERSION in
7.2 | 10.0) ;;
*) echo "build-qemu: QEMU_VERSION=$QEMU_VERSION: 7.2 or 10.0" >&2; exit 2 ;;
esac
DEVICES=vssd
# Firmware from Debian's seabios, qemu-system-data and ipxe-qemu, so the
# binary needs no -L.
FIRMWARE_PATH=/usr/share/seabios:/usr/share/qemu:/usr/lib/ipxe/qemu
CONFIGURE_ARGS=(
	--target-list=x86_64-softmmu
	--without-default-features
	--without-default-devices
	--with-devices-x86_64=$DEVICES
	--enable-kvm
	--disable-docs
	--disable-werror
	--disable-install-blobs
	--firmwarepath=$FIRMWARE_PATH
)
CC_ARGS=(--cc="ccache cc" --cxx="ccache c++")
if [ $WANT_SANITIZE = 1 ]; then
	CONFIGURE_ARGS+=(--enable-asan --enable-ubsan --enable-fuzzing)
	CC_ARGS=(--cc="ccache clang" --cxx="ccache clang++")
fi
DEVICES_MAK=qemu/configs/devices/x86_64-softmmu/$DEVICES.mak
UAPI_HEADER=include/uapi/linux/virtio_vssd.h
# QEMU's own qtests built (and copied to OUTDIR) with --qtest.
GENERIC_QTESTS=(device-introspect-test qom-test qmp-cmd-test)
# Work trees kept besides the current one (each holds a full build).
KEEP_OLD_TREES=1
JOBS=$(nproc)

mkdir -p "$VSSD_CACHE" "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

T_START=$(date +%s)
T_LAST=$T_START
step() {
	local now
	now=$(date +%s)
	printf 'build-qemu: %-34s %4ss (total %ss)\n' "$1" \
		$((now - T_LAST)) $((now - T_START))
	T_LAST=$now
}

for tool in rsync flock patch ninja meson ccache; do
	command -v "$tool" >/dev/null ||
		{ echo "build-qemu: $tool missing: run sh scripts/deps.sh" >&2; exit 1; }
done

# One build at a time per cache; the lock is released when we exit.
# (The sanitizer trees are apart: their long build does not hold up the
# plain one.)
if [ $WANT_SANITIZE = 1 ]; then
	exec 9>"$VSSD_CACHE/qemu-sanitize.lock"
else
	exec 9>"$VSSD_CACHE/qemu.lock"
fi
if ! flock -n 9; then
	echo "build-qemu: waiting for another build to finish"
	flock 9
fi

# The layout before there was one set of folders per version (7.2 only):
# its source moves to qemu-7.2/, its work trees go (dl/ itself also holds
# the guest kernel).
if [ -f "$VSSD_CACHE/qemu-src-pristine/VERSION" ] &&
	grep -q '^7\.2\.' "$VSSD_CACHE/qemu-src-pristine/VERSION" &&
	[ ! -e "$VSSD_CACHE/qemu-7.2/src-pristine" ]; then
	mkdir -p "$VSSD_CACHE/qemu-7.2/dl"
	mv "$VSSD_CACHE"/dl/qemu_7.2* "$VSSD_CACHE/qemu-7.2/dl/" 2>/dev/null || true
	mv "$VSSD_CACHE/qemu-src-pristine" "$VSSD_CACHE/qemu-7.2/src-pristine"
	echo "build-qemu: moved the 7.2 source to $VSSD_CACHE/qemu-7.2/ (new cache layout)"
fi
for old in "$VSSD_CACHE"/qemu-work-* "$VSSD_CACHE/qemu-src-pristine"; do
	[ -e "$old" ] || continue
	echo "build-qemu: removing $old (old cache layout)"
	rm -rf "$old"
done

VCACHE=$VSSD_CACHE/qemu-$QEMU_VERSION

# --- pristine source -------------------------------------------------------

# The private apt setup for Debian 13 (see the header): apt_trixie ARGS...
# shellcheck source=lib/apt-trixie.sh
. "$ROOT/scripts/lib/apt-trixie.sh"

fetch_pristine() {
	local dl=$VCACHE/dl dst=$VCACHE/src-pristine dsc
	[ -f "$dst/VERSION" ] && return 0
	mkdir -p "$dl"
	dsc=$(ls "$dl"/qemu_*.dsc 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -z "$dsc" ]; then
		echo "build-qemu: downloading Debian's qemu $QEMU_VERSION source"
		case $QEMU_VERSION in
		7.2)
			(cd "$dl" && apt-get source --download-only qemu) ||
				{ echo "build-qemu: apt-get source failed (deb-src enabled? run sh scripts/deps.sh)" >&2; exit 1; }
			;;
		10.0)
			apt_trixie_update
			(cd "$dl" && apt_trixie source --download-only qemu) ||
				{ echo "build-qemu: apt-get source qemu from trixie failed" >&2; exit 1; }
			;;
		esac
		dsc=$(ls "$dl"/qemu_*.dsc | sort -V | tail -n 1)
	fi
	echo "build-qemu: unpacking $(basename "$dsc")"
	rm -rf "$dst.tmp"
	dpkg-source --no-check --no-copy -x "$dsc" "$dst.tmp" >/dev/null
	mv "$dst.tmp" "$dst"
	step "fetch + unpack source"
}

# trixie's meson, unpacked (not installed) for QEMU 10.
MESON_MIN=1.5
fetch_meson() {
	local dst=$VCACHE/meson deb
	if [ ! -d "$dst/usr/lib/python3/dist-packages/mesonbuild" ]; then
		mkdir -p "$VCACHE/dl"
		deb=$(ls "$VCACHE"/dl/meson_*_all.deb 2>/dev/null | sort -V | tail -n 1 || true)
		if [ -z "$deb" ]; then
			[ -f "$APT_TRIXIE/sources.list" ] || apt_trixie_update
			(cd "$VCACHE/dl" && apt_trixie download meson) ||
				{ apt_trixie_update && (cd "$VCACHE/dl" && apt_trixie download meson); } ||
				{ echo "build-qemu: apt-get download meson from trixie failed" >&2; exit 1; }
			deb=$(ls "$VCACHE"/dl/meson_*_all.deb | sort -V | tail -n 1)
		fi
		rm -rf "$dst.tmp"
		dpkg-deb -x "$deb" "$dst.tmp"
		mv "$dst.tmp" "$dst"
		echo "build-qemu: $(basename "$deb") unpacked in $dst"
	fi
	export PYTHONPATH=$dst/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}
	export PATH=$dst/usr/bin:$PATH
	local v
	v=$(meson --version)
	printf '%s\n%s\n' "$MESON_MIN" "$v" | sort -V -C ||
		{ echo "build-qemu: meson $v from $dst is older than $MESON_MIN" >&2; exit 1; }
}

if [ -n "${QEMU_SRC:-}" ]; then
	PRISTINE=$(cd "$QEMU_SRC" && pwd)
	[ -f "$PRISTINE/VERSION" ] ||
		{ echo "build-qemu: QEMU_SRC=$QEMU_SRC is not a QEMU source tree" >&2; exit 1; }
	case $(cat "$PRISTINE/VERSION") in
	7.2.*) QEMU_VERSION=7.2 ;;
	10.0.*) QEMU_VERSION=10.0 ;;
	*) echo "build-qemu: QEMU_SRC is QEMU $(cat "$PRISTINE/VERSION"): the device supports 7.2 and 10.0" >&2; exit 1 ;;
	esac
	VCACHE=$VSSD_CACHE/qemu-$QEMU_VERSION
else
	fetch_pristine
	PRISTINE=$VCACHE/src-pristine
	case $(cat "$PRISTINE/VERSION") in
	"$QEMU_VERSION".*) ;;
	*) echo "build-qemu: $PRISTINE is QEMU $(cat "$PRISTINE/VERSION"), not $QEMU_VERSION" >&2; exit 1 ;;
	esac
fi
PATCHES=$ROOT/qemu/patches/$QEMU_VERSION
if [ "$QEMU_VERSION" = 10.0 ]; then
	fetch_meson
fi
echo "build-qemu: QEMU $(cat "$PRISTINE/VERSION") from $PRISTINE"

# --- work tree -------------------------------------------------------------

source_identity() {
	echo "$PRISTINE"
	cat "$PRISTINE/VERSION"
	if [ -f "$PRISTINE/debian/changelog" ]; then
		head -n 1 "$PRISTINE/debian/changelog"
	fi
}

KEY=$({
	source_identity
	for p in "$PATCHES"/*.patch; do
		[ -e "$p" ] || continue
		echo "== $(basename "$p")"
		cat "$p"
	done
	echo "== devices"
	cat "$ROOT/$DEVICES_MAK"
	echo "== configure"
	echo "${CONFIGURE_ARGS[@]}"
} | sha256sum | cut -c1-16)
# the trees of the sanitizer build live apart (see --sanitize)
TREES=$VCACHE
[ $WANT_SANITIZE = 0 ] || TREES=$VCACHE/sanitize
mkdir -p "$TREES"
WORK=$TREES/work-$KEY
BUILD=$WORK/build
# The trees differ only in their path: ccache hashes paths relative to it.
export CCACHE_DIR=$VSSD_CACHE/ccache CCACHE_BASEDIR=$WORK CCACHE_NOHASHDIR=1

if [ ! -d "$WORK" ]; then
	echo "build-qemu: new work tree $WORK"
	rm -rf "$WORK.tmp"
	cp -a "$PRISTINE" "$WORK.tmp"
	for p in "$PATCHES"/*.patch; do
		[ -e "$p" ] || continue
		echo "build-qemu: applying $QEMU_VERSION/$(basename "$p")"
		patch -d "$WORK.tmp" -p1 --quiet --forward < "$p"
	done
	mv "$WORK.tmp" "$WORK"
	step "work tree"
fi
touch "$WORK"

# Drop the least recently used old trees of this version (we hold the lock:
# nobody builds).
for old in $(ls -dt "$TREES"/work-* | tail -n +$((KEEP_OLD_TREES + 2))); do
	case $old in
	"$WORK" | *.tmp) continue ;;
	esac
	echo "build-qemu: removing old work tree $old"
	rm -rf "$old"
done

# --- overlay ---------------------------------------------------------------

# Write file $1 from stdin, only when the content differs (keeps the mtime).
write_if_changed() {
	local tmp
	tmp=$(mktemp "$1.XXXXXX")
	cat > "$tmp"
	if cmp -s "$tmp" "$1"; then
		rm -f "$tmp"
	else
		chmod 644 "$tmp"
		mv "$tmp" "$1"
		echo "build-qemu: updated ${1#"$WORK"/}"
	fi
}

# The device directory is wholly ours: mirror it, deleting stale files.
rsync -rc --delete "$ROOT/qemu/hw/block/vssd/" "$WORK/hw/block/vssd/"
# The rest of qemu/ lands at the same path in the tree: the device's public
# header include/hw/virtio/virtio-vssd.h, qapi/vssd.json, configs/.
rsync -rc --exclude=/patches/ --exclude=/hw/block/vssd/ "$ROOT/qemu/" "$WORK/"
if [ -d "$ROOT/tests/qtest" ]; then
	rsync -rc "$ROOT/tests/qtest/" "$WORK/tests/qtest/"
fi
# The wire-protocol header, converted the way QEMU's
# scripts/update-linux-headers.sh converts every standard header: fixed-width
# C types instead of the kernel's __u/__le types, QEMU's own linux/types.h.
sed -e 's/\b__u\([0-9][0-9]*\)\b/uint\1_t/g' \
	-e 's/\b__s\([0-9][0-9]*\)\b/int\1_t/g' \
	-e 's/\b__le\([0-9][0-9]*\)\b/uint\1_t/g' \
	-e 's/\b__be\([0-9][0-9]*\)\b/uint\1_t/g' \
	-e 's/<linux\/\([^>]*\)>/"standard-headers\/linux\/\1"/' \
	"$ROOT/$UAPI_HEADER" |
	write_if_changed "$WORK/include/standard-headers/linux/virtio_vssd.h"
step "overlay"

# --- configure -------------------------------------------------------------

if [ ! -f "$BUILD/build.ninja" ]; then
	rm -rf "$BUILD"
	mkdir -p "$BUILD"
	echo "build-qemu: configuring in $BUILD"
	if ! (cd "$BUILD" && ../configure "${CC_ARGS[@]}" \
		"${CONFIGURE_ARGS[@]}" > "$BUILD/configure.log" 2>&1); then
		tail -n 30 "$BUILD/configure.log" >&2
		rm -f "$BUILD/build.ninja"
		echo "build-qemu: configure failed, see $BUILD/configure.log" >&2
		exit 1
	fi
	step "configure"
fi

# --- build -----------------------------------------------------------------

targets=(qemu-system-x86_64)
if [ $WANT_QTEST = 1 ]; then
	targets+=(tests/qtest/qos-test)
	for t in "${GENERIC_QTESTS[@]}"; do
		targets+=("tests/qtest/$t")
	done
fi
[ $WANT_SANITIZE = 0 ] || targets+=(qemu-fuzz-x86_64)
echo "build-qemu: QEMU $QEMU_VERSION: ninja -j$JOBS ${targets[*]} (a full build on 2 cores: ~5 min for 7.2, ~9 min for 10.0 with the qtests)"
# Progress lines are dropped; warnings and errors stay.
if ! ninja -C "$BUILD" -j"$JOBS" "${targets[@]}" 2>&1 |
	{ grep -v -e '^\[[0-9]*/[0-9]*\] ' -e '^ninja: Entering directory' || true; }; then
	echo "build-qemu: ninja failed" >&2
	exit 1
fi
step "ninja ${targets[*]}"

install_copy() {
	cp "$1" "$2.tmp"
	chmod 755 "$2.tmp"
	mv "$2.tmp" "$2"
}
install_copy "$BUILD/qemu-system-x86_64" "$OUTDIR/qemu-system-x86_64"
if [ $WANT_QTEST = 1 ]; then
	install_copy "$BUILD/tests/qtest/qos-test" "$OUTDIR/qos-test"
	for t in "${GENERIC_QTESTS[@]}"; do
		install_copy "$BUILD/tests/qtest/$t" "$OUTDIR/$t"
	done
fi
[ $WANT_SANITIZE = 0 ] ||
	install_copy "$BUILD/qemu-fuzz-x86_64" "$OUTDIR/qemu-fuzz-x86_64"
echo "$BUILD" > "$OUTDIR/qemu-build-dir"
cat "$PRISTINE/VERSION" > "$OUTDIR/qemu-version"
echo "build-qemu: $OUTDIR/qemu-system-x86_64 (QEMU $(cat "$PRISTINE/VERSION"), build dir $BUILD)"
