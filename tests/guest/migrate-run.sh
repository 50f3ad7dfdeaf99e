# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/migrate.sh (busybox sh). One guest, migrated
# three times while this script runs; the host says through the mailbox
# disk (/dev/vda) when each migration is over.
#   0  block region: pattern of SEED1 over /dev/vssd0 (O_DIRECT); hints,
#      the host shrinks the block region by them and the pmem region by
#      two blocks; processes with live /dev/scm mappings: runc container A
#      and the host region hold their patterns (scmtest hold $HOLD s).
#   1  idle migration ("m1"): the map, the block data, the held mappings.
#   2  migration during I/O ("m2"): a loop writes and verifies a new seed
#      per pass on /dev/vssd0 and in the region of unshare container U,
#      running before, across and after the migration.
#   3  a resize of both regions in flight: the driver waits for its agent
#      (agent_timeout_ms) while the host migrates ("m3"); then the agent
#      says "ready" and the destination finishes it.
#   4  the host migrates twice more (postcopy, then idle precopy), asks
#      for 4 MiB less block region and migrates slowly; once that runs it
#      says "go" and the agent answers: the device says BUSY, the driver
#      retries and the destination takes the blocks. Then "end": the
#      held mappings and the regions are verified once more.
# Every step ends with the map on the console ("vssd.map TAG ..."), which
# the host compares with the device's state files.
# Environment: SEED1, SEED_A, SEED_H, SEED2, SEED_U, HOLD.
. /test/check.sh
. /test/scm-lib.sh
. /test/resize-lib.sh
plan 31

BS=$(st block_size)
max=$(st max_size)
MB=$((1 << 20))

same() { [ "$1" = "$2" ] || { echo "differ: '$1' vs '$2'"; return 1; }; }
show_map() { echo "vssd.map $1 $(cat "$P/map")"; }
pmem_reached() {
	[ "$(st pmem_plugged_size)" = "$1" ] && [ "$(st pmem_requested_size)" = "$1" ]
}
# alive PID: the process still runs (its mapping is live)
alive() { kill -0 "$1" 2>/dev/null; }
# eio_exactly RANGES: every block read; EIO on exactly RANGES
eio_exactly() {
	pattern read-blocks /dev/vssd0 --bs "$BS" > /tmp/rb.out
	same "$(eio_of /tmp/rb.out | ranges norm)" "$1"
}

# --- 0: data, a completed shrink, live mappings --------------------------
cat "$P/status"
check "block region: pattern of SEED1 written (O_DIRECT)" \
	pattern write /dev/vssd0 "$SEED1" --bs "$BS"
check "hints 5 20-23 40" sh -c "echo '5 20-23 40' > $P/hints"
step hinted
wait_told shrunk
check "shrink done: exactly the hinted blocks are gone" same "$(unplugged)" "5 20-23 40"
check "pmem region shrunk by 4 MiB" pmem_reached $(($(st pmem_max_size) - 4 * MB))
ct_start A "scmtest hold $SEED_A $HOLD"
HOLD_A=$CT_PID
scmtest hold "$SEED_H" "$HOLD" > /tmp/hold-h.out 2>&1 &
HOLD_H=$!
check "runc A and the host region hold their mappings" \
	wait_for 60 sh -c 'grep -q mapped /tmp/ct-A.out && grep -q mapped /tmp/hold-h.out'
scm_regions before
show_map before
MAP0=$(cat "$P/map")
step ready

# --- 1: idle migration ------------------------------------------------------
wait_told m1
show_map m1
check "m1: the map is the one before" same "$(cat "$P/map")" "$MAP0"
check "m1: block data intact (every plugged block, EIO on the others)" \
	pattern verify /dev/vssd0 "$SEED1" --bs "$BS" --allow-eio
check "m1: runc A and the host region still hold their mappings" \
	sh -c "kill -0 $HOLD_H && kill -0 $HOLD_A"
check "m1: a new mapping of the host region sees its pattern" scmtest verify "$SEED_H"

