#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Install the Debian packages the build, the guest image and the tests need.
# Idempotent: a second run only checks.
set -eu

PKGS="build-essential ninja-build meson python3-venv python3 libglib2.0-dev
libpixman-1-dev libfdt-dev zlib1g-dev pkg-config flex bison dpkg-dev
seabios qemu-system-data ipxe-qemu ccache busybox-static cpio kmod e2fsprogs
gnuplot-nox xz-utils file util-linux libaio-dev socat rsync dmsetup
libjansson-dev libvirt-dev libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
runc libdevmapper-dev thin-provisioning-tools
debhelper dh-dkms dkms lintian fakeroot bash-completion man-db
clang libclang-rt-14-dev sparse debootstrap linux-source-6.1"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done

src=/etc/apt/sources.list.d/debian.sources
need_src=0
if [ -f "$src" ] && grep -q '^Types: deb$' "$src"; then
	sed -i 's/^Types: deb$/Types: deb deb-src/' "$src"
	need_src=1
fi
stamp=/var/lib/apt/vssd-updated
if [ -n "$missing" ] || [ "$need_src" = 1 ] || [ ! -f "$stamp" ]; then
	apt-get update -qq
	touch "$stamp"
fi
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
echo "deps: all installed"
