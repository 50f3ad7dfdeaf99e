#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/run.sh [TEST...]
#
# Run every test: the device qtests (tests/qtest/run.sh, when present),
# the host tests tests/host/*.sh, then each guest end-to-end test
# tests/e2e/*.sh, and a smoke set of them (data, resize, hints,
# scm-isolation) again on the other guest kernel, 6.1, as data@6.1 etc.
# (or only the named ones; FILE@SERIES names FILE on the guest kernel
# SERIES, e.g. tests/e2e/data.sh@6.1). Each test prints TAP: "ok N -
# name", "not ok N - name", "ok N - name # SKIP why", and a plan "1..N".
# This script counts them and ends with exactly one line
# "N passed, N failed, N skipped". What the project installs itself is
# never skipped, so a skip fails the run too; so does a suite that
# printed no plan or another number of results than its plan (a check
# that never ran), or that exits non-zero without reporting a failure.
# Every suite runs under a time limit ($VSSD_SUITE_TIMEOUT, default 1800 s).
#
# Logs: build/test-logs/<test>.out, the guest consoles of failed tests
# under build/test-logs/<test>/, and build/test-logs/durations.tsv (the
# seconds each suite took, and its counts).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
logs=$top/build/test-logs
mkdir -p "$logs"

passed=0
failed=0
skipped=0
failed_names=()
suite_timeout=${VSSD_SUITE_TIMEOUT:-1800}
durations=$logs/durations.tsv
printf 'suite\tseconds\tpassed\tfailed\tskipped\n' > "$durations"

# run_one NAME CMD...: run a test, show its output, count its results.
run_one() {
	local name=$1 out=$logs/$1.out rc ok notok skip results plan start=$SECONDS
	shift
	echo "# ---- $name"
	timeout --kill-after=30 "$suite_timeout" "$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	skip=$(grep -cE '^ok [0-9]+ .*# SKIP' "$out")
	ok=$(($(grep -c '^ok ' "$out") - skip))
	notok=$(grep -c '^not ok ' "$out")
	results=$((ok + skip + notok))
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$out" | tail -n 1)
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "not ok - $name did not finish within $suite_timeout s"
		notok=$((notok + 1))
	elif [ -z "$plan" ]; then
		echo "not ok - $name printed no plan (1..N)"
		notok=$((notok + 1))
	elif [ "$plan" != "$results" ]; then
		echo "not ok - $name planned $plan results and reported $results"
		notok=$((notok + 1))
	elif [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ] && [ "$skip" -eq 0 ]; then
		echo "not ok - $name exited with status $rc without reporting a failure"
		notok=1
	fi
	passed=$((passed + ok))
	failed=$((failed + notok))
	skipped=$((skipped + skip))
	[ "$notok" -gt 0 ] || [ "$skip" -gt 0 ] && failed_names+=("$name")
	printf '%s\t%s\t%s\t%s\t%s\n' "$name" $((SECONDS - start)) "$ok" "$notok" "$skip" >> "$durations"
	echo "# ---- $name: $ok passed, $notok failed, $skip skipped ($((SECONDS - start)) s)"
}

if [ $# -gt 0 ]; then
	tests=("$@")
else
	tests=()
	[ -f "$top/tests/qtest/run.sh" ] && tests+=("$top/tests/qtest/run.sh")
	for t in "$top"/tests/host/*.sh "$top"/tests/e2e/*.sh; do
		[ -f "$t" ] && tests+=("$t")
	done
	# the smoke set on the other guest kernel (the e2e suites run on
	# the default one, 6.12)
	for t in data resize hints scm-isolation; do
		tests+=("$top/tests/e2e/$t.sh@6.1")
	done
fi

# A test named FILE@SERIES runs FILE with the guest kernel SERIES
# (VSSD_GUEST_KERNEL, tests/lib/vm.sh), as suite NAME@SERIES.
for t in "${tests[@]}"; do
	case "$t" in
	*/tests/qtest/run.sh) name=qtest ;;
	*@*) name=$(basename "${t%@*}" .sh)@${t##*@} ;;
	*) name=$(basename "$t" .sh) ;;
	esac
	case "$t" in
	*@*) run_one "$name" env VSSD_GUEST_KERNEL="${t##*@}" bash "${t%@*}" ;;
	*) run_one "$name" bash "$t" ;;
	esac
done

if [ "${#failed_names[@]}" -gt 0 ]; then
	echo "# failed or skipped: ${failed_names[*]} (logs in $logs)"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$skipped" -eq 0 ]
