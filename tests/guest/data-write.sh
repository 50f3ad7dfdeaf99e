# SPDX-License-Identifier: GPL-2.0-or-later
# Guest half of tests/e2e/data.sh, first boot: fill /dev/vssd0 with the
# pattern of $SEED and read it back. Needs SEED, SIZE.
. /test/check.sh
plan 17

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

# The checker itself on failing blocks: a dm table with an error target in
# the middle (sectors 2048-4095 = 4 KiB blocks 256-511) must be reported
# as exactly that range; the resize tests rely on it.
eio_table() {
	echo "0 2048 linear /dev/vssd0 0"
	echo "2048 2048 error"
	echo "4096 4096 linear /dev/vssd0 4096"
}
if modprobe dm-mod && eio_table | dmsetup create vssd-eio; then
	out=$(pattern read-blocks /dev/mapper/vssd-eio --bs 4K)
	echo "$out"
	check "read-blocks reports blocks 256-511 failing" \
		sh -c "echo '$out' | grep -qx 'eio-ranges: 256-511'"
	check "verify --allow-eio skips them and checks the rest" \
		pattern verify /dev/mapper/vssd-eio "$SEED" --bs 4K --allow-eio
	check_fails "verify without --allow-eio fails" \
		pattern verify /dev/mapper/vssd-eio "$SEED" --bs 4K
	dmsetup remove vssd-eio
else
	check "dmsetup create with an error target" false
fi
check_done
