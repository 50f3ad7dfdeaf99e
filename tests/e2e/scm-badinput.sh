#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# CSCM bad input: every /dev/scm ioctl with bad arguments (NULL and kernel
# pointers, wrong numbers, sync ranges outside the region or wrapping,
# used above the size), maps past the end, at bad offsets, private or
# grown with mremap, read/write, bad admin requests - from outside
# containers, from a runc container (admin refused before its argument is
# even read) and from an unshare+cgroup container; a descriptor carried
# into another cgroup gives EPERM; a region deleted under its mapper gives
# SIGBUS, never the bytes of the region created on the same blocks. The
# driver never sends the device a bad flush (flushes-refused stays 0) and
# QEMU still answers afterwards. Last, a device without memdev: no
# /dev/scm, no regions, the block region as before.
. "$(dirname "$0")/../lib/vm.sh"
. "$VSSD_ROOT/tests/lib/scm.sh"
t_plan 9

scm_need
scm_image_has usr/bin/scm-bad || t_bail "the guest image has no scm-bad (make image)"
vm_tmpdir
scm_files A --admin P || t_bail "cannot make the OCI bundles"
scm_args "$VM_TMP/disk.img" "$VM_TMP/pmem.img"

vm_start --append "$SCM_APPEND" --script "$VSSD_ROOT/tests/guest/scm-badinput.sh" --files "$SCM_FILES" \
	--timeout 170 --env SEED=$(( (RANDOM << 15 | RANDOM) + 1 )) -- "${VSSD_ARGS[@]}" ||
	t_bail "QEMU did not start"
q=$VM_TMP/q.json
if scm_step bad-done 160; then
	t_check "QEMU answers QMP after the bad input" eval "vm_qmp query-status >/dev/null"
	if scm_query "$q"; then
		scm_same "no flush the driver sent was refused (flushes-refused)" "$(scm_json "$q" flushes-refused)" 0
		scm_same "no flush failed on the host (flush-errors)" "$(scm_json "$q" flush-errors)" 0
		t_check "flushes were served ($(scm_json "$q" flushes))" test "$(scm_json "$q" flushes)" -gt 0
		scm_same "no reply refused" "$(scm_json "$q" replies-refused)" 0
	else
		t_fail "query-ssd-balloon lists the pmem region"
	fi
else
	t_fail "the guest got through the bad input"
fi
vm_wait
rc=$?
vm_report_checks "guest"
scm_same "guest script succeeded" "$rc" 0
t_check "no kernel bug reported" vm_log_clean

# The same driver on a device without memdev: no /dev/scm at all.
vssd_args "$VM_TMP/disk.img"
vm_run "no memdev" --append "$SCM_APPEND" --script "$VSSD_ROOT/tests/guest/scm-nopmem.sh" --timeout 90 \
	-- "${VSSD_ARGS[@]}"
t_done
