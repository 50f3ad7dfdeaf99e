#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Durability that a test can catch: the block region's backend is QEMU's
# blklogwrites driver, which records every write and every flush that
# reaches the host's storage in the format of Linux's dm-log-writes (the
# technique of the Linux file-system test suite; this host has no device
# mapper for dm-log-writes itself). The guest (tests/guest/durability.sh)
# writes A and fsyncs it, writes B with O_DSYNC, then writes C and never
# syncs it. When each sync has returned, the host pauses the VM and copies
# the log; at the end it kills QEMU with SIGKILL. Each copy, replayed up to
# its last flush onto the image as it was before the boot
# (tests/lib/logwrites.py), is what a host crash at that moment keeps: A
# must be in the first (and B not yet, or a later flush could hide a lost
# one), B in the second, C in none (though the backing file has it). With
# the device's FLUSH answered without a backend flush this test fails (see
# the commit that added it); the FUA flag of a single write is checked by
# the qtest io-fua, as Linux pairs an O_DSYNC write with a flush anyway.
. "$(dirname "$0")/../lib/vm.sh"
t_plan 11

vm_have_device || t_bail "QEMU with virtio-vssd, or the image with virtio_vssd.ko, is not built (make qemu image)"
vm_tmpdir
host_pattern=$(vm_host_pattern) || t_bail "cannot build the pattern tool for the host"
logwrites=$VSSD_ROOT/tests/lib/logwrites.py
SEED0=$(( (RANDOM << 15 | RANDOM) + 1 ))
SEED_A=$((SEED0 + 1)) SEED_B=$((SEED0 + 2)) SEED_C=$((SEED0 + 3))

img=$VM_TMP/vssd.img base=$VM_TMP/base.img log=$VM_TMP/log.img
durable=$VM_TMP/durable.img
truncate -s 64M "$img"
"$host_pattern" write "$img" "$SEED0" --buffered > /dev/null || t_bail "cannot fill the image"
cp "$img" "$base"
truncate -s 256M "$log"
args=(-blockdev "driver=file,filename=$img,node-name=vssd-data,discard=unmap"
	-blockdev "driver=file,filename=$log,node-name=vssd-log"
	-blockdev "driver=blklogwrites,node-name=vssd-disk,file=vssd-data,log=vssd-log,log-sector-size=512"
	-device "virtio-vssd-pci,id=vssd0,drive=vssd-disk")

vm_start --script "$VSSD_ROOT/tests/guest/durability.sh" --timeout 200 \
	--env SEED_A=$SEED_A --env SEED_B=$SEED_B --env SEED_C=$SEED_C \
	-- "${args[@]}" || t_bail "QEMU did not start"

# snapshot STEP: at the guest's step STEP, copy the log as it is then
# (log.STEP) while the guest pauses; fails if the step never came. Not
# with QMP stop: stopping the VM flushes every backend.
snapshot() {
	vm_wait_log "vssd\.step $1\$" 120 || return 1
	cp --sparse=always "$log" "$log.$1"
}
t_check "the log copied after A's fsync returned" snapshot a
t_check "the log copied after B's O_DSYNC write returned" snapshot b
if vm_wait_log 'vssd\.step c$' 120; then
	kill -9 "$VM_PID" 2>/dev/null
	wait "$VM_PID" 2>/dev/null
	VM_PID=
	t_ok "QEMU killed with SIGKILL after the guest's last write"
else
	t_fail "the guest reached its last write"
	vm_kill
fi
vm_report_checks guest

# in_image FILE SEED OFFSET: FILE holds SEED's pattern for 1 MiB at OFFSET
in_image() {
	"$host_pattern" verify "$1" "$2" --offset "$3" --length 1M --buffered > /dev/null 2>&1
}
# replay LOG: $durable := what a host crash at the time of LOG keeps
replay() {
	local out
	out=$(timeout 120 python3 "$logwrites" durable "$1" "$base" "$durable" 2>&1)
	echo "# $(basename "$1"): $out"
	[[ $out =~ flushes\ [1-9] ]]
}
t_check "the log after A replays (it holds a flush)" replay "$log.a"
t_check "A, fsync'd, is in what a host crash then keeps" in_image "$durable" $SEED_A 0
# else a later flush may have covered for a lost one: inconclusive
t_check "B is not (the copy was taken before B)" in_image "$durable" $SEED0 4M
t_check "the log after B replays" replay "$log.b"
t_check "B, written with O_DSYNC, is in what a host crash then keeps" \
	in_image "$durable" $SEED_B 4M
t_check "the final log replays" replay "$log"
t_check "C, never synced, is not in what a host crash keeps" \
	in_image "$durable" $SEED0 8M
t_check "the backing file itself has C (the log tells synced from unsynced)" \
	in_image "$img" $SEED_C 8M
t_done
