#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Load, unload and reload virtio_vssd (also with I/O in flight and by
# unbinding the device); the guest must stay up and log no kernel bug.
. "$(dirname "$0")/../lib/vm.sh"
t_plan 2

vm_have_device || t_bail "QEMU with virtio-vssd, or the image with virtio_vssd.ko, is not built (make qemu image)"
vm_tmpdir
img=$VM_TMP/vssd.img
truncate -s 64M "$img"
vssd_args "$img"

vm_run "module" --script "$VSSD_ROOT/tests/guest/module.sh" -- "${VSSD_ARGS[@]}"
t_done
