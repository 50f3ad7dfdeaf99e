# SPDX-License-Identifier: GPL-2.0-or-later
# Guest half of tests/e2e/discard.sh, second boot: discard [OFF, OFF+LEN)
# of /dev/vssd0; that range reads as zeroes, the rest keeps its data.
# (/sbin/blkdiscard is util-linux's: busybox's applet has no -z.)
. /test/check.sh
plan 9

gran=$(cat /sys/block/vssd0/queue/discard_granularity 2>/dev/null)
maxb=$(cat /sys/block/vssd0/queue/discard_max_bytes 2>/dev/null)
echo "discard: granularity=$gran max_bytes=$maxb"
check "the queue advertises discard" test "${maxb:-0}" -gt 0
check "blkdiscard $OFF+$LEN" /sbin/blkdiscard -o "$OFF" -l "$LEN" /dev/vssd0
echo 3 > /proc/sys/vm/drop_caches
check "the discarded range reads as zeroes" pattern verify-zero /dev/vssd0 --offset "$OFF" --length "$LEN"
check "the data before it is intact" pattern verify /dev/vssd0 "$SEED" --length "$OFF"
check "the data after it is intact" pattern verify /dev/vssd0 "$SEED" --offset $((OFF + LEN))
check_fails "negative control: the range no longer holds the pattern" \
	pattern verify /dev/vssd0 "$SEED" --offset "$OFF" --length "$LEN"
check "write zeroes (BLKZEROOUT) on a further range" /sbin/blkdiscard -z -o $((OFF + LEN)) -l 1M /dev/vssd0
check "it reads as zeroes" pattern verify-zero /dev/vssd0 --offset $((OFF + LEN)) --length 1M
check "restore the pattern there" pattern write /dev/vssd0 "$SEED" --offset $((OFF + LEN)) --length 1M
check_done
