#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/soak/fuzz-device.sh [SECONDS]
#
# Fuzz the device through its queues with QEMU's own framework: the
# generic-fuzz target of qemu-fuzz-x86_64 (scripts/build-qemu.sh
# --sanitize: libFuzzer, ASan, UBSan) drives virtio-vssd-pci, with both
# regions, through MMIO, PIO and DMA of its virtio regions: feature
# negotiation, queue set-up, notifications and whatever descriptor chains,
# block requests and control requests that makes. First every input of
# tests/fuzz/regressions/device/ is replayed, then it fuzzes for SECONDS
# (default $VSSD_FUZZ_SECONDS or 600) from the seed corpus
# tests/fuzz/corpus/device and what earlier runs found
# (build/fuzz/device-corpus). A crash, a sanitizer report or a hang fails;
# the input is kept in build/fuzz/device-crashes/. TAP on stdout.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/qemu-sanitize
secs=${1:-${VSSD_FUZZ_SECONDS:-600}}
corpus=$top/build/fuzz/device-corpus
seeds=$top/tests/fuzz/corpus/device
crashes=$top/build/fuzz/device-crashes
regressions=$top/tests/fuzz/regressions/device

if ! (cd "$top" && bash scripts/build-qemu.sh "$out" --qtest --sanitize) >&2; then
	echo "Bail out! the sanitizer build of QEMU failed"
	exit 1
fi
mkdir -p "$corpus" "$crashes"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export QEMU_FUZZ_ARGS="-blockdev driver=null-co,node-name=vssd-disk,size=67108864,read-zeroes=on
 -object memory-backend-ram,id=vssd-pm,size=16M,share=on
 -device virtio-vssd-pci,drive=vssd-disk,memdev=vssd-pm,block-size=1M,pmem-block-size=4M"
export QEMU_FUZZ_ARGS=${QEMU_FUZZ_ARGS//$'\n'/}
export QEMU_FUZZ_OBJECTS="virtio*"
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
fuzz=("$out/qemu-fuzz-x86_64" --fuzz-target=generic-fuzz)

inputs=()
for f in "$regressions"/*; do
	[ -f "$f" ] && inputs+=("$f")
done
if [ ${#inputs[@]} -eq 0 ]; then
	echo "1..1"
else
	echo "1..2"
fi
if [ ${#inputs[@]} -eq 0 ]; then
	:
elif (cd "$work" && timeout 600 "${fuzz[@]}" "${inputs[@]}") > "$work/replay.log" 2>&1; then
	echo "ok - the ${#inputs[@]} regression inputs of tests/fuzz/regressions/device replay"
else
	tail -n 40 "$work/replay.log" | sed 's/^/# /'
	echo "not ok - the regression inputs of tests/fuzz/regressions/device replay"
fi

if (cd "$work" && timeout $((secs + 300)) "${fuzz[@]}" -max_total_time="$secs" \
	-timeout=30 -artifact_prefix="$crashes/" "$corpus" "$seeds") > "$work/fuzz.log" 2>&1; then
	echo "# $(grep -E '^Done [0-9]+ runs' "$work/fuzz.log" | tail -n 1)"
	echo "ok - $secs s of generic-fuzz on virtio-vssd-pci: no crash, no sanitizer report"
else
	tail -n 60 "$work/fuzz.log" | sed 's/^/# /'
	echo "not ok - generic-fuzz on virtio-vssd-pci (inputs in $crashes)"
fi
