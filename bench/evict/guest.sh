#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of bench/evict (busybox sh, run by init as /test/run.sh).
#
# One policy per boot (EVICT_POLICY, from the host):
#   guest    hints from a second trace (seed 2): the blocks it did not
#            touch, farthest from its mean, written to
#            /proc/vssd/vssd0/hints; the driver gives those back
#   nohints  guest policy without hints: the driver's own choice
#            (untouched blocks from the top, then least recently used)
#   host     "policy": "host": the device picks the blocks (uniformly)
#   hoststep the same in 16 smaller steps (the host side differs only)
# Steps: warm-up reads (trace seed 1), hints, "bench.evict: shrink" on
# the console, which makes the host send ssd-balloon; wait until the
# driver shows the smaller size; then the measured reads (trace seed 3,
# the same for every policy). Results are lines
#   bench.evict.result policy=P phase=warmup|measure reads=N hits=H misses=M ms=T
# for bench/evict/report.py.

# EVICT_POLICY, EVICT_WARMUP, EVICT_READS, EVICT_SHRINK_BLOCKS (vm_start --env).
# shellcheck disable=SC1091 # written by tests/lib/vm.sh at boot
. /test/env.sh

EVICT=/test/evict
DEV=/dev/vssd0
PROC=/proc/vssd/vssd0

status_value() {
	sed -n "s/^$1: *//p" $PROC/status
}

wait_disk() {
	i=0
	while [ ! -b $DEV ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "bench.evict: $DEV missing"; return 1; }
		sleep 0.1
	done
}

# run_reads PHASE SEED COUNT: one "bench.evict.result" line.
run_reads() {
	res=$($EVICT read $DEV --seed "$2" --count "$3") || return 1
	echo "bench.evict.result policy=$EVICT_POLICY phase=$1 ${res#evict: }"
}

# wait_plugged BYTES: until the driver has given back down to BYTES.
wait_plugged() {
	i=0
	while [ "$(status_value plugged_size)" != "$1" ] ||
		[ "$(status_value state)" != idle ]; do
		i=$((i + 1))
		if [ $i -gt 6000 ]; then
			echo "bench.evict: still $(status_value plugged_size) bytes after 10 min"
			return 1
		fi
		sleep 0.1
	done
}

wait_disk || exit 1
bs=$(status_value block_size)
max=$(status_value max_size)
if [ "$bs" != 4096 ]; then
	echo "bench.evict: block size $bs, expected 4096"
	exit 1
fi
echo "bench.evict: policy $EVICT_POLICY, $((max / bs)) blocks of $bs bytes"

run_reads warmup 1 "$EVICT_WARMUP" || exit 1

if [ "$EVICT_POLICY" = guest ]; then
	$EVICT hints $DEV --seed 2 --count "$EVICT_READS" \
		--coldest "$EVICT_SHRINK_BLOCKS" --write $PROC/hints || exit 1
else
	echo clear > $PROC/hints || exit 1
fi
echo "bench.evict: hinted_blocks=$(status_value hinted_blocks) hints=$(cut -c1-120 $PROC/hints)"

target=$((max - EVICT_SHRINK_BLOCKS * bs))
echo "bench.evict: shrink to $target"
wait_plugged $target || exit 1
echo "bench.evict: after the shrink: evicted_blocks=$(status_value evicted_blocks)" \
	"hinted_blocks=$(status_value hinted_blocks)" \
	"map_ranges=$(wc -w < $PROC/map)"

run_reads measure 3 "$EVICT_READS" || exit 1
echo "bench.evict: unplugged_io_errors=$(status_value unplugged_io_errors)" \
	"resize_refused=$(status_value resize_refused) resize_errors=$(status_value resize_errors)"
