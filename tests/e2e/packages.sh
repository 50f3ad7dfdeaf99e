#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The Debian packages (`make deb`, scripts/mkdeb.sh): they build with
# dpkg-buildpackage and are lintian clean; installed into a clean root
# (dpkg --root) they give working commands: vssdctl and its manual page and
# bash completion, scmctl, scm-demo, and libscm (a program compiled against
# the installed header and pkg-config file, linked with the shared library,
# keeps a counter in a region across runs; the exported symbols carry the
# version node LIBSCM_1.0). The DKMS package builds virtio_vssd.ko through
# dkms (its own trees, nothing system-wide) for each guest kernel, 6.12 and
# 6.1, from that kernel's headers, and the guest of each kernel loads that
# module in place of the image's and uses the device.
. "$(dirname "$0")/../lib/vm.sh"
t_plan 19

vm_have_device || t_bail "QEMU with virtio-vssd, or the image with virtio_vssd.ko, is not built"
for t in dpkg-buildpackage lintian dkms; do
	command -v $t >/dev/null || t_bail "$t missing (sh scripts/deps.sh installs it)"
done
vm_tmpdir
deb=$VM_TMP/deb
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

if timeout 900 bash "$VSSD_ROOT/scripts/mkdeb.sh" "$deb" > "$VM_TMP/mkdeb.log" 2>&1; then
	t_ok "make deb: the packages build and lintian reports no error or warning"
else
	sed 's/^/# /' "$VM_TMP/mkdeb.log" | tail -n 30
	t_bail "make deb failed" "make deb: the packages build and lintian reports no error or warning"
