# SPDX-License-Identifier: GPL-2.0-or-later
# Guest half of tests/e2e/module.sh: unload and reload virtio_vssd, with
# and without I/O in flight. The host checks that no kernel bug was logged.
. /test/check.sh
plan 35

drv=/sys/bus/virtio/drivers/virtio_vssd

dev_present() { test -b /dev/vssd0; }
dev_absent() { test ! -e /dev/vssd0 && test ! -e /proc/vssd/vssd0; }
small_io() {
	test -b /dev/vssd0 &&
		pattern write /dev/vssd0 "$1" --length 1M --bs 64K &&
		pattern verify /dev/vssd0 "$1" --length 1M --bs 4K
}

check "loaded at boot" grep -q '^virtio_vssd ' /proc/modules
check "/dev/vssd0 present" dev_present
check "I/O works" small_io 1
check "no I/O scheduler by default, as virtio-blk" \
	grep -q '\[none\]' /sys/block/vssd0/queue/scheduler
# num-queues defaults to one request queue per vCPU (the guest has 2)
check "one hardware queue per vCPU" \
	test "$(ls /sys/block/vssd0/mq | wc -l)" = "$(grep -c '^processor' /proc/cpuinfo)"
# the device's max_sectors (2 GiB less a sector): raising max_sectors_kb
# to it is allowed, and a request it allows is one the device serves
check "max_hw_sectors_kb is the device's max_sectors" \
	test "$(cat /sys/block/vssd0/queue/max_hw_sectors_kb)" = 2097151
check "max_sectors_kb raised to it" sh -c 'echo 2097151 > /sys/block/vssd0/queue/max_sectors_kb'
check "16 MiB direct writes and reads then work (no EIO)" sh -c \
	'pattern write /dev/vssd0 77 --offset 32M --length 32M --bs 16M &&
	 pattern verify /dev/vssd0 77 --offset 32M --length 32M --bs 16M'

for round in 1 2; do
	check "round $round: rmmod" rmmod virtio_vssd
	check "round $round: /dev/vssd0 and /proc/vssd/vssd0 gone" wait_for 5 dev_absent
	check "round $round: modprobe" modprobe virtio_vssd
	check "round $round: /dev/vssd0 back" wait_for 5 dev_present
	check "round $round: data written before the reload is there" \
		pattern verify /dev/vssd0 $((round)) --length 1M
	check "round $round: I/O works" small_io $((round + 1))
done

# A reader that keeps the device busy. While it holds /dev/vssd0 open,
# rmmod may refuse (the block layer pins the module) but nothing may break.
busy_reader() {
	while :; do
		dd if=/dev/vssd0 of=/dev/null bs=64k 2>/dev/null
	done
}
# The writer uses pattern, which never creates its target: dd would
# create a regular file /dev/vssd0 once the node is gone and hide the
# disk's node when it comes back.
busy_writer() {
	while :; do
		pattern write /dev/vssd0 99 --offset 16M --length 16M --bs 64K \
			>/dev/null 2>&1
	done
}

busy_reader & reader=$!
busy_writer & writer=$!
# The loops reopen the device for every pass; between two passes both
# may have it closed at once. This shell holds it open throughout.
exec 3</dev/vssd0
sleep 1
tries=0
unloaded=no
while [ $tries -lt 20 ]; do
	if rmmod virtio_vssd 2>/dev/null; then
		unloaded=yes
		break
	fi
	tries=$((tries + 1))
	sleep 0.1
done
echo "module: rmmod under I/O: unloaded=$unloaded after $tries refusals"
# /dev/vssd0 is open, so the module is in use: rmmod must refuse, every
# time, while the I/O goes on (the surprise removal is the unbind below)
check "rmmod under I/O is refused while /dev/vssd0 is open" test "$unloaded" = no
check "the I/O went on through the refused rmmods" small_io 5
exec 3<&-
kill $reader $writer 2>/dev/null; killall dd pattern 2>/dev/null
wait $reader $writer 2>/dev/null
sleep 0.5
if [ $unloaded = no ]; then
	check "rmmod succeeds once the I/O stopped" wait_for 5 rmmod virtio_vssd
fi
check "modprobe after rmmod under I/O" modprobe virtio_vssd
check "/dev/vssd0 back" wait_for 5 dev_present
check "I/O works" small_io 7

# Unbinding the driver removes the disk even while it is open: the
# surprise-removal path (in-flight requests, open handles).
dev=$(ls $drv 2>/dev/null | grep '^virtio' | head -n1)
check "device bound to virtio_vssd" test -n "$dev"
if [ -n "$dev" ]; then
	busy_reader & reader=$!
	busy_writer & writer=$!
	sleep 1
	check "unbind under I/O" sh -c "echo $dev > $drv/unbind"
	check "/dev/vssd0 gone after unbind" wait_for 5 dev_absent
	sleep 0.5
	kill $reader $writer 2>/dev/null; killall dd pattern 2>/dev/null
	wait $reader $writer 2>/dev/null
	check "bind again" sh -c "echo $dev > $drv/bind"
	check "/dev/vssd0 back after bind" wait_for 5 dev_present
	check "I/O works after bind" small_io 8
fi
check "final rmmod" rmmod virtio_vssd
check "final modprobe" modprobe virtio_vssd
check "I/O works at the end" small_io 9
check_done
