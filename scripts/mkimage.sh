#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# mkimage.sh OUTDIR
#
# Build the guest initramfs OUTDIR/initramfs.cpio.gz from installed Debian
# packages only (busybox-static, kmod, e2fsprogs, util-linux, dmsetup), the
# kernel that scripts/fetch-kernel.sh extracted into OUTDIR, our guest module
# guest-driver/virtio_vssd.ko and our static test programs (tests/guest/*.c).
#
# Inputs in OUTDIR (written by fetch-kernel.sh): kver, modules-dir.
# Outputs: OUTDIR/initramfs.cpio.gz, OUTDIR/image/ (the staged tree, kept
# for inspection), OUTDIR/image-bin/ (the compiled test programs).
#
# Environment:
#   VSSD_CACHE           cache folder (default /var/tmp/vssd-cache)
#   VSSD_EXTRA_MODULES   more kernel modules to put into the image
#
# Every run rebuilds the staged tree from scratch, so the result never
# depends on what an earlier run left behind; it takes a few seconds.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi

top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
cache=${VSSD_CACHE:-/var/tmp/vssd-cache}

die() {
	echo "mkimage: $*" >&2
	exit 1
}

[ -f "$out/kver" ] && [ -f "$out/modules-dir" ] ||
	die "$out/kver or $out/modules-dir missing: run scripts/fetch-kernel.sh $out first"
kver=$(cat "$out/kver")
kmods=$(cat "$out/modules-dir")
[ -d "$kmods/kernel" ] || die "no kernel modules in $kmods"
for t in /bin/busybox depmod modprobe modinfo cpio gzip gcc readelf ldd; do
	command -v "$t" >/dev/null || die "$t not found (run: sh scripts/deps.sh)"
done

# Kernel modules the guest loads, by name; their dependencies follow.
MODULES="virtio virtio_ring virtio_pci virtio_pci_legacy_dev
virtio_pci_modern_dev virtio_blk dm-mod dm-cache dm-cache-smq dm-zero
dm-flakey ext4 crc32c_generic libcrc32c loop virtio_balloon virtio_mem ${VSSD_EXTRA_MODULES:-}"

# Dynamically linked tools copied from their Debian packages, with the
# shared libraries they need. Busybox's shell runs its own applets ahead of
# $PATH, so tools whose name is also an applet must be called by full path
# (e.g. /usr/bin/unshare); mkfs.ext4, e2fsck and dmsetup are not applets.
#   image path          host command
TOOLS="
/sbin/mke2fs         mke2fs
/sbin/e2fsck         e2fsck
/sbin/tune2fs        tune2fs
/sbin/dumpe2fs       dumpe2fs
/sbin/dmsetup        dmsetup
/usr/bin/unshare     unshare
/usr/bin/nsenter     nsenter
/usr/bin/setpriv     setpriv
/sbin/blkdiscard     blkdiscard
/usr/sbin/runc       runc
/usr/sbin/pdata_tools pdata_tools
"

stage=$out/image
bindir=$out/image-bin
rm -rf "$stage"
mkdir -p "$stage" "$bindir"

# --- 1. busybox and its applet links -------------------------------------
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,mnt,root,test}
chmod 1777 "$stage/tmp"
# The kernel opens /dev/console for init before anything is mounted.
mknod -m 600 "$stage/dev/console" c 5 1
cp /bin/busybox "$stage/bin/busybox"
/bin/busybox --list-full | while read -r applet; do
	case "$applet" in
	bin/busybox | linuxrc) continue ;;
	bin/*) rel=busybox ;;
	sbin/*) rel=../bin/busybox ;;
	usr/*/*) rel=../../bin/busybox ;;
	*) die "unexpected applet path $applet" ;;
	esac
	ln -sf "$rel" "$stage/$applet"
done

# --- 2. dynamically linked tools and their libraries ----------------------
# Copy FILE (a host path) to the same path in the image, once.
copy_host_file() {
	local f=$1
	[ -e "$stage$f" ] && return 0
	mkdir -p "$stage$(dirname "$f")"
	cp -L "$f" "$stage$f"
}