# --- 2: migration during I/O -----------------------------------------------
# pass k writes (every plugged block: a write to another fails with EIO)
# and verifies SEED2 + k on the disk and SEED_U + k in U's region; the last
# pass finished is in /tmp/io-last, failures in /tmp/io-bad
write_at() { pattern write /dev/vssd0 "$IO_SEED" --offset "$1" --length "$2" --bs "$BS" >/dev/null; }
io_loop() {
	k=0
	: > /tmp/io-bad
	while [ ! -f /tmp/io-stop ]; do
		k=$((k + 1))
		echo "io pass $k start"
		IO_SEED=$((SEED2 + k))
		each_range write_at < "$P/map" &&
			pattern verify /dev/vssd0 $((SEED2 + k)) --bs "$BS" --allow-eio >/dev/null ||
			echo "disk pass $k" >> /tmp/io-bad
		ct_unshare U "scmtest write $((SEED_U + k)) && scmtest verify $((SEED_U + k))" >/dev/null ||
			echo "scm pass $k" >> /tmp/io-bad
		echo "$k" > /tmp/io-last
		echo "io pass $k done"
	done
}
io_loop &
IO_PID=$!
wait_for 120 test -f /tmp/io-last
step io
wait_told m2
touch /tmp/io-stop
wait "$IO_PID"
last=$(cat /tmp/io-last)
echo "vssd.io last $last"
check "m2: the I/O loop ran across the migration (passes: $last)" test "$last" -ge 2
check "m2: every pass verified its data" sh -c '! test -s /tmp/io-bad'
check "m2: the disk holds the last pass's pattern" \
	pattern verify /dev/vssd0 $((SEED2 + last)) --bs "$BS" --allow-eio
check "m2: U's region holds the last pass's pattern" \
	ct_unshare U "scmtest verify $((SEED_U + last))"
check "m2: runc A and the host region still hold their mappings" \
	sh -c "kill -0 $HOLD_H && kill -0 $HOLD_A"
scm_regions m2
show_map m2

# --- 3: a resize in flight --------------------------------------------------
echo 120000 > /sys/module/virtio_vssd/parameters/agent_timeout_ms
step agent
# the host asks for 50 MiB of block and 4 MiB less pmem, then migrates
wait_told m3
cat "$P/status"
check "m3: the shrink is still pending (the agent did not answer)" \
	sh -c "grep -q shrink $P/pending"
# the agent: go-ahead for each target as it comes
agent() {
	n=0
	while [ $n -lt 600 ]; do
		reached $((50 * MB)) && pmem_reached $(($(st pmem_max_size) - 8 * MB)) && return 0
		grep -q shrink "$P/pending" && echo ready > "$P/pending" 2>/dev/null
		sleep 0.2
		n=$((n + 1))
	done
	return 1
}
# agent_to BYTES: the agent's go-ahead until the block region is at BYTES
agent_to() {
	n=0
	while [ $n -lt 600 ]; do
		reached "$1" && return 0
		grep -q shrink "$P/pending" && echo ready > "$P/pending" 2>/dev/null
		sleep 0.2
		n=$((n + 1))
	done
	return 1
}
check "m3: the destination finished both shrinks" agent
cat "$P/status"
gone=$(unplugged)
echo "vssd.unplugged $gone"
show_map final
check "m3: 14 blocks gone, the hinted ones among them" \
	sh -c "test $(echo "$gone" | ranges count) = 14 && echo '$gone' | grep -q '20-23'"
check "m3: reads fail with EIO on exactly the unplugged blocks" eio_exactly "$gone"
check "m3: every kept block holds the last pass's pattern" \
	pattern verify /dev/vssd0 $((SEED2 + last)) --bs "$BS" --allow-eio
check "m3: U's region holds the last pass's pattern" \
	ct_unshare U "scmtest verify $((SEED_U + last))"
check "m3: the mappings lived across the three migrations" \
	sh -c "kill -0 $HOLD_H && kill -0 $HOLD_A"
step final
# the host migrates twice more, asks for 46 MiB and migrates again; its
# "go" comes while that migration runs
wait_told go 300
busy0=$(st resize_busy)
check "go: the shrink to 46 MiB finished (asked for during a migration)" agent_to $((46 * MB))
echo "vssd.busy $busy0 -> $(st resize_busy)"
check "go: the device answered BUSY during the migration ($busy0 -> $(st resize_busy))" \
	test "$(st resize_busy)" -gt "$busy0"
gone=$(unplugged)
show_map busy
check "go: 18 blocks gone in all" test "$(echo "$gone" | ranges count)" = 18
check "go: reads fail with EIO on exactly the unplugged blocks" eio_exactly "$gone"
wait_told end 300
wait "$HOLD_H"
check "host region: the held mapping verified its pattern ($HOLD s)" test $? = 0
cat /tmp/hold-h.out
check "runc A: the held mapping verified its pattern" ct_wait A
check "host region: a new mapping sees its pattern" scmtest verify "$SEED_H"
check "runc A: a new container sees A's pattern" ct_run A "scmtest verify $SEED_A"
check "negative control: A's region does not hold the host's pattern" \
	ct_run A "scmtest verify $SEED_H; test \$? = 1"
scm_regions final
check "unplugged_io_errors counted the reads of unplugged blocks" \
	test "$(st unplugged_io_errors)" -gt 0
check_done
