# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/cache.sh, boot 1: vssd-cache's command line
# (every command with bad arguments: one line, non-zero exit, nothing
# changed) and a writethrough cache end to end: create, status, a
# verified workload, remove, the origin holds every write.
# /dev/vssd0: 128 MiB in 64 KiB blocks; /dev/vda: the 256 MiB origin.
. /test/check.sh
. /test/resize-lib.sh
. /test/cache-lib.sh

plan 83
modprobe dm-cache-smq 2>/dev/null
long=$(printf 'x%.0s' $(seq 65))
: > /tmp/plain

check "help: exits 0 and shows SYNOPSIS" sh -c 'vssd-cache --help | grep -q "^SYNOPSIS"'
bad "no command"
bad "unknown command" frobnicate c1
bad "unknown option" --frob
bad "create: no NAME" create --origin /dev/vda --cache /dev/vssd0
bad "create: NAME with a slash" create a/b --origin /dev/vda --cache /dev/vssd0
bad "create: NAME too long" create "$long" --origin /dev/vda --cache /dev/vssd0
bad "create: NAME starting with -" create -- -x --origin /dev/vda --cache /dev/vssd0
bad "create: no --origin" create c1 --cache /dev/vssd0
bad "create: no --cache" create c1 --origin /dev/vda
bad "create: --mode bogus" create c1 --origin /dev/vda --cache /dev/vssd0 --mode bogus
bad "create: --block-size 3K" create c1 --origin /dev/vda --cache /dev/vssd0 --block-size 3K
bad "create: --block-size 48K" create c1 --origin /dev/vda --cache /dev/vssd0 --block-size 48K
bad "create: --block-size above the vSSD block" create c1 --origin /dev/vda --cache /dev/vssd0 --block-size 128K
bad "create: --block-size garbage" create c1 --origin /dev/vda --cache /dev/vssd0 --block-size 64Q
bad "create: origin missing" create c1 --origin /dev/nonexistent --cache /dev/vssd0
bad "create: origin a regular file" create c1 --origin /tmp/plain --cache /dev/vssd0
bad "create: cache not a vSSD" create c1 --origin /dev/vssd0 --cache /dev/vda
bad "create: origin is the cache" create c1 --origin /dev/vssd0 --cache /dev/vssd0
bad "create: an extra argument" create c1 extra --origin /dev/vda --cache /dev/vssd0
bad "create: --origin twice" create c1 --origin /dev/vda --origin /dev/vda --cache /dev/vssd0
bad "status: no NAME" status
bad "status: no such cache" status nosuch
bad "status: --mode" status c1 --mode writeback
bad "remove: no such cache" remove nosuch
bad "remove: --json" remove c1 --json

# --- a writethrough cache, end to end ---
check "create c1 (writethrough, defaults)" vssd-cache create c1 --origin /dev/vda --cache /dev/vssd0
check "/dev/mapper/c1 has the origin's size" \
	test "$(blockdev --getsize64 /dev/mapper/c1)" = "$(blockdev --getsize64 /dev/vda)"
vssd-cache status c1
for k in read_hits read_misses write_hits write_misses dirty_blocks cache_bytes resizes last_kept_hot; do
	check "status has $k" sh -c "vssd-cache status c1 | grep -q '^$k: '"
done
check "status --json is one object" sh -c 'vssd-cache status c1 --json | grep -q "^{\"name\": \"c1\".*\"cache_bytes\": [0-9]*.*}$"'
check "the cache uses every plugged vSSD block" cache_blocks_plugged
check "the agent runs" test "$(cst agent)" = running
bad "create: the name exists" create c1 --origin /dev/vda --cache /dev/vssd0
bad "create: the vSSD is in use" create c2 --origin /dev/vdb --cache /dev/vssd0
bad "create: the origin is in use" create c2 --origin /dev/vda --cache /dev/vssd0
check "workload: verified random I/O" cache-io run /dev/mapper/c1 /tmp/st --blocks 8192 --seconds 4
check "workload: everything reads back" cache-io verify /dev/mapper/c1 /tmp/st
check "reads hit the cache" test "$(cst read_hits)" -gt 0
check "writethrough: no dirty blocks" test "$(cst dirty_blocks)" = 0
exec 3< /dev/mapper/c1
bad "remove: c1 is open" remove c1
exec 3<&-
check "remove c1" vssd-cache remove c1
check "remove: no device left" sh -c '[ -z "$(ls /dev/mapper | grep -v control)" ]'
check "remove: no state left" sh -c '[ -z "$(ls /run/vssd-cache)" ]'
check "remove: the agent is gone" sh -c '! ps | grep -v grep | grep -q "vssd-cache agent"'
check "the origin holds every write" cache-io verify /dev/vda /tmp/st
bad "status after remove" status c1
check_done
