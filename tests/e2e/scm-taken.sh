#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The kernel never touches persistent-memory blocks the host took back:
# with the device's x-host-pick-lowest test knob the host's shrink takes
# exactly the first two blocks of a container region; then a sync of them
# fails with EIO, and scmctl copy and a resize that moves the region read
# them as zeroes while the kept blocks keep their data (the guest half:
# tests/guest/scm-taken.sh).
. "$(dirname "$0")/../lib/vm.sh"
. "$VSSD_ROOT/tests/lib/scm.sh"
t_plan 3

SEED=$(( (RANDOM << 15 | RANDOM) + 1 ))
SCM_PMEM_SIZE=64M
scm_need
vm_tmpdir
scm_files || t_bail "cannot make the guest files"
scm_mailbox
scm_args "$VM_TMP/disk.img" "$VM_TMP/pmem.img" x-host-pick-lowest=on
vm_start --append "$SCM_APPEND" --script "$VSSD_ROOT/tests/guest/scm-taken.sh" --files "$SCM_FILES" \
	--timeout 300 --env SEED="$SEED" -- "${VSSD_ARGS[@]}" "${SCM_MAILBOX_ARGS[@]}" ||
	t_bail "QEMU did not start"
if scm_step ready 200 && scm_resize "$VM_TMP/q.json" $((60 << 20)) --policy host; then
	t_ok "host-policy shrink of the pmem region by two blocks"
else
	t_fail "host-policy shrink of the pmem region by two blocks"
fi
scm_tell taken
vm_finish guest
t_done
