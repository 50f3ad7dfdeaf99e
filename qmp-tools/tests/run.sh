#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Run every vssdctl test and print "N passed, N failed" last.
#   tests/run.sh OUT     (OUT: the build directory holding vssdctl and tests/)
# A test program that exits non-zero without reporting a FAIL counts as one.
set -u
OUT=${1:?usage: run.sh OUT}
HERE=$(cd "$(dirname "$0")" && pwd)
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
export VSSDCTL="$OUT/vssdctl"

passed=0 failed=0 skipped=0
run_one() {
	name=$1
	shift
	echo "== $name"
	"$@" >"$LOG" 2>&1
	rc=$?
	cat "$LOG"
	p=$(grep -c '^PASS: ' "$LOG")
	f=$(grep -c '^FAIL: ' "$LOG")
	s=$(grep -c '^SKIP: ' "$LOG")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $name exited with status $rc"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
}

for t in test-size test-qmp test-balloon; do
	run_one "$t" "$OUT/tests/$t"
done
run_one test-cli.sh sh "$HERE/test-cli.sh"
run_one test-qemu.sh sh "$HERE/test-qemu.sh"
if [ "${VSSD_TEST_LIBVIRT:-0}" = 1 ]; then
	run_one test-libvirt.sh sh "$HERE/test-libvirt.sh"
fi

[ "$skipped" -gt 0 ] && echo "($skipped skipped)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