# Copy the shared libraries (and the loader) an ELF file needs.
copy_libs() {
	local lib
	# ldd prints "name => /path (addr)" or "/path (addr)" for the loader.
	for lib in $(ldd "$1" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'); do
		copy_host_file "$lib"
	done
}

echo "$TOOLS" | while read -r dst src; do
	[ -n "$dst" ] || continue
	path=$(command -v "$src" || true)
	[ -n "$path" ] || die "$src not found (run: sh scripts/deps.sh)"
	mkdir -p "$stage$(dirname "$dst")"
	rm -f "$stage$dst"
	cp -L "$path" "$stage$dst"
	copy_libs "$path"
done
ln -sf mke2fs "$stage/sbin/mkfs.ext4"
# thin-provisioning-tools: one binary, named by argv[0] (vssd-cache runs
# cache_dump and cache_restore).
for t in cache_dump cache_restore cache_check; do
	ln -sf pdata_tools "$stage/usr/sbin/$t"
done
ln -sf e2fsck "$stage/sbin/fsck.ext4"
[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$stage/etc/mke2fs.conf"
# The dynamic loader under the path in the ELF interpreter field.
interp=$(readelf -l "$(command -v mke2fs)" | sed -n 's/.*interpreter: \(.*\)]/\1/p')
[ -n "$interp" ] && copy_host_file "$interp"

# --- 3. kernel modules ----------------------------------------------------
# A symlinked copy of the kernel's module tree with its depmod output,
# made once per kernel, answers "what does module X need".
fulltree=$cache/modtree-$kver
if [ ! -f "$fulltree/lib/modules/$kver/modules.dep" ]; then
	echo "mkimage: indexing modules of $kver"
	rm -rf "$fulltree" "$fulltree.tmp"
	mkdir -p "$fulltree.tmp/lib/modules/$kver"
	cp -rs "$kmods/kernel" "$fulltree.tmp/lib/modules/$kver/kernel"
	cp "$kmods"/modules.order "$kmods"/modules.builtin* "$fulltree.tmp/lib/modules/$kver/"
	depmod -b "$fulltree.tmp" "$kver"
	mv "$fulltree.tmp" "$fulltree"
fi

mdir=$stage/lib/modules/$kver
mkdir -p "$mdir"
cp "$kmods"/modules.order "$kmods"/modules.builtin* "$mdir/"

# Built for this kernel by scripts/build-module.sh (make module); an image
# of the in-tree build (guest-driver/, make -C guest-driver) otherwise.
vssd_ko=$out/module-src/guest-driver/virtio_vssd.ko
[ -f "$vssd_ko" ] || vssd_ko=$top/guest-driver/virtio_vssd.ko
wanted=$MODULES
if [ -f "$vssd_ko" ]; then
	case $(modinfo -F vermagic "$vssd_ko") in
	"$kver "*) ;;
	*) die "$vssd_ko is not built for $kver (make module)" ;;
	esac
	mkdir -p "$mdir/extra"
	cp "$vssd_ko" "$mdir/extra/virtio_vssd.ko"
	deps=$(modinfo -F depends "$vssd_ko" | tr ',' ' ')
	wanted="$wanted $deps"
else
	echo "mkimage: warning: $vssd_ko not built; the image has no vssd driver" >&2
fi

modprobe -d "$fulltree" -S "$kver" --show-depends -a $wanted |
	sed -n 's/^insmod \([^ ]*\).*/\1/p' | sort -u |
	while read -r ko; do
		rel=${ko#"$fulltree"/lib/modules/"$kver"/}
		mkdir -p "$mdir/$(dirname "$rel")"
		# 6.12's modules are xz-compressed; busybox's modprobe loads
		# only plain ones
		case $rel in
		*.ko.xz) xz -dc "$ko" > "$mdir/${rel%.xz}" ;;
		*) cp -L "$ko" "$mdir/$rel" ;;
		esac
	done
depmod -b "$stage" "$kver"

# --- 4. our test programs (static) ----------------------------------------
# Guest test scripts are not part of the image: tests/lib/vm.sh delivers
# them with every boot, so editing one needs no image rebuild.
# Those that include libscm's scm.h link libscm.a (built here first).
libscm=$top/guest-driver/libscm
make -s -C "$libscm" OUT="$libscm/build" "$libscm/build/libscm.a" ||
	die "cannot build libscm.a"
for src in "$top"/tests/guest/*.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	bin=$bindir/$name
	withlib=()
	if grep -q '^#include "scm.h"' "$src"; then
		withlib=(-I"$libscm" -pthread)
		[ "$libscm/build/libscm.a" -nt "$bin" ] && rm -f "$bin"
	fi
	# the programs include the uapi headers: a changed header rebuilds them
	if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ] ||
		[ -n "$(find "$top/include/uapi" -newer "$bin" -name '*.h' | head -n 1)" ]; then
		gcc -static -O2 -Wall -Wextra "${withlib[@]}" -o "$bin.tmp" "$src" \
			${withlib[0]:+"$libscm/build/libscm.a"} || die "cannot build $src"
		mv "$bin.tmp" "$bin"
	fi
	cp "$bin" "$stage/usr/bin/$name"
done

# --- 5. guest tools and libscm, when they can install themselves ----------
has_install_target() {
	[ -f "$1/Makefile" ] && make -C "$1" -n install DESTDIR=/nonexistent >/dev/null 2>&1
}
for d in "$top/guest-driver/libscm" "$top/guest-driver/tools" \
	"$top/guest-driver/tools/vssd-cache"; do
	if has_install_target "$d"; then
		make -s -C "$d" install DESTDIR="$stage" ||
			die "make -C $d install failed"
	fi
done
# Whatever they installed that is dynamically linked gets its libraries.
find "$stage/usr" "$stage/bin" "$stage/sbin" -type f -perm -u+x | while read -r f; do
	if readelf -d "$f" 2>/dev/null | grep NEEDED >/dev/null; then
		copy_libs "$f"
	fi
done
if [ -d "$stage/usr/lib" ] || [ -d "$stage/usr/local/lib" ]; then
	printf '%s\n' /usr/local/lib /usr/lib /lib/x86_64-linux-gnu \
		/usr/lib/x86_64-linux-gnu > "$stage/etc/ld.so.conf"
fi

# --- 6. init and small config files -----------------------------------------
install -m 0755 "$top/guest/init" "$stage/init"
echo "root:x:0:0:root:/root:/bin/sh" > "$stage/etc/passwd"
echo "root:x:0:" > "$stage/etc/group"
echo vssd-guest > "$stage/etc/hostname"
: > "$stage/etc/mtab"

# --- 7. pack ----------------------------------------------------------------
# Sorted names, fixed owner and timestamps: the same inputs give the same
# archive.
find "$stage" -exec touch -h -d @0 {} +
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -n -6 > "$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
echo "mkimage: $out/initramfs.cpio.gz ($(du -h "$out/initramfs.cpio.gz" | cut -f1)," \
	"kernel $kver, vssd module: $([ -f "$mdir/extra/virtio_vssd.ko" ] && echo yes || echo no))"
