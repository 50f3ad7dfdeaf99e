#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The device's qtests and QEMU's generic qtests on a QEMU built with
# AddressSanitizer and UndefinedBehaviorSanitizer (scripts/build-qemu.sh
# --sanitize: trees of its own, a full build of its own, which is why this
# runs in make soak and not in make test). Any sanitizer report aborts the
# QEMU (or qos-test) that made it, which fails the test that ran it. TAP
# and the counts as tests/qtest/run.sh prints them.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/qemu-sanitize
if ! (cd "$top" && bash scripts/build-qemu.sh "$out" --qtest --sanitize) >&2; then
	echo "Bail out! the sanitizer build of QEMU failed"
	exit 1
fi
# QEMU does not free everything at exit: leaks are not what this looks for
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
VSSD_QTEST_OUT=$out VSSD_QTEST_TIMEOUT=900 \
	exec bash "$top/tests/qtest/run.sh" --no-build --default-only "$@"
