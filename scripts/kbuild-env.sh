#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# kbuild-env.sh GUESTDIR CMD [ARG...]
#
# Run CMD where modules for the guest kernel of GUESTDIR (a folder written
# by scripts/fetch-kernel.sh) are built:
#   - on the host when GUESTDIR/kroot is empty (Debian 12's 6.1: its
#     headers are installed on the host);
#   - otherwise inside the build root named there (Debian 13's 6.12: the
#     trixie root of scripts/trixie-root.sh, with gcc-14 and the headers),
#     in a private mount namespace where the project folder, /tmp and
#     $TMPDIR are bind-mounted at their own paths, so CMD's arguments
#     and the current folder mean the same inside and out. The mounts end
#     with CMD; nothing of the host is changed.
#
# E.g. scripts/kbuild-env.sh build/guest make -C DIR KDIR=$(cat build/guest/kdir)
set -euo pipefail

if [ $# -lt 2 ]; then
	echo "usage: $0 GUESTDIR CMD [ARG...]" >&2
	exit 2
fi
guest=$1
shift
top=$(cd "$(dirname "$0")/.." && pwd)
kroot=$(cat "$guest/kroot" 2>/dev/null || true)
if [ -z "$kroot" ]; then
	exec "$@"
fi
[ -x "$kroot/usr/bin/make" ] || {
	echo "kbuild-env: $kroot is not a build root (run: make guest)" >&2
	exit 1
}

# The inner script runs as root in the new mount namespace; "$@" is CMD.
# shellcheck disable=SC2016
exec unshare --mount --propagation private -- /bin/bash -euc '
	kroot=$1 top=$2 cwd=$3
	shift 3
	bind() {
		mkdir -p "$kroot$1"
		mount --rbind "$1" "$kroot$1"
	}
	case $top in
	/tmp/*) ;;
	*) bind "$top" ;;
	esac
	bind /tmp
	case ${TMPDIR:-/tmp} in
	/tmp | /tmp/*) ;;
	*) bind "$TMPDIR" ;;
	esac
	bind /dev
	mount -t proc proc "$kroot/proc"
	exec chroot "$kroot" /usr/bin/env -i HOME=/root LC_ALL=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$cwd" "$@"
' kbuild-env "$kroot" "$top" "$PWD" "$@"
