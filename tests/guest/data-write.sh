# SPDX-License-Identifier: GPL-2.0-or-later
# Guest half of tests/e2e/data.sh, first boot: fill /dev/vssd0 with the
# pattern of $SEED and read it back. Needs SEED, SIZE.
. /test/check.sh

check "/dev/vssd0 is a block device" test -b /dev/vssd0
check "/proc/vssd/vssd0/status exists" test -r /proc/vssd/vssd0/status
cat /proc/vssd/vssd0/status
check "size is $SIZE bytes" test "$(blockdev --getsize64 /dev/vssd0)" = "$SIZE"
check "write the pattern of seed $SEED" pattern write /dev/vssd0 "$SEED"
check "verify it" pattern verify /dev/vssd0 "$SEED"
# Drop what the page cache may hold and read again through it too.
echo 3 > /proc/sys/vm/drop_caches
check "verify through the page cache" pattern verify /dev/vssd0 "$SEED" --buffered
# Negative control: the checker must be able to fail.
check_fails "verify with seed $((SEED + 1)) fails" pattern verify /dev/vssd0 $((SEED + 1))
check "small unaligned-to-1M I/O: write 4 KiB blocks at 12 KiB" \
	pattern write /dev/vssd0 "$((SEED + 2))" --offset 12K --length 20K --bs 4K
check "  they read back" pattern verify /dev/vssd0 "$((SEED + 2))" --offset 12K --length 20K --bs 512
check "  the data around them is intact" sh -c "
	pattern verify /dev/vssd0 $SEED --length 12K &&
	pattern verify /dev/vssd0 $SEED --offset 32K"
check "  restore the pattern" pattern write /dev/vssd0 "$SEED" --offset 12K --length 20K --bs 4K
check "last sector reads and writes" sh -c "
	pattern write /dev/vssd0 $SEED --offset $((SIZE - 512)) --bs 512 &&
	pattern verify /dev/vssd0 $SEED --offset $((SIZE - 512)) --bs 512"
check_fails "I/O beyond the end fails" dd if=/dev/zero of=/dev/vssd0 bs=512 seek=$((SIZE / 512)) count=1 conv=notrunc oflag=direct
check "flush (sync) succeeds" sync
check_done
