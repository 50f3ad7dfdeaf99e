# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/cache.sh, boots 2 and 3: a cache in mode $MODE
# on /dev/vssd0 (128 MiB in 64 KiB blocks) over /dev/vda while the host
# shrinks and grows the vSSD (QMP ssd-balloon at each "vssd.step"
# marker) and a verified random workload runs on /dev/mapper/c1:
#   cycle1/cycle2  shrink 25 % and 50 %, grow back (the grown blocks are
#                  in use within 1 s)
#   dirty          (writeback) a write burst, then a shrink that must give
#                  up dirty blocks: exactly those are written back
#   race           a second target while the first shrink runs
#   kill           the agent's worker killed (kill -9) during a shrink
#   killop         the process doing a shrink killed while it dumps the
#                  metadata
# After every step the cache uses exactly the plugged vSSD blocks and no
# I/O hit an unplugged one. At the end: no data error, remove, the origin
# holds every write (its sha256 is printed for the host to compare).
. /test/check.sh
. /test/resize-lib.sh
. /test/cache-lib.sh

MODE=${MODE:-writeback}
MAX=$((128 << 20))
BLOCKS=24576	# 96 MiB of the origin in 4 KiB blocks
if [ "$MODE" = writeback ]; then plan 62; else plan 52; fi

check "create c1 ($MODE)" vssd-cache create c1 --origin /dev/vda --cache /dev/vssd0 --mode "$MODE"
check "warm-up workload" cache-io run /dev/mapper/c1 /tmp/st --blocks $BLOCKS --seconds 3

workload_start() {
	rm -f /tmp/stop
	cache-io run /dev/mapper/c1 /tmp/st --blocks $BLOCKS --seconds 600 --stop /tmp/stop > /tmp/wl.out 2>&1 &
	wl_pid=$!
}

workload_stop() {
	touch /tmp/stop
	wait "$wl_pid"
	wl_rc=$?
	cat /tmp/wl.out
	check "$1: the workload saw no data or I/O error" test "$wl_rc" = 0
}

# settled NAME BYTES: the vSSD reached BYTES and the cache follows it.
settled() {
	wait_for 60 reached "$2" || { echo "$1: not reached: $(cat $P/pending)"; st plugged_size; }
	check "$1: the vSSD is at $(($2 >> 20)) MiB" reached "$2"
	wait_for 10 cache_blocks_plugged
	check "$1: the cache uses exactly the plugged vSSD blocks" cache_blocks_plugged
	check "$1: no I/O hit an unplugged block" test "$(st unplugged_io_errors)" = 0
}

# shrink_to NAME BYTES: ask the host, then check the result.
shrink_to() {
	_r=$(cst resizes)
	step "$1 $2"
	settled "$1" "$2"
	check "$1: the agent did the shrink" test "$(cst resizes)" -gt "$_r"
	echo "$1: kept_hot=$(cst last_kept_hot) wb=$(cst last_writeback_bytes) dirty_gone=$(cst last_dirty_given_up_bytes)"
	check "$1: only given-up dirty blocks were written back" \
		test "$(cst last_writeback_bytes)" = "$(cst last_dirty_given_up_bytes)"
}

# grow_back NAME: ask the host for the maximum; the cache uses the new
# blocks within 1 s of the driver plugging them (the goal; the check
# allows 2 s on a loaded host, the time is printed).
grow_back() {
	step "$1 grow"
	wait_for 60 reached $MAX
	_t0=$(now_cs)
	wait_for 5 cache_follows_map
	_t1=$(now_cs)
	echo "$1: the cache took the grown blocks in $((_t1 - _t0))0 ms"
	check "$1 grow: the cache uses every plugged block within 2 s" \
		sh -c "[ $((_t1 - _t0)) -le 200 ]"
	settled "$1 grow" $MAX
}

workload_start
shrink_to cycle1 $((96 << 20))
check "cycle1: kept-hot fraction >= 0.95" awk -v f="$(cst last_kept_hot)" 'BEGIN { exit !(f >= 0.95) }'
grow_back cycle1
shrink_to cycle2 $((64 << 20))
grow_back cycle2
workload_stop cycles

if [ "$MODE" = writeback ]; then
	# Many dirty blocks, spread over the whole data set (1536 cache
	# blocks): a shrink to 40 MiB keeps 506 slots, fewer than the free and
	# clean ones, so it must give up dirty blocks.
	cache-io run /dev/mapper/c1 /tmp/st --blocks $BLOCKS --seconds 4 --writes 100 --hot 0
	echo "dirty before the shrink: $(cst dirty_blocks)"
	shrink_to dirty $((40 << 20))
	check "dirty: the given-up area held dirty blocks" test "$(cst last_dirty_given_up_bytes)" -gt 0
	check "dirty: everything reads back" cache-io verify /dev/mapper/c1 /tmp/st
	grow_back dirty
else
	check "writethrough: nothing is ever dirty" test "$(cst dirty_blocks)" = 0
fi

workload_start
# race: the host sends a second target while this shrink runs
step "race"
settled race $((80 << 20))
grow_back race

# kill: the worker dies while the shrink runs; the resize goes on in its
# own process, a new worker takes over
step "kill"
wait_for 30 grep -q '^shrink' "$P/pending"
usleep $(( $(awk 'BEGIN { srand(); print int(rand() * 400000) }') ))
kill -9 "$(cat /run/vssd-cache/c1.worker)"
echo "kill: killed the worker at pending '$(cat $P/pending)'"
settled kill $((96 << 20))
check "kill: the agent runs again" test "$(cst agent)" = running
grow_back kill

# killop: the process doing the shrink dies while it dumps the metadata
# (the cache suspended); the next one repairs and shrinks. A slow
# cache_dump (a wrapper that waits a second) makes the moment certain.
mv /usr/sbin/cache_dump /usr/sbin/cache_dump.real
printf '#!/bin/sh\ntouch /tmp/dumping\nsleep 1\nexec /usr/sbin/pdata_tools cache_dump "$@"\n' > /usr/sbin/cache_dump
chmod +x /usr/sbin/cache_dump
rm -f /tmp/dumping
step "killop"
wait_for 60 test -e /tmp/dumping
check "killop: a resize process was dumping the metadata" test -e /tmp/dumping
check "killop: the cache is suspended meanwhile" sh -c 'dmsetup info c1 | grep -q SUSPENDED'
kill -9 "$(cat /run/vssd-cache/c1.op)"
rm -f /usr/sbin/cache_dump
mv /usr/sbin/cache_dump.real /usr/sbin/cache_dump
settled killop $((96 << 20))
grow_back killop
workload_stop end

check "every block reads back" cache-io verify /dev/mapper/c1 /tmp/st
check "no cache I/O error in the kernel log" sh -c '! dmesg | grep -E "device-mapper: cache|I/O error"'
vssd-cache status c1
check "remove c1" vssd-cache remove c1
check "the origin holds every write" cache-io verify /dev/vda /tmp/st
sync
echo "origin-sha256 $(sha256sum /dev/vda | cut -d' ' -f1)"
check_done
