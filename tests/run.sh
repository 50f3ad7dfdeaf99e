#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/run.sh [TEST...]
#
# Run every test: the device qtests (tests/qtest/run.sh, when present),
# then each guest end-to-end test tests/e2e/*.sh (or only the named ones).
# Each test prints TAP-like "ok N - name" / "not ok N - name" lines; this
# script counts them and ends with exactly one line "N passed, N failed".
# A test script that exits non-zero without reporting a failure counts as
# one failure. Exit status: 0 when nothing failed.
#
# Logs: build/test-logs/<test>.out (and the guest consoles of failed
# tests under build/test-logs/<test>/).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
logs=$top/build/test-logs
mkdir -p "$logs"

passed=0
failed=0
failed_names=()

# run_one NAME CMD...: run a test, show its output, count its results.
run_one() {
	local name=$1 out=$logs/$1.out rc ok notok start=$SECONDS
	shift
	echo "# ---- $name"
	"$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	ok=$(grep -c '^ok ' "$out")
	notok=$(grep -c '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ]; then
		echo "not ok - $name exited with status $rc without reporting a failure"
		notok=1
	fi
	passed=$((passed + ok))
	failed=$((failed + notok))
	[ "$notok" -gt 0 ] && failed_names+=("$name")
	echo "# ---- $name: $ok passed, $notok failed ($((SECONDS - start)) s)"
}

if [ $# -gt 0 ]; then
	tests=("$@")
else
	tests=()
	[ -f "$top/tests/qtest/run.sh" ] && tests+=("$top/tests/qtest/run.sh")
	for t in "$top"/tests/host/*.sh "$top"/tests/e2e/*.sh; do
		[ -f "$t" ] && tests+=("$t")
	done
fi

for t in "${tests[@]}"; do
	case "$t" in
	*/tests/qtest/run.sh) name=qtest ;;
	*) name=$(basename "$t" .sh) ;;
	esac
	run_one "$name" bash "$t"
done

if [ "${#failed_names[@]}" -gt 0 ]; then
	echo "# failed: ${failed_names[*]} (logs in $logs)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
