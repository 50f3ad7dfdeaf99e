# SPDX-License-Identifier: GPL-2.0-or-later
# Guest half of tests/e2e/fs.sh, second boot: the file system and its
# files survived the reboot; more writes; fsck clean again.
. /test/check.sh
plan 9

check "fsck is clean after the reboot" e2fsck -f -n /dev/vssd0
check "mount" mount -t ext4 /dev/vssd0 /mnt
check "every file has its content" sh -c 'cd /mnt/src && md5sum -c -s /mnt/manifest'
check "the O_DIRECT file too" pattern verify /mnt/direct 99
check "fill most of the free space" sh -c '
	n=$(df -k /mnt | awk "NR==2 {print int(\$4 / 1024) - 4}")
	dd if=/dev/zero of=/mnt/fill bs=1M count=$n 2>/dev/null && sync'
check "delete it and trim (discard through ext4)" sh -c 'rm /mnt/fill && fstrim -v /mnt'
check "files unchanged after fstrim" sh -c 'echo 3 > /proc/sys/vm/drop_caches; cd /mnt/src && md5sum -c -s /mnt/manifest'
check "umount" umount /mnt
check "fsck is clean" e2fsck -f -n /dev/vssd0
check_done
