#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build QEMU with the qtests and run the virtio-vssd qos tests.
#
#   bash tests/qtest/run.sh [--no-build] [FILTER...]
#
# --no-build   use build/qemu as it is (default: build through
#              scripts/build-qemu.sh build/qemu --qtest first)
# FILTER       run only the tests whose path contains one of these strings
#
# Each test runs in its own qos-test process (and its own QEMU), so a failed
# assertion, which aborts qos-test, does not hide the tests after it. The
# output is TAP on stdout: one "ok"/"not ok" line per test, the output of
# qos-test and QEMU as "#" comments; the build log goes to stderr.
#
# Exit status: 0 only if at least one vssd test ran and every test passed.
# Zero tests (the device is missing from the build, or the libqos node did
# not register) is a failure, not a silent pass.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$ROOT/build/qemu
# Per-test limit; qos-test's own limit on a QEMU answer is much shorter.
TEST_TIMEOUT=${VSSD_QTEST_TIMEOUT:-300}
# The qos graph path of every vssd test contains this node.
TEST_NODE=/virtio-vssd-tests/

BUILD=1
FILTERS=()
for arg in "$@"; do
	case $arg in
	--no-build) BUILD=0 ;;
	-h|--help) sed -n '4,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "run.sh: unknown option $arg" >&2; exit 2 ;;
	*) FILTERS+=("$arg") ;;
	esac
done

if [ $BUILD = 1 ]; then
	# Build output is not TAP: keep stdout clean for the TAP consumer.
	if ! (cd "$ROOT" && bash scripts/build-qemu.sh build/qemu --qtest) >&2; then
		echo "Bail out! QEMU build failed"
		exit 1
	fi
fi

QOS_TEST=$OUT/qos-test
export QTEST_QEMU_BINARY=$OUT/qemu-system-x86_64
for f in "$QOS_TEST" "$QTEST_QEMU_BINARY"; do
	if [ ! -x "$f" ]; then
		echo "Bail out! $f missing: build with scripts/build-qemu.sh build/qemu --qtest"
		exit 1
	fi
done

# qos-test lists the paths the qos graph can reach with this QEMU binary
# (it asks QEMU which machines and devices exist).
if ! listing=$("$QOS_TEST" -l 2>&1); then
	printf '%s\n' "$listing" | sed 's/^/# /'
	echo "Bail out! qos-test -l failed"
	exit 1
fi
tests=()
while IFS= read -r path; do
	if [ ${#FILTERS[@]} -gt 0 ]; then
		keep=0
		for f in "${FILTERS[@]}"; do
			case $path in *"$f"*) keep=1 ;; esac
		done
		[ $keep = 1 ] || continue
	fi
	tests+=("$path")
done < <(printf '%s\n' "$listing" | grep -e "$TEST_NODE" | sed 's/^ *//')

if [ ${#tests[@]} -eq 0 ]; then
	echo "1..0"
	echo "# qos-test found no virtio-vssd test (is virtio-vssd-pci built in?):"
	printf '%s\n' "$listing" | sed 's/^/#   /'
	echo "Bail out! zero vssd tests"
	exit 1
fi

# The tests' image files (and anything else qos-test leaves behind when an
# assertion aborts it) go to a private folder, removed on exit.
TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/vssd-qtest-run.XXXXXX")
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT

echo "1..${#tests[@]}"
n=0
failed=0
for path in "${tests[@]}"; do
	n=$((n + 1))
	start=$(date +%s)
	# SIGABRT lets libqtest kill its QEMU before qos-test dies.
	output=$(timeout -s ABRT -k 10 "$TEST_TIMEOUT" \
		"$QOS_TEST" --tap -p "$path" 2>&1)
	rc=$?
	secs=$(( $(date +%s) - start ))
	printf '%s\n' "$output" | sed 's/^/# /'
	# Pass: exit 0 and exactly this test reported ok, not skipped. (A
	# here-string, not a pipe: grep -q stops reading early, and under
	# pipefail the writer's SIGPIPE would fail a passing test.)
	if [ $rc -eq 0 ] &&
		grep -q -x -F "ok 1 $path" <<<"$output" &&
		! grep -q -e '^not ok' -e '# SKIP' <<<"$output"; then
		echo "ok $n - $path (${secs}s)"
	else
		[ $rc -eq 124 ] || [ $rc -eq 134 ] && [ $secs -ge "$TEST_TIMEOUT" ] &&
			echo "# timed out after ${TEST_TIMEOUT}s"
		echo "not ok $n - $path (exit $rc, ${secs}s)"
		failed=$((failed + 1))
	fi
done

echo "# ${#tests[@]} vssd tests, $failed failed"
[ $failed -eq 0 ]
