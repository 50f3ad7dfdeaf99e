#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The guest driver's static checks, against the default guest kernel's
# headers (6.12: run in the trixie build root, scripts/kbuild-env.sh), on
# a copy of the source: sparse (make C=2) and gcc's -fanalyzer (make
# analyze) report nothing for the production build nor the test build
# (VSSD_TESTING=1); the production module carries none of the test hooks
# (no scm_table_tear, no debugfs knob) and the test build does. Against
# each guest kernel's headers, 6.12 and 6.1, a W=1 build warns of nothing.
set -u -o pipefail
. "$(dirname "$0")/../lib/vm.sh"
t_plan 7
guest=$VSSD_ROOT/build/guest
[ -f "$guest/kdir" ] || t_bail "no guest kernel headers (make guest)"
# sparse where the module is built: the host, or the trixie build root
kroot=$(cat "$guest/kroot" 2>/dev/null)
[ -x "$kroot/usr/bin/sparse" ] ||
	t_bail "sparse missing (sh scripts/deps.sh, make guest install it)"
vm_tmpdir

# build NAME MAKE-ARGS...: a fresh copy built with MAKE-ARGS against the
# headers of $guest (scripts/kbuild-env.sh); the log in $VM_TMP/NAME.log,
# the module in $VM_TMP/NAME/guest-driver.
build() {
	local name=$1
	shift
	mkdir -p "$VM_TMP/$name"
	cp -r "$VSSD_ROOT/guest-driver" "$VSSD_ROOT/include" "$VM_TMP/$name/"
	rm -rf "$VM_TMP/$name/guest-driver/libscm" "$VM_TMP/$name/guest-driver/tools"
	find "$VM_TMP/$name" \( -name '*.o' -o -name '*.ko' -o -name '.*.cmd' \) -delete
	timeout 600 bash "$VSSD_ROOT/scripts/kbuild-env.sh" "$guest" \
		make -C "$VM_TMP/$name/guest-driver" KDIR="$(cat "$guest/kdir")" "$@" \
		> "$VM_TMP/$name.log" 2>&1
}
# quiet NAME: the build succeeded and printed no warning or error
quiet() {
	if grep -E 'warning:|error:' "$VM_TMP/$1.log"; then
		return 1
	fi
}

build sparse C=2 VSSD_TESTING=1
rc=$?
t_check "sparse (make C=2) on every file of the test build: nothing to report" \
	eval "[ $rc = 0 ] && [ \$(grep -c ' CHECK ' '$VM_TMP/sparse.log') -gt 10 ] && quiet sparse"
build sparse-prod C=2
rc=$?
t_check "sparse on the production build: nothing to report" eval "[ $rc = 0 ] && quiet sparse-prod"
build analyze analyze VSSD_TESTING=1
rc=$?
t_check "gcc -fanalyzer (make analyze): nothing to report" eval "[ $rc = 0 ] && quiet analyze"
prod=$VM_TMP/sparse-prod/guest-driver/virtio_vssd.ko
test=$VM_TMP/sparse/guest-driver/virtio_vssd.ko
t_check "the production module has no test hook (parameters, debugfs knobs)" eval "
	! modinfo -p '$prod' | grep -c tear >/dev/null && ! strings '$prod' | grep -c scm_table_tear >/dev/null"
t_check "the test build has its debugfs knob (negative control of the above)" \
	eval "strings '$test' | grep -c scm_table_tear >/dev/null"
# Both guest kernels, 6.12 and 6.1 (vssd_compat.h): extra warnings (W=1)
# report nothing either.
for series in 6.12 6.1; do
	guest=$VSSD_ROOT/build/guest
	[ "$(cat "$guest/series" 2>/dev/null)" = "$series" ] || guest=$VSSD_ROOT/build/guest-$series
	build "w1-$series" W=1 VSSD_TESTING=1
	rc=$?
	t_check "the test build against $series's headers ($(cat "$guest/kver" 2>/dev/null)) with W=1: no warning" \
		eval "[ $rc = 0 ] && [ -f '$VM_TMP/w1-$series/guest-driver/virtio_vssd.ko' ] && quiet w1-$series"
done
t_done
