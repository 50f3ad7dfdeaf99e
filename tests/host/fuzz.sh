#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A bounded slice of fuzzing (tests/fuzz, libFuzzer with ASan and UBSan):
# every known input (corpus/ and the regressions/ of crashes found and
# fixed) replays without a crash, then each fuzzer runs for
# $VSSD_FUZZ_SECONDS (default 30) from the seed corpus. `make fuzz` runs
# longer (VSSD_FUZZ_SECONDS=600).
set -u -o pipefail
. "$(dirname "$0")/../lib/vm.sh"
t_plan 3
command -v clang >/dev/null || t_bail "clang missing (sh scripts/deps.sh installs it)"
vm_tmpdir
seconds=${VSSD_FUZZ_SECONDS:-30}
timeout $((seconds * 3 + 600)) make -C "$VSSD_ROOT/tests/fuzz" OUT="$VM_TMP/fuzz" run SECONDS="$seconds" \
	> "$VM_TMP/fuzz.log" 2>&1
sed 's/^/# /' "$VM_TMP/fuzz.log" | grep -v '^# make' | tail -n 60
for t in size qmp scm-heap; do
	if grep -q "^PASS: fuzz-$t:" "$VM_TMP/fuzz.log"; then
		t_ok "fuzz-$t: known inputs replay and $seconds s of fuzzing find no crash ($(sed -n "s/^PASS: fuzz-$t: \(Done [0-9]* runs\).*/\1/p" "$VM_TMP/fuzz.log"))"
	else
		t_fail "fuzz-$t: known inputs replay and $seconds s of fuzzing find no crash" \
			"$(grep "^FAIL: fuzz-$t" "$VM_TMP/fuzz.log" || echo 'did not run')"
	fi
done
t_done
