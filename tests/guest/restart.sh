# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/resize-restart.sh: the plugged map survives a
# QEMU restart (state-file) and a reload of the driver. $PHASE says which
# boot this is; $EXPECT is the set of unplugged blocks the previous boot
# left; the backing file holds the pattern of $SEED where plugged.
#   A: shrink by 21 hinted blocks, then by 11 the host picks; the host
#      kills QEMU at the "kill" marker.
#   B: the same map after the restart, EIO on exactly those blocks, data
#      intact, again after rmmod + modprobe; then a grow by 11 blocks
#      and a clean power-off.
#   C: the map after that grow and power-off.
. /test/check.sh
. /test/resize-lib.sh
case "$PHASE" in A) plan 5 ;; B) plan 17 ;; C) plan 4 ;; esac

max=$(st max_size)
BS=$(st block_size)
nr=$((max / BS))
MB=$((1 << 20))

same() { [ "$1" = "$2" ] || { echo "differ: '$1' vs '$2'" | head -c 600; echo; return 1; }; }
dev_present() { test -b /dev/vssd0 && test -e "$P/map"; }
# eio_exactly RANGES WHAT: read every block; EIO on exactly RANGES.
eio_exactly() {
	pattern read-blocks /dev/vssd0 --bs "$BS" > /tmp/rb.out
	cat /tmp/rb.out
	check "$2: reads fail on exactly the unplugged blocks" same "$(eio_of /tmp/rb.out | ranges norm)" "$1"
	check "$2: no other read error" test -z "$(grep '^error-ranges:' /tmp/rb.out)"
}
zero_at() { pattern verify-zero /dev/vssd0 --offset "$1" --length "$2" --bs "$BS" >/dev/null; }
granted_zero() { echo "$1" | each_range zero_at; }

cat "$P/status"
case "$PHASE" in
A)
	check "starts fully plugged" same "$(unplugged)" ""
	check "hint 10-19 100 200-209" sh -c "echo '10-19 100 200-209' > $P/hints"
	step "shrink hints"
	check "shrunk by the 21 hinted blocks" wait_for 120 reached $((max - 21 * MB))
	check "exactly the hinted blocks are gone" same "$(unplugged)" "10-19 100 200-209"
	step "shrink host"
	check "shrunk by 11 more the host picked" wait_for 120 reached $((max - 32 * MB))
	echo "vssd.unplugged A $(unplugged)"
	step "kill"
	sleep 600
	;;
B)
	check "after the restart the map is the one before" same "$(unplugged)" "$EXPECT"
	check "status: plugged and requested size $((max - 32 * MB)), idle" reached $((max - 32 * MB))
	eio_exactly "$EXPECT" "after the restart"
	pattern verify /dev/vssd0 "$SEED" --bs "$BS" --allow-eio > /tmp/v.out
	check "every kept block holds its data" test $? = 0
	cat /tmp/v.out
	check "rmmod virtio_vssd" rmmod virtio_vssd
	check "modprobe virtio_vssd" modprobe virtio_vssd
	check "the disk is back" wait_for 10 dev_present
	check "after the reload the map is the same" same "$(unplugged)" "$EXPECT"
	check "status after the reload: still $((max - 32 * MB)) plugged" reached $((max - 32 * MB))
	eio_exactly "$EXPECT" "after the reload"
	pattern verify /dev/vssd0 "$SEED" --bs "$BS" --allow-eio > /tmp/v.out
	check "after the reload every kept block holds its data" test $? = 0
	step "grow"
	check "grown by 11 blocks" wait_for 120 reached $((max - 21 * MB))
	now=$(unplugged)
	echo "vssd.unplugged B $now"
	# The granted blocks: those of $EXPECT not in $now.
	granted=$(echo "$(echo "$EXPECT" | ranges compl "$nr") $now" | ranges compl "$nr")
	check "11 blocks granted, all from those given back" same "$(echo "$granted" | ranges count)" 11
	check "they are the lowest-numbered ones" same "$granted" "$(echo "$EXPECT" | awk '{
		for (i = 1; i <= NF && n < 11; i++) { m = split($i, x, "-"); for (k = x[1] + 0; k <= x[m] + 0 && n < 11; k++) { printf "%s%d", (n ? " " : ""), k; n++ } } }' | ranges norm)"
	check "the granted blocks read as zeros" granted_zero "$granted"
	;;
C)
	check "after the grow and a power-off the map is the same" same "$(unplugged)" "$EXPECT"
	check "status: $((max - 21 * MB)) plugged and requested, idle" reached $((max - 21 * MB))
	eio_exactly "$EXPECT" "after the power-off"
	;;
esac
check_done
