#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest half of `make demo`: show the vSSD and do real I/O on it.
set -e
[ -f /test/env.sh ] && . /test/env.sh
say() { echo "demo: $*"; }

say "--- the guest sees the device"
ls -l /dev/vssd0
say "size: $(cat /sys/block/vssd0/size) sectors, $(ls /sys/block/vssd0/mq | wc -l) hardware queue(s)"
cat /proc/vssd/vssd0/status | sed 's/^/demo:   /'

if [ -f /sys/block/vssd0/serial ]; then
	say "serial: $(cat /sys/block/vssd0/serial)"
fi

if [ "$DEMO_BOOT" = 1 ]; then
	say "--- raw I/O: 16 MiB pattern with O_DIRECT, read back and verified"
	pattern write /dev/vssd0 4242 --length $((16 << 20))
	pattern verify /dev/vssd0 4242 --length $((16 << 20))
fi

say "--- a filesystem on /dev/vssd0"
if [ "$DEMO_BOOT" = 1 ]; then
	mkfs.ext4 -q -F /dev/vssd0
fi
mkdir -p /mnt
mount -t ext4 /dev/vssd0 /mnt
if [ "$DEMO_BOOT" = 1 ]; then
	echo "written on the first boot at uptime $(cut -d' ' -f1 /proc/uptime)s" > /mnt/hello.txt
	dd if=/dev/urandom of=/mnt/blob bs=1M count=8 2>/dev/null
	md5sum /mnt/blob | cut -d' ' -f1 > /mnt/blob.md5
	dd if=/dev/urandom of=/mnt/scratch bs=1M count=32 2>/dev/null
	sync
	say "wrote /mnt/hello.txt, an 8 MiB file with its md5 and a 32 MiB scratch file"
else
	say "after a power cycle: $(cat /mnt/hello.txt)"
	if [ "$(md5sum /mnt/blob | cut -d' ' -f1)" = "$(cat /mnt/blob.md5)" ]; then
		say "8 MiB file intact (md5 matches)"
	else
		say "8 MiB file CORRUPTED"; exit 1
	fi
fi
df -h /mnt | sed 's/^/demo:   /'
rm -f /mnt/scratch
sync
say "--- discard: scratch file deleted, fstrim gives free blocks back to the host"
fstrim -v /mnt | sed 's/^/demo:   /'
umount /mnt
