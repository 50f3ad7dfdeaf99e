#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest half of the resize part of `make demo`: the guest marks cold
# blocks, the host shrinks the vSSD (scripts/demo.sh, at the "vssd.step"
# markers) and grows it again; the guest shows what it sees each time.
[ -f /test/env.sh ] && . /test/env.sh
P=/proc/vssd/vssd0
MB=1048576
say() { echo "demo: $*"; }
field() { sed -n "s/^$1: *//p" $P/status; }
show() {
	say "map: $(cat $P/map)   hints: '$(cat $P/hints)'   pending: $(cat $P/pending)"
	say "status: plugged_size $(($(field plugged_size) / MB)) MiB, requested $(($(field requested_size) / MB)) MiB," \
		"state $(field state), evicted_blocks $(field evicted_blocks), granted_blocks $(field granted_blocks)," \
		"unplugged_io_errors $(field unplugged_io_errors)"
}
# wait_plugged BYTES: until the driver has BYTES plugged and nothing pending.
wait_plugged() {
	while [ "$(field plugged_size)" != "$1" ] || [ "$(cat $P/pending)" != none ]; do
		sleep 0.2
	done
}
read_block() {
	pattern read-blocks /dev/vssd0 --bs 1M --offset $(($1 * MB)) --length 1M |
		sed -n 's/^pattern: read-blocks .* ok=\([0-9]*\) eio=\([0-9]*\).*/ok=\1 eio=\2/p'
}

say "--- a fresh 256 MiB vSSD (1 MiB blocks), filled with a pattern"
pattern write /dev/vssd0 77 > /dev/null
show
say "--- the guest marks its last 64 MiB as cold: echo 192-255 > $P/hints"
echo 192-255 > $P/hints
say "hints: $(cat $P/hints)"
echo "vssd.step shrink"

wait_plugged $((192 * MB))
say "--- after the host's shrink to 192 MiB (given-back blocks leave the hint list)"
show
say "O_DIRECT read of block 200 (given back): $(read_block 200); unplugged_io_errors now $(field unplugged_io_errors)"
if pattern verify /dev/vssd0 77 --length $((192 * MB)) > /dev/null; then
	say "blocks 0-191 still hold the pattern"
else
	say "blocks 0-191 CORRUPTED"
	exit 1
fi
echo "vssd.step grow"

wait_plugged $((256 * MB))
say "--- after the host's grow back to 256 MiB"
show
say "O_DIRECT read of block 200 (granted again): $(read_block 200)," \
	"$(pattern verify-zero /dev/vssd0 --offset $((200 * MB)) --length 1M > /dev/null && echo 'reads as zeros')"
