#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build QEMU (Debian's 7.2 source + Debian's patches) with the vssd device.
#
#   bash scripts/build-qemu.sh OUTDIR [--qtest]
#
# OUTDIR/qemu-system-x86_64   the emulator (a copy, not a link)
# OUTDIR/qemu-build-dir       the path of the QEMU build directory
# OUTDIR/qos-test             with --qtest: the qos test runner
#
# Environment:
#   VSSD_CACHE  cache folder (default /var/tmp/vssd-cache)
#   QEMU_SRC    an unpacked QEMU source tree to use instead of Debian's
#
# Layout under $VSSD_CACHE:
#   dl/                    apt-get source --download-only qemu
#   qemu-src-pristine/     dpkg-source -x of it (Debian patches applied)
#   qemu-work-KEY/         pristine + qemu/patches/*.patch, overlaid with
#                          qemu/ and tests/qtest/; KEY hashes the source
#                          identity, the patches, the device config and the
#                          configure options, so a change to any of them
#                          starts a fresh tree (the last old one is kept).
#   qemu-work-KEY/build/   the meson/ninja build directory
#   ccache/                compiler cache shared by the trees: a fresh tree
#                          recompiles only what its patches changed
#
# The overlay is copied with rsync --checksum: unchanged files keep their
# mtimes and ninja rebuilds only what really changed.

set -euo pipefail

usage() {
	echo "usage: $0 OUTDIR [--qtest]" >&2
	exit 2
}

[ $# -ge 1 ] || usage
OUTDIR=$1
shift
WANT_QTEST=0
for arg in "$@"; do
	case $arg in
	--qtest) WANT_QTEST=1 ;;
	*) usage ;;
	esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VSSD_CACHE=${VSSD_CACHE:-/var/tmp/vssd-cache}
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
DEVICES_MAK=qemu/configs/devices/x86_64-softmmu/$DEVICES.mak
UAPI_HEADER=include/uapi/linux/virtio_vssd.h
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
exec 9>"$VSSD_CACHE/qemu.lock"
if ! flock -n 9; then
	echo "build-qemu: waiting for another build to finish"
	flock 9
fi

# --- pristine source -------------------------------------------------------

fetch_pristine() {
	local dl=$VSSD_CACHE/dl dst=$VSSD_CACHE/qemu-src-pristine dsc
	[ -f "$dst/VERSION" ] && return 0
	mkdir -p "$dl"
	dsc=$(ls "$dl"/qemu_*.dsc 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -z "$dsc" ]; then
		echo "build-qemu: downloading Debian's qemu source"
		(cd "$dl" && apt-get source --download-only qemu) ||
			{ echo "build-qemu: apt-get source failed (deb-src enabled? run sh scripts/deps.sh)" >&2; exit 1; }
		dsc=$(ls "$dl"/qemu_*.dsc | sort -V | tail -n 1)
	fi
	echo "build-qemu: unpacking $(basename "$dsc")"
	rm -rf "$dst.tmp"
	dpkg-source --no-check --no-copy -x "$dsc" "$dst.tmp" >/dev/null
	mv "$dst.tmp" "$dst"
	step "fetch + unpack source"
}

if [ -n "${QEMU_SRC:-}" ]; then
	PRISTINE=$(cd "$QEMU_SRC" && pwd)
	[ -f "$PRISTINE/VERSION" ] ||
		{ echo "build-qemu: QEMU_SRC=$QEMU_SRC is not a QEMU source tree" >&2; exit 1; }
else
	fetch_pristine
	PRISTINE=$VSSD_CACHE/qemu-src-pristine
fi
case $(cat "$PRISTINE/VERSION") in
7.2.*) ;;
*) echo "build-qemu: warning: QEMU $(cat "$PRISTINE/VERSION") is not the 7.2 series the device is written for" >&2 ;;
esac

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
	for p in "$ROOT"/qemu/patches/*.patch; do
		[ -e "$p" ] || continue
		echo "== $(basename "$p")"
		cat "$p"
	done
	echo "== devices"
	cat "$ROOT/$DEVICES_MAK"
	echo "== configure"
	echo "${CONFIGURE_ARGS[@]}"
} | sha256sum | cut -c1-16)
WORK=$VSSD_CACHE/qemu-work-$KEY
BUILD=$WORK/build
# The trees differ only in their path: ccache hashes paths relative to it.
export CCACHE_DIR=$VSSD_CACHE/ccache CCACHE_BASEDIR=$WORK CCACHE_NOHASHDIR=1

if [ ! -d "$WORK" ]; then
	echo "build-qemu: new work tree $WORK"
	rm -rf "$WORK.tmp"
	cp -a "$PRISTINE" "$WORK.tmp"
	for p in "$ROOT"/qemu/patches/*.patch; do
		[ -e "$p" ] || continue
		echo "build-qemu: applying $(basename "$p")"
		patch -d "$WORK.tmp" -p1 --quiet --forward < "$p"
	done
	mv "$WORK.tmp" "$WORK"
	step "work tree"
fi
touch "$WORK"

# Drop the least recently used old trees (we hold the lock: nobody builds).
for old in $(ls -dt "$VSSD_CACHE"/qemu-work-* | tail -n +$((KEEP_OLD_TREES + 2))); do
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
	if ! (cd "$BUILD" && ../configure --cc="ccache cc" --cxx="ccache c++" \
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
fi
echo "build-qemu: ninja -j$JOBS ${targets[*]} (a full build takes ~5 min on 2 cores)"
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
fi
echo "$BUILD" > "$OUTDIR/qemu-build-dir"
echo "build-qemu: $OUTDIR/qemu-system-x86_64 (build dir $BUILD)"
