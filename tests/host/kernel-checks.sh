#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The guest driver's static checks, against the guest kernel's headers, on
# a copy of the source: sparse (make C=2) and gcc's -fanalyzer (make
# analyze) report nothing for the production build nor the test build
# (VSSD_TESTING=1); the production module carries none of the test hooks
# (no scm_table_tear, no debugfs knob) and the test build does.
set -u -o pipefail
. "$(dirname "$0")/../lib/vm.sh"
t_plan 5
kdir=$(cat "$VSSD_ROOT/build/guest/kdir" 2>/dev/null) ||
	t_bail "no guest kernel headers (make guest)"
command -v sparse >/dev/null || t_bail "sparse missing (sh scripts/deps.sh installs it)"
vm_tmpdir

# build NAME MAKE-ARGS...: a fresh copy built with MAKE-ARGS; the log in
# $VM_TMP/NAME.log, the module in $VM_TMP/NAME/guest-driver.
build() {
	local name=$1
	shift
	mkdir -p "$VM_TMP/$name"
	cp -r "$VSSD_ROOT/guest-driver" "$VSSD_ROOT/include" "$VM_TMP/$name/"
	rm -rf "$VM_TMP/$name/guest-driver/libscm" "$VM_TMP/$name/guest-driver/tools"
	timeout 600 make -C "$VM_TMP/$name/guest-driver" KDIR="$kdir" "$@" > "$VM_TMP/$name.log" 2>&1
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
t_done
