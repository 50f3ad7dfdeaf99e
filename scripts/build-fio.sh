#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# build-fio.sh OUTFILE — a static fio for the guest image, built from Debian's
# source package.
#
# Debian's fio binary pulls in ceph, gluster, rdma and friends; a static build
# with those engines disabled is one ~3 MB file that runs in the busybox
# initramfs. The binary is cached in $VSSD_CACHE/fio-<version>/fio and rebuilt
# when missing; the source is fetched with `apt-get source` into
# $VSSD_CACHE/dl (deb-src is enabled by scripts/deps.sh).
set -euo pipefail

out=${1:?usage: build-fio.sh OUTFILE}
cache=${VSSD_CACHE:-/var/tmp/vssd-cache}
dl=$cache/dl

# Build dependencies beyond scripts/deps.sh's base set (idempotent).
need=""
for p in build-essential dpkg-dev libaio-dev zlib1g-dev; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" ||
		need="$need $p"
done
if [ -n "$need" ]; then
	echo "build-fio: installing$need"
	# shellcheck disable=SC2086 # a list of package names
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need
fi

# The version apt would fetch names the cache entry, so an archive update
# (new Debian revision) builds a fresh binary.
ver=$(apt-cache showsrc fio 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -n1)
if [ -z "$ver" ]; then
	# Stale or missing source lists: refresh once.
	apt-get update -qq
	ver=$(apt-cache showsrc fio | sed -n 's/^Version: //p' | sort -V | tail -n1)
fi
[ -n "$ver" ] || { echo "build-fio: no fio source package (is deb-src enabled?)" >&2; exit 1; }

bin=$cache/fio-$ver/fio
if [ ! -x "$bin" ]; then
	mkdir -p "$dl"
	dsc=$dl/fio_${ver#*:}.dsc
	if [ ! -f "$dsc" ]; then
		echo "build-fio: fetching fio $ver source"
		(cd "$dl" && apt-get source --download-only -qq "fio=$ver" 2>&1 |
			grep -v 'unsandboxed' || true)
	fi
	[ -f "$dsc" ] || { echo "build-fio: $dsc not fetched" >&2; exit 1; }

	work=$cache/fio-$ver
	rm -rf "$work"
	mkdir -p "$work"
	src=$work/src
	echo "build-fio: unpacking $dsc (with Debian's patches)"
	dpkg-source -q -x "$dsc" "$src" >"$work/unpack.log" 2>&1 || {
		cat "$work/unpack.log" >&2; exit 1; }

	# Disable every optional engine that needs a library we do not want
	# in a static guest binary; only pass the switches this version knows.
	want="rados rbd gfapi rdma pmem numa http libnfs xnvme libzbc tcmalloc dfs native"
	opts="--build-static"
	help=$(cd "$src" && ./configure --help 2>&1 || true)
	for o in $want; do
		if grep -q -- "--disable-$o\b" <<<"$help"; then
			opts="$opts --disable-$o"
		else
			echo "build-fio: configure has no --disable-$o (skipped)"
		fi
	done
	echo "build-fio: configure $opts"
	(cd "$src" && ./configure $opts >"$work/configure.log" 2>&1) || {
		tail -n 30 "$work/configure.log" >&2; exit 1; }
	echo "build-fio: make (log in $work/make.log)"
	(cd "$src" && make -j"$(nproc)" fio >"$work/make.log" 2>&1) || {
		tail -n 30 "$work/make.log" >&2; exit 1; }
	strip -o "$bin.tmp" "$src/fio"
	mv "$bin.tmp" "$bin"
	rm -rf "$src"
fi

# Refuse a dynamically linked result: the guest has no matching libraries.
if file -L "$bin" | grep -q 'dynamically linked'; then
	echo "build-fio: $bin is not static" >&2
	exit 1
fi
mkdir -p "$(dirname "$out")"
cp "$bin" "$out.tmp"
mv "$out.tmp" "$out"
echo "build-fio: $out ($("$out" --version))"
