#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The host tool's own suite (qmp-tools/tests): size parsing, the QMP client,
# the command line, a real QEMU, and a real libvirt daemon. Its PASS:,
# FAIL: and SKIP: lines are reported as TAP (a skip as "# SKIP", which
# tests/run.sh fails: the project installs everything these tests need),
# with the plan at the end.
set -o pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
n=0
timeout --kill-after=30 1200 make -s -C "$top/qmp-tools" OUT="$top/build/qmp-tools" check-libvirt 2>&1 |
{
	while IFS= read -r line; do
		case "$line" in
		PASS:*) n=$((n + 1)); echo "ok $n - vssdctl: ${line#PASS: }" ;;
		FAIL:*) n=$((n + 1)); echo "not ok $n - vssdctl: ${line#FAIL: }" ;;
		SKIP:*) n=$((n + 1)); echo "ok $n - vssdctl: ${line#SKIP: } # SKIP" ;;
		*) echo "# $line" ;;
		esac
	done
	echo "1..$n"
}
