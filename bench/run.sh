#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/run.sh — every benchmark (`make bench`).
#
# Builds the static guest fio (scripts/build-fio.sh, cached in $VSSD_CACHE),
# then runs each bench/*/run.sh with the output folder build/bench, where
# each writes its CSV, Markdown and PNG files. Needs QEMU and the guest
# image (`make qemu image`; `make bench` builds them first).
# Exit status: non-zero if any benchmark failed.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/bench
mkdir -p "$out"

bash "$top/scripts/build-fio.sh" "$out/fio" || exit 1

failed=
for b in "$top"/bench/*/run.sh; do
	name=$(basename "$(dirname "$b")")
	echo "==== bench $name"
	start=$SECONDS
	if VSSD_FIO=$out/fio bash "$b" "$out"; then
		echo "==== bench $name: done in $((SECONDS - start)) s"
	else
		echo "==== bench $name: FAILED after $((SECONDS - start)) s"
		failed="$failed $name"
	fi
done

echo
echo "Outputs in $out:"
(cd "$out" && ls -1 ./*.csv ./*.md ./*.png 2>/dev/null | sed 's|^\./|  |')
if [ -n "$failed" ]; then
	echo "failed:$failed"
	exit 1
fi
