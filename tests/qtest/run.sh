#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build QEMU with the qtests, for every QEMU version the device supports
# (10.0 and 7.2), and run on each the virtio-vssd qos tests and QEMU's own
# generic qtests device-introspect-test, qom-test and qmp-cmd-test with the
# device built in.
#
#   bash tests/qtest/run.sh [--no-build] [--default-only] [FILTER...]
#
# --no-build      use build/qemu and build/qemu-V as they are (default:
#                 build them through scripts/build-qemu.sh first)
# --default-only  only build/qemu: the version make qemu builds ($QEMU_VERSION,
#                 or scripts/build-qemu.sh's default), not the other one
# VSSD_QTEST_OUT  the build to test instead of build/qemu (with --no-build)
# FILTER          run only the tests whose path contains one of these strings
#
# build/qemu is the default version (the one the guest tests use);
# build/qemu-V holds the other version V, built only for its qtests.
#
# Each vssd test runs in its own qos-test process (and its own QEMU), so a
# failed assertion, which aborts qos-test, does not hide the tests after
# it; each generic qtest binary runs once and every test it lists is
# reported (a test it never reported fails). The output is TAP on stdout:
# one "ok"/"not ok" line per test, named "[VERSION] PATH", the output of
# the tests and QEMU as "#" comments; the build log goes to stderr.
#
# Exit status: 0 only if at least one vssd test ran on every version and
# every test passed. Zero tests (the device is missing from the build, or
# the libqos node did not register) is a failure, not a silent pass.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# another build of the default version (tests/soak/qtest-sanitize.sh)
OUT=${VSSD_QTEST_OUT:-$ROOT/build/qemu}
# The versions scripts/build-qemu.sh supports.
QEMU_VERSIONS=(10.0 7.2)
# QEMU's own qtests, run with every version (built by build-qemu.sh --qtest).
GENERIC_QTESTS=(device-introspect-test qom-test qmp-cmd-test)
# Per-test limit; qos-test's own limit on a QEMU answer is much shorter.
TEST_TIMEOUT=${VSSD_QTEST_TIMEOUT:-300}
# The qos graph path of every vssd test contains this node.
TEST_NODE=/virtio-vssd-tests/

BUILD=1
ALL_VERSIONS=1
FILTERS=()
for arg in "$@"; do
	case $arg in
	--no-build) BUILD=0 ;;
	--default-only) ALL_VERSIONS=0 ;;
	-h|--help) sed -n '4,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "run.sh: unknown option $arg" >&2; exit 2 ;;
	*) FILTERS+=("$arg") ;;
	esac
done

# major.minor of the QEMU in output folder $1
out_version() {
	cut -d. -f1,2 "$1/qemu-version" 2>/dev/null
}

if [ $BUILD = 1 ]; then
	# Build output is not TAP: keep stdout clean for the TAP consumer.
	if ! (cd "$ROOT" && bash scripts/build-qemu.sh build/qemu --qtest) >&2; then
		echo "Bail out! QEMU build failed"
		exit 1
	fi
	if [ $ALL_VERSIONS = 1 ]; then
		for v in "${QEMU_VERSIONS[@]}"; do
			[ "$v" = "$(out_version "$OUT")" ] && continue
			if ! (cd "$ROOT" && QEMU_VERSION=$v QEMU_SRC= \
				bash scripts/build-qemu.sh "build/qemu-$v" --qtest) >&2; then
				echo "Bail out! QEMU $v build failed"
				exit 1
			fi
		done
	fi
fi

OUTS=("$OUT")
if [ $ALL_VERSIONS = 1 ]; then
	for v in "${QEMU_VERSIONS[@]}"; do
		[ "$v" = "$(out_version "$OUT")" ] && continue
		OUTS+=("$ROOT/build/qemu-$v")
	done
fi
for out in "${OUTS[@]}"; do
	for f in "$out/qemu-version" "$out/qemu-system-x86_64" "$out/qos-test" \
		"${GENERIC_QTESTS[@]/#/$out/}"; do
		if [ ! -e "$f" ]; then
			echo "Bail out! $f missing: build with scripts/build-qemu.sh ${out#"$ROOT"/} --qtest"
			exit 1
		fi
	done
done

