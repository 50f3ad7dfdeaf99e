# SPDX-License-Identifier: GPL-2.0-or-later
# Guest half of tests/e2e/fs.sh, first boot: ext4 on /dev/vssd0, a file
# workload, read-back through a cold cache, a clean fsck.
. /test/check.sh
plan 14

src=/tmp/src
mkdir -p $src/small $src/deep/a/b/c

make_files() {
	i=1
	while [ $i -le 48 ]; do
		dd if=/dev/urandom of=$src/f$i bs=1k count=$(( (i * 37) % 300 + 1 )) 2>/dev/null || return 1
		i=$((i + 1))
	done
	i=1
	while [ $i -le 150 ]; do
		echo "small file $i $(head -c 24 /dev/urandom | md5sum)" > $src/small/s$i || return 1
		i=$((i + 1))
	done
	for d in deep deep/a deep/a/b deep/a/b/c; do
		head -c 5000 /dev/urandom > $src/$d/data || return 1
	done
	dd if=/dev/urandom of=$src/big bs=1M count=12 2>/dev/null || return 1
	: > $src/empty
}

check "make source files in tmpfs" make_files
(cd $src && find . -type f | sort | xargs md5sum) > /tmp/manifest
check "mkfs.ext4 /dev/vssd0" mkfs.ext4 -q -F -L vssdtest /dev/vssd0
check "mount it" mount -t ext4 /dev/vssd0 /mnt
check "copy the files" cp -a $src /mnt/src
check "keep the manifest on it" cp /tmp/manifest /mnt/manifest
check "rename and delete some files" sh -c '
	mv /mnt/src/f1 /mnt/src/f1.renamed && mv /mnt/src/f1.renamed /mnt/src/f1 &&
	cp /mnt/src/big /mnt/big.tmp && rm /mnt/big.tmp'
check "sync" sync
echo 3 > /proc/sys/vm/drop_caches
check "files read back with the right content (cold cache)" \
	sh -c 'cd /mnt/src && md5sum -c -s /tmp/manifest'
# Negative control: the comparison must notice one changed byte.
check "corrupt one byte of a copy" sh -c \
	'printf x | dd of=/mnt/src/f7 bs=1 seek=100 conv=notrunc 2>/dev/null'
check_fails "the comparison notices it" sh -c 'cd /mnt/src && md5sum -c -s /tmp/manifest'
check "restore it" cp $src/f7 /mnt/src/f7
check "O_DIRECT file I/O on ext4" sh -c '
	truncate -s 8M /mnt/direct && pattern write /mnt/direct 99 --bs 64K &&
	echo 3 > /proc/sys/vm/drop_caches && pattern verify /mnt/direct 99'
df -k /mnt
check "umount" umount /mnt
check "fsck is clean" e2fsck -f -n /dev/vssd0
check_done
