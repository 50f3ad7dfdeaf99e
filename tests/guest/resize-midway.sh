# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/resize-midway.sh: a shrink is interrupted while
# the driver waits for its agent, by rmmod and then by unbinding the
# device (which resets it); each time the driver that comes back finishes
# the shrink the device still asks for, and both sides agree on the map.
. /test/check.sh
plan 15

P=/proc/vssd/vssd0
DRV=/sys/bus/virtio/drivers/virtio_vssd
PARAM=/sys/module/virtio_vssd/parameters/agent_timeout_ms
MB=$((1 << 20))

st() { sed -n "s/^$1: //p" "$P/status"; }
pending_is() { [ "$(cat "$P/pending" 2>/dev/null)" = "$1" ]; }
plugged_is() { [ "$(st plugged_size)" = "$1" ] && [ "$(st map_plugged_blocks)" = "$(($1 / $(st block_size)))" ]; }
dev_present() { test -b /dev/vssd0 && test -e "$P/pending"; }

max=$(st max_size)

# interrupt NAME TARGET HOW: start a shrink to TARGET bytes that waits for
# an agent, interrupt it with HOW, and check the driver finishes it.
interrupt() {
	echo 60000 > "$PARAM"
	echo "vssd.step $1"
	check "$1: the driver announces the shrink and waits for its agent" \
		wait_for 60 pending_is "shrink 8"
	t0=$(date +%s)
	check "$1: $3 while the resize waits" "$3"
	check "$1: it did not wait for the agent's timeout" test $(( $(date +%s) - t0 )) -lt 20
	[ "$3" = unload ] && check "$1: modprobe virtio_vssd" modprobe virtio_vssd
	[ "$3" = unbind ] && check "$1: bind the device again" sh -c "echo $dev > $DRV/bind"
	check "$1: the disk is back" wait_for 20 dev_present
	check "$1: the driver that came back finishes the shrink" wait_for 60 plugged_is "$2"
	check "$1: nothing pending" pending_is none
	cat "$P/map"
}

unload() { rmmod virtio_vssd; }
unbind() {
	dev=$(basename "$(readlink -f "$DRV"/virtio*)")
	echo "$dev" > "$DRV/unbind"
}

interrupt rmmod $((max - 8 * MB)) unload
dev=$(basename "$(readlink -f "$DRV"/virtio*)")
interrupt unbind $((max - 16 * MB)) unbind
echo "vssd.map $(cat "$P/map")"
# the host checks its side, then grows the device back: our cue to end
check "the host's grow back arrives" wait_for 120 plugged_is "$max"
check_done