keep_path() {
	local f
	[ ${#FILTERS[@]} -gt 0 ] || return 0
	for f in "${FILTERS[@]}"; do
		case $1 in *"$f"*) return 0 ;; esac
	done
	return 1
}

# The tests, one "OUTDIR<TAB>BINARY<TAB>PATH" line each. qos-test and the
# generic tests list the paths this QEMU binary can run (they ask QEMU which
# machines and devices exist).
tests=()
for out in "${OUTS[@]}"; do
	export QTEST_QEMU_BINARY=$out/qemu-system-x86_64
	if ! listing=$("$out/qos-test" -l 2>&1); then
		printf '%s\n' "$listing" | sed 's/^/# /'
		echo "Bail out! $out/qos-test -l failed"
		exit 1
	fi
	n_vssd=0
	while IFS= read -r path; do
		n_vssd=$((n_vssd + 1))
		keep_path "$path" && tests+=("$out	qos-test	$path")
	done < <(printf '%s\n' "$listing" | grep -e "$TEST_NODE" | sed 's/^ *//')
	if [ $n_vssd -eq 0 ]; then
		echo "1..0"
		echo "# qos-test of QEMU $(cat "$out/qemu-version") found no virtio-vssd test (is virtio-vssd-pci built in?):"
		printf '%s\n' "$listing" | sed 's/^/#   /'
		echo "Bail out! zero vssd tests"
		exit 1
	fi
	for t in "${GENERIC_QTESTS[@]}"; do
		if ! listing=$("$out/$t" -l 2>&1); then
			printf '%s\n' "$listing" | sed 's/^/# /'
			echo "Bail out! $out/$t -l failed"
			exit 1
		fi
		while IFS= read -r path; do
			keep_path "$path" && tests+=("$out	$t	$path")
		done < <(printf '%s\n' "$listing" | grep -e '^/')
	done
done

if [ ${#tests[@]} -eq 0 ]; then
	echo "1..0"
	echo "Bail out! no test matches ${FILTERS[*]}"
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
declare -A generic_output generic_rc generic_secs
for entry in "${tests[@]}"; do
	IFS=$'\t' read -r out bin path <<<"$entry"
	n=$((n + 1))
	ver=$(cat "$out/qemu-version")
	export QTEST_QEMU_BINARY=$out/qemu-system-x86_64
	if [ "$bin" != qos-test ]; then
		# A generic qtest binary runs once, at its first listed test.
		key="$out/$bin"
		if [ -z "${generic_rc[$key]+set}" ]; then
			start=$(date +%s)
			generic_output[$key]=$(timeout -s ABRT -k 10 "$TEST_TIMEOUT" \
				"$out/$bin" --tap 2>&1)
			generic_rc[$key]=$?
			generic_secs[$key]=$(( $(date +%s) - start ))
			echo "# QEMU $ver: $bin --tap (exit ${generic_rc[$key]}, ${generic_secs[$key]}s):"
			printf '%s\n' "${generic_output[$key]}" | sed 's/^/# /'
		fi
		if [ "${generic_rc[$key]}" -eq 0 ] &&
			grep -q -E -x "ok [0-9]+ $(printf '%s' "$path" | sed 's/[][\.*^$+?(){}|]/\\&/g')" \
				<<<"${generic_output[$key]}"; then
			echo "ok $n - [$ver] $bin $path"
		else
			echo "not ok $n - [$ver] $bin $path (exit ${generic_rc[$key]})"
			failed=$((failed + 1))
		fi
		continue
	fi
	start=$(date +%s)
	# SIGABRT lets libqtest kill its QEMU before qos-test dies.
	output=$(timeout -s ABRT -k 10 "$TEST_TIMEOUT" \
		"$out/qos-test" --tap -p "$path" 2>&1)
	rc=$?
	secs=$(( $(date +%s) - start ))
	printf '%s\n' "$output" | sed 's/^/# /'
	# Pass: exit 0 and exactly this test reported ok, not skipped. (A
	# here-string, not a pipe: grep -q stops reading early, and under
	# pipefail the writer's SIGPIPE would fail a passing test.)
	if [ $rc -eq 0 ] &&
		grep -q -x -F "ok 1 $path" <<<"$output" &&
		! grep -q -e '^not ok' -e '# SKIP' <<<"$output"; then
		echo "ok $n - [$ver] $path (${secs}s)"
	else
		[ $rc -eq 124 ] || [ $rc -eq 134 ] && [ $secs -ge "$TEST_TIMEOUT" ] &&
			echo "# timed out after ${TEST_TIMEOUT}s"
		echo "not ok $n - [$ver] $path (exit $rc, ${secs}s)"
		failed=$((failed + 1))
	fi
done

for out in "${OUTS[@]}"; do
	ver=$(cat "$out/qemu-version")
	c_all=0 c_vssd=0
	for entry in "${tests[@]}"; do
		case $entry in
		"$out	qos-test	"*) c_vssd=$((c_vssd + 1)); c_all=$((c_all + 1)) ;;
		"$out	"*) c_all=$((c_all + 1)) ;;
		esac
	done
	echo "# QEMU $ver: $c_vssd vssd tests, $((c_all - c_vssd)) generic qtests"
done
echo "# ${#tests[@]} tests, $failed failed"
[ $failed -eq 0 ]
