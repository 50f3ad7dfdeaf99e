#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A resize interrupted half-way leaves both sides consistent: while the
# driver waits for its agent, the guest unloads the driver, and later
# unbinds the device (a device reset); the driver that comes back picks up
# the target the device still holds and finishes it, and the device's
# map (query-ssd-balloon) agrees with the guest's. Guest half:
# tests/guest/resize-midway.sh.
. "$(dirname "$0")/../lib/vm.sh"
t_plan 6

MAX=$((64 << 20))
MB=$((1 << 20))

vm_have_device || t_bail "QEMU with virtio-vssd, or the image with virtio_vssd.ko, is not built (make qemu image)"
vm_tmpdir
img=$VM_TMP/vssd.img
truncate -s $MAX "$img"
vssd_args "$img"

# size_of FIELD: a field of the block region in query-ssd-balloon.
size_of() {
	vm_qmp query-ssd-balloon | python3 -c '
import json, sys
print([e for e in json.load(sys.stdin) if e["region"] == "block"][0][sys.argv[1]])' "$1"
}

vm_start --script "$VSSD_ROOT/tests/guest/resize-midway.sh" --timeout 240 \
	-- "${VSSD_ARGS[@]}" || t_bail "QEMU did not start"
for step in rmmod:$((MAX - 8 * MB)) unbind:$((MAX - 16 * MB)); do
	name=${step%%:*}
	if vm_wait_log "vssd.step $name" 120 &&
		vm_qmp ssd-balloon "{\"device\":\"vssd0\",\"size\":${step#*:}}" >/dev/null; then
		t_ok "$name: ssd-balloon to ${step#*:}"
	else
		t_fail "$name: ssd-balloon to ${step#*:}"
	fi
done
vm_wait_log 'vssd.map ' 180
t_check "the device: size equals the requested $((MAX - 16 * MB)), idle" \
	test "$(size_of size) $(size_of requested-size) $(size_of status)" = "$((MAX - 16 * MB)) $((MAX - 16 * MB)) idle"
t_check "the device evicted 16 blocks, refused nothing" \
	test "$(size_of blocks-evicted) $(size_of replies-refused)" = "16 0"
vm_qmp ssd-balloon "{\"device\":\"vssd0\",\"size\":$MAX}" >/dev/null ||
	t_fail "grow back to $MAX"
vm_wait
vm_report_checks "guest"
t_check "guest script succeeded" test "$VM_STATUS" = 0
t_check "no kernel bug reported" vm_log_clean
t_done
