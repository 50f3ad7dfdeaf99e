# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/cache.sh, the boot after a crash
# (tests/guest/cache-crash.sh): the same create command attaches the
# cache again from the header on the vSSD; every acknowledged write
# ($ACKED blocks) reads back through it; the shrink the host still wants
# ($TARGET bytes) is carried out by the agent; after remove the origin
# holds them too.
. /test/check.sh
. /test/resize-lib.sh
. /test/cache-lib.sh

plan 9
check "create attaches the cache again" \
	vssd-cache create c1 --origin /dev/vda --cache /dev/vssd0 --mode writeback
vssd-cache status c1
check "the cache kept its mappings" test "$(cst used_blocks)" -gt 0
check "every acknowledged write reads back ($ACKED blocks)" \
	cache-io check-acked /dev/mapper/c1 /tmp/st --blocks 2048 --bs 65536 --acked "$ACKED"
# the host asks for its target again (a new QEMU may not know it)
step reattached
wait_for 60 reached "$TARGET"
check "the vSSD reached the host's target ($((TARGET >> 20)) MiB)" reached "$TARGET"
wait_for 10 cache_blocks_plugged
check "the cache uses exactly the plugged vSSD blocks" cache_blocks_plugged
check "no I/O hit an unplugged block" test "$(st unplugged_io_errors)" = 0
check "no cache I/O error in the kernel log" sh -c '! dmesg | grep -E "device-mapper: cache|I/O error"'
check "remove c1" vssd-cache remove c1
check "the origin holds every acknowledged write" \
	cache-io check-acked /dev/vda /tmp/none --blocks 2048 --bs 65536 --acked "$ACKED"
sync
echo "origin-sha256 $(sha256sum /dev/vda | cut -d' ' -f1)"
check_done
