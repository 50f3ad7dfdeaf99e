#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# An ext4 file system on /dev/vssd0: a file workload read back through a
# cold cache, a clean fsck, then the same after a reboot (plus fstrim).
. "$(dirname "$0")/../lib/vm.sh"
t_plan 5

vm_have_device || t_bail "QEMU with virtio-vssd, or the image with virtio_vssd.ko, is not built (make qemu image)"
vm_tmpdir
img=$VM_TMP/vssd.img
truncate -s 64M "$img"
vssd_args "$img"

vm_run "boot 1 (mkfs, files)" --script "$VSSD_ROOT/tests/guest/fs-create.sh" -- "${VSSD_ARGS[@]}"
t_check "the host file holds an ext4 file system that fsck finds clean" \
	e2fsck -f -n "$img"
vm_run "boot 2 (reopen)" --script "$VSSD_ROOT/tests/guest/fs-reopen.sh" -- "${VSSD_ARGS[@]}"
t_done
