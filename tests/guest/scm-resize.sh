# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/scm-resize.sh (busybox sh): the pmem region is
# shrunk and grown by the host (ssd-balloon "region": "pmem") while runc
# containers hold data in it. The host drives; the steps meet through
# "vssd.step NAME" markers (guest -> host) and the mailbox disk (host ->
# guest). Environment: SEED_A SEED_B SEED_C SEED_H, HALF (bytes), H_SIZE.
#   ready         A and B wrote their patterns (new regions read as zeroes
#                 although the host file held junk there)
#   shrunk        (host: policy guest, to HALF) plugged size HALF, data
#                 intact, nothing pending
#   short         (host: below what the regions use) the guest stops
#                 short: pending "shrink N pmem", pmem_short_blocks > 0,
#                 data intact, a new region does not fit
#   grown         (host: back to the maximum) everything plugged again; a
#                 new region C works
#   holding       container H (H_SIZE) maps its region and holds it
#   taken         (host: policy host) H's mapping survives or dies of
#                 SIGBUS, never shows other data; every block of every
#                 region is probed: "scm.taken NAME BLOCK" for each block
#                 that gives SIGBUS; "scm.rc NAME N" for each verify
#   done          (host: grown back) still working
. /test/check.sh
. /test/scm-lib.sh
plan 19

[ -c /dev/scm ] || { check "/dev/scm is a character device" false; check_done; }
BS=$(sst pmem_block_size)
MAX=$(sst pmem_max_size)
PARAM=/sys/module/virtio_vssd/parameters/scm_default_size
echo $((4 << 20)) > "$PARAM"

pending() { cat /proc/vssd/vssd0/pending; }
show() {
	echo "scm: $1: plugged $(sst pmem_plugged_size) requested $(sst pmem_requested_size)" \
		"short $(sst pmem_short_blocks) pending '$(pending)'"
}
idle_at() {
	[ "$(sst pmem_plugged_size)" = "$1" ] && [ "$(pending)" = none ]
}

check "A: a new region reads as zeroes; write A's pattern" \
	ct_run A "scmtest zero && scmtest write $SEED_A"
check "B: a new region reads as zeroes; write B's pattern" \
	ct_run B "scmtest zero && scmtest write $SEED_B"
scm_regions start
show start
step ready

# --- guest policy: give back free blocks only ---------------------------------------
wait_told shrunk
show shrunk
check "shrink: pmem_plugged_size is $HALF, nothing pending" idle_at "$HALF"
check "shrink: pmem_short_blocks 0" test "$(sst pmem_short_blocks)" = 0
check "shrink: A intact" ct_run A "scmtest verify $SEED_A"
check "shrink: B intact" ct_run B "scmtest verify $SEED_B"
step checked-shrink

# --- below what the regions use: stop short ---------------------------------------
short_reached() {
	pending | grep -q '^shrink [1-9][0-9]* pmem$' && [ "$(sst pmem_short_blocks)" -gt 0 ]
}
check "too deep a shrink stops short (pending 'shrink N pmem', pmem_short_blocks > 0)" \
	wait_for 90 short_reached
show short
check "stopped short: A intact" ct_run A "scmtest verify $SEED_A"
check "stopped short: B intact" ct_run B "scmtest verify $SEED_B"
check "stopped short: a new region does not fit (ENOSPC)" ct_run D "
	scmtest info 2>&1 | tee /tmp/o; grep -q 'No space left on device' /tmp/o"
step short

# --- grow back ----------------------------------------------------------------------
wait_told grown
show grown
check "grown: everything plugged, nothing pending" wait_for 30 idle_at "$MAX"
check "grown: A intact" ct_run A "scmtest verify $SEED_A"
check "grown: B intact" ct_run B "scmtest verify $SEED_B"
check "grown: a new region C fits, reads as zeroes" \
	ct_run C "scmtest zero && scmtest write $SEED_C"

# --- policy host: a container maps its region while the device takes blocks ------
echo "$H_SIZE" > "$PARAM"
ct_start H "scmtest hold $SEED_H 20"
check "H maps its region and holds it" wait_for 60 grep -q 'mapped' /tmp/ct-H.out
echo $((4 << 20)) > "$PARAM"
scm_regions holding
show holding
step holding

told_taken() { told taken || told taken-table; }
wait_for 120 told_taken
show taken
ct_wait H
echo "scm.rc H $?"
for r in A B C; do
	eval "seed=\$SEED_$r"
	ct_run $r "scmtest verify $seed"
	echo "scm.rc $r $?"
done
if told taken; then
	check "after the host-policy shrink: a new region E can be created" \
		ct_run E "scmtest info | grep -q 'name=E '"
else
	echo "scm: the host took the block of the region table"
	ct_run E "scmtest info"
	echo "scm.rc E $?"
fi
# probe every block of every region (the probes change one byte of each
# block that is still there: after the verifies on purpose)
for r in A B C H; do
	off=$(scm_region $r offset)
	size=$(scm_region $r size)
	[ -n "$off" ] || continue
	ct_run $r "
		o=0
		while [ \$o -lt $size ]; do
			if scmtest sigbus \$o >/dev/null; then
				echo scm.taken $r \$((($off + \$o) / $BS))
				# the kernel never writes back a taken block
				scmtest sync-fails \$o 5 >/dev/null ||
					echo scm.synced-taken $r \$o
			fi
			o=\$((o + $BS))
		done" | grep 'scm\.taken\|scm\.synced-taken'
done | tee /tmp/probed
check "no sync wrote back a block the host took (EIO for SYNC and SYNCV)" \
	sh -c '! grep -q scm.synced-taken /tmp/probed'
step probed

wait_told done
show done
check "after the host-policy shrink and the grow: everything plugged" wait_for 30 idle_at "$MAX"
check "after it all: the host region works" sh -c "scmtest write 1 $BS && scmtest verify 1 $BS"
check_done