fi
n=$(ls "$deb"/*.deb | grep -vc dbgsym)
t_check "five packages: vssd-host, vssd-guest-tools, libscm1, libscm-dev, virtio-vssd-dkms ($n)" test "$n" = 5

# --- a clean root -------------------------------------------------------------
root=$VM_TMP/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
: > "$root/var/lib/dpkg/status"
: > "$root/var/lib/dpkg/available"
t_check "dpkg --root installs the four non-DKMS packages" \
	dpkg --root="$root" --force-depends --force-not-root --force-script-chrootless -i \
	"$deb"/vssd-host_*.deb "$deb"/vssd-guest-tools_*.deb "$deb"/libscm1_*.deb "$deb"/libscm-dev_*.deb
t_check "vssdctl from the package answers --help" \
	eval "'$root/usr/bin/vssdctl' --help | grep -q '^    vssdctl - '"
# man_clean PAGE...: each page (as installed: compressed) renders, no warning
man_clean() {
	local p out
	for p in "$@"; do
		[ -f "$p" ] || { echo "# no $p"; return 1; }
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
		[ -z "$out" ] || { echo "# $p: $out"; return 1; }
	done
}
man1=$root/usr/share/man/man1 man3=$root/usr/share/man/man3 man8=$root/usr/share/man/man8
t_check "vssdctl's manual page renders without warnings" man_clean "$man1/vssdctl.1.gz"
t_check "bash completion completes vssdctl's commands" bash -c "
	. /usr/share/bash-completion/bash_completion && . '$root/usr/share/bash-completion/completions/vssdctl' &&
	COMP_WORDS=(vssdctl res) COMP_CWORD=1 COMP_LINE='vssdctl res' COMP_POINT=11 && _vssdctl &&
	[ \"\${COMPREPLY[*]}\" = resize ]"
t_check "scmctl from the package (a dry run)" \
	eval "[ \"\$('$root/usr/sbin/scmctl' -n bind web /docker/x)\" = 'bind web /docker/x' ]"
t_check "scmctl(8), scm-demo(1) and the libscm pages render without warnings" man_clean \
	"$man8/scmctl.8.gz" "$man1/scm-demo.1.gz" "$man3/scmalloc.3.gz" "$man3/scmsync.3.gz" \
	"$man3/scm_tx_begin.3.gz" "$man3/scm_open.3.gz" "$man3/scmfree_from.3.gz"
t_check "scm-demo from the package keeps its counter in a region file" eval "
	truncate -s 1M '$VM_TMP/region' &&
	LD_LIBRARY_PATH='$root/usr/lib/$multiarch' '$root/usr/bin/scm-demo' -d '$VM_TMP/region' a >/dev/null &&
	LD_LIBRARY_PATH='$root/usr/lib/$multiarch' '$root/usr/bin/scm-demo' -s -d '$VM_TMP/region' | grep -q 'counter=1 '"
cat > "$VM_TMP/t.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <scm.h>

int main(void)
{
	unsigned long *n = scm_root();

	if (!n) {
		n = scmalloc(sizeof(*n));
		if (!n || scm_set_root(n))
			return 2;
		*n = 0;
	}
	(*n)++;
	if (scmsync(n, sizeof(*n)))
		return 2;
	printf("%lu\n", *n);
	return scm_close();
}
C
t_check "a program built with the installed scm.h, libscm.pc and libscm.so runs twice" eval "
	cc -o '$VM_TMP/t' '$VM_TMP/t.c' \$(PKG_CONFIG_SYSROOT_DIR='$root' PKG_CONFIG_LIBDIR='$root/usr/lib/$multiarch/pkgconfig' pkg-config --cflags --libs libscm) &&
	truncate -s 1M '$VM_TMP/r2' &&
	SCM_DEVICE='$VM_TMP/r2' LD_LIBRARY_PATH='$root/usr/lib/$multiarch' '$VM_TMP/t' &&
	[ \"\$(SCM_DEVICE='$VM_TMP/r2' LD_LIBRARY_PATH='$root/usr/lib/$multiarch' '$VM_TMP/t')\" = 2 ]"
t_check "libscm.so.1 exports its API under the version node LIBSCM_1.0, nothing else" eval "
	objdump -T '$root/usr/lib/$multiarch/libscm.so.1' > '$VM_TMP/syms' &&
	grep -q 'LIBSCM_1.0 *scmalloc\$' '$VM_TMP/syms' && grep -q 'LIBSCM_1.0 *scm_tx_commit\$' '$VM_TMP/syms' &&
	[ \"\$(grep ' DF \.text' '$VM_TMP/syms' | grep -vc 'LIBSCM_1\.0')\" = 0 ]"

# --- DKMS: build for each guest kernel, load it in that kernel's guest ----------
# The default image's kernel and the other series' (tests/lib/vm.sh:
# build/guest-SERIES); each dkms runs where that kernel's modules are built
# (scripts/kbuild-env.sh: Debian 12's dkms on the host for 6.1, Debian 13's
# in the trixie build root for 6.12), with its own trees.
dk=$VM_TMP/dkms
mkdir -p "$dk/root"
dpkg -x "$deb"/virtio-vssd-dkms_*.deb "$dk/root"
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$dk"/root/usr/src/virtio-vssd-*/dkms.conf)
truncate -s 16M "$VM_TMP/disk.img"
for series in 6.12 6.1; do
	guest=$VSSD_ROOT/build/guest
	[ "$(cat "$guest/series" 2>/dev/null)" = "$series" ] || guest=$VSSD_ROOT/build/guest-$series
	kver=$(cat "$guest/kver" 2>/dev/null)
	kenv=(bash "$VSSD_ROOT/scripts/kbuild-env.sh" "$guest")
	tree=$dk/tree-$series
	mkdir -p "$tree"
	t_check "dkms add from the package's source tree ($series)" \
		"${kenv[@]}" dkms add -m virtio-vssd -v "$ver" --sourcetree "$dk/root/usr/src" --dkmstree "$tree"
	t_check "dkms build for the guest kernel $kver" \
		timeout 600 "${kenv[@]}" dkms build -m virtio-vssd -v "$ver" -k "$kver" \
		--sourcetree "$dk/root/usr/src" --dkmstree "$tree" --kernelsourcedir "$(cat "$guest/kdir")"
	ko=$(find "$tree" -name 'virtio_vssd.ko*' | head -n 1)
	rm -rf "$VM_TMP/files"
	mkdir -p "$VM_TMP/files/dkms"
	case $ko in
	*.xz) xz -dc "$ko" > "$VM_TMP/files/dkms/virtio_vssd.ko" ;;
	*.ko) cp "$ko" "$VM_TMP/files/dkms/virtio_vssd.ko" ;;
	esac
	VSSD_KERNEL=$guest/vmlinuz VSSD_INITRD=$guest/initramfs.cpio.gz \
		vm_run "guest $series" --script "$VSSD_ROOT/tests/guest/dkms-load.sh" --files "$VM_TMP/files" --timeout 120 -- \
		-blockdev "driver=file,filename=$VM_TMP/disk.img,node-name=vssd-disk" \
		-device virtio-vssd-pci,id=vssd0,drive=vssd-disk
done
t_done
