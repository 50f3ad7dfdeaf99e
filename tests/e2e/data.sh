#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Data integrity and persistence of the block region: write a pattern over
# all of /dev/vssd0, read it back, check the host file holds exactly that
# pattern, reboot on the same file and read it again. Negative controls
# (a wrong seed) show that the checker can fail.
. "$(dirname "$0")/../lib/vm.sh"
t_plan 7

SIZE=$((64 << 20))
SEED=$(( (RANDOM << 15 | RANDOM) + 1 ))

vm_have_device || t_bail "QEMU with virtio-vssd, or the image with virtio_vssd.ko, is not built (make qemu image)"
vm_tmpdir
host_pattern=$(vm_host_pattern) || t_bail "cannot build the pattern tool for the host"
img=$VM_TMP/vssd.img
truncate -s "$SIZE" "$img"
vssd_args "$img"

vm_run "boot 1 (write)" --script "$VSSD_ROOT/tests/guest/data-write.sh" \
	--env SEED=$SEED --env SIZE=$SIZE -- "${VSSD_ARGS[@]}"

t_check "host file holds the guest's pattern" "$host_pattern" verify "$img" "$SEED" --buffered
t_check "negative control on the host: another seed does not match" \
	bash -c "! '$host_pattern' verify '$img' $((SEED + 1)) --buffered >/dev/null 2>&1"

vm_run "boot 2 (persistence)" --script "$VSSD_ROOT/tests/guest/data-verify.sh" \
	--env SEED=$SEED -- "${VSSD_ARGS[@]}"

# The device must not have written anything of its own into the data.
t_check "host file still holds the pattern" "$host_pattern" verify "$img" "$SEED" --buffered
t_done
