#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The host-side code under AddressSanitizer and UndefinedBehaviorSanitizer
# (leaks too): libscm's unit tests (crash loops, threads, the lock between
# processes), vssdctl's whole suite (parsers, the QMP client against a fake
# and a real QEMU) and the guest tools' host tests (scmctl, scm-demo, the
# OCI hook), each built with -fsanitize=address,undefined. A sanitizer
# report aborts the program, so it fails the suite it happens in.
set -u -o pipefail
. "$(dirname "$0")/../lib/vm.sh"
t_plan 3
vm_tmpdir
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1

# summary LOG: the "N passed, N failed" line of a suite's log.
summary() {
	grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1
}
# clean LOG: no sanitizer report in it
clean() {
	! grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$1"
}

make -C "$VSSD_ROOT/guest-driver/libscm" OUT="$VM_TMP/libscm" CFLAGS="$flags" LDFLAGS="$flags" check \
	> "$VM_TMP/libscm.log" 2>&1
rc=$? s=$(summary "$VM_TMP/libscm.log")
echo "# libscm: ${s:-no summary}"
t_check "asan+ubsan: libscm's unit tests (${s:-none ran})" eval \
	"[ $rc = 0 ] && [ -n '$s' ] && [ '${s#* passed, }' = '0 failed' ] && clean '$VM_TMP/libscm.log'"

timeout 900 make -C "$VSSD_ROOT/qmp-tools" OUT="$VM_TMP/qmp-tools" CFLAGS="$flags" LDFLAGS="$flags" check \
	> "$VM_TMP/vssdctl.log" 2>&1
rc=$? s=$(summary "$VM_TMP/vssdctl.log")
echo "# vssdctl: ${s:-no summary}"
t_check "asan+ubsan: vssdctl's suite (${s:-none ran})" eval \
	"[ $rc = 0 ] && [ -n '$s' ] && [ '${s#* passed, }' = '0 failed' ] && ! grep -q '^SKIP: ' '$VM_TMP/vssdctl.log' && clean '$VM_TMP/vssdctl.log'"

SCM_TOOLS_SANITIZE=1 bash "$VSSD_ROOT/tests/host/scm-tools.sh" > "$VM_TMP/tools.log" 2>&1
rc=$?
n=$(grep -c '^ok ' "$VM_TMP/tools.log")
echo "# guest tools: $n results ok"
t_check "asan+ubsan: the guest tools' host tests ($n ok)" eval \
	"[ $rc = 0 ] && ! grep -q '^not ok' '$VM_TMP/tools.log' && clean '$VM_TMP/tools.log'"
for f in "$VM_TMP"/*.log; do
	grep -E -A20 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$f" | head -n 40 | sed 's/^/# /'
done
t_done
