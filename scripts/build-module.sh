#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# build-module.sh GUESTDIR [MAKE-ARGS...]
#
# Build virtio_vssd.ko for the guest kernel of GUESTDIR (written by
# scripts/fetch-kernel.sh) in GUESTDIR/module-src, a copy of the driver
# sources with the project's layout (guest-driver/ and include/uapi/), so
# the modules of several kernels coexist and guest-driver/ itself is left
# alone. The copy is made with rsync --checksum: unchanged files keep
# their times and kbuild rebuilds only what changed. The build runs where
# that kernel's modules are built (scripts/kbuild-env.sh).
#
# Output: GUESTDIR/module-src/guest-driver/virtio_vssd.ko
set -euo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 GUESTDIR [MAKE-ARGS...]" >&2
	exit 2
fi
top=$(cd "$(dirname "$0")/.." && pwd)
guest=$(cd "$1" && pwd)
shift
[ -f "$guest/kdir" ] || {
	echo "build-module: no $guest/kdir (run scripts/fetch-kernel.sh first)" >&2
	exit 1
}
src=$guest/module-src
mkdir -p "$src/guest-driver" "$src/include"
rsync -a --checksum --delete --include='*.c' --include='*.h' \
	--include=Kbuild --include=Makefile --exclude='*' \
	"$top/guest-driver/" "$src/guest-driver/"
rsync -a --checksum --delete "$top/include/uapi" "$src/include/"
exec bash "$top/scripts/kbuild-env.sh" "$guest" \
	make -C "$src/guest-driver" KDIR="$(cat "$guest/kdir")" "$@"
