#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Host storage is really reclaimed: fill the device, discard a range from
# the guest, and check that the backing file's allocated size dropped by
# the discarded amount while the rest of the data is intact.
. "$(dirname "$0")/../lib/vm.sh"
t_plan 9

SIZE=$((64 << 20))
OFF=$((8 << 20))
LEN=$((32 << 20))
SLACK=$((1 << 20))
SEED=$(( (RANDOM << 15 | RANDOM) + 1 ))

vm_have_device || t_bail "QEMU with virtio-vssd, or the image with virtio_vssd.ko, is not built (make qemu image)"
vm_tmpdir
host_pattern=$(vm_host_pattern) || t_bail "cannot build the pattern tool for the host"
img=$VM_TMP/vssd.img
truncate -s "$SIZE" "$img"
vssd_args "$img"

before=$(vm_alloc_bytes "$img")
vm_run "boot 1 (fill)" --script "$VSSD_ROOT/tests/guest/discard-fill.sh" \
	--env SEED=$SEED -- "${VSSD_ARGS[@]}"
full=$(vm_alloc_bytes "$img")
echo "# allocated: $before bytes before, $full after filling"
if [ "$full" -ge $((SIZE - SLACK)) ]; then
	t_ok "the filled file is allocated ($full bytes)"
else
	t_fail "the filled file is allocated" "$full < $((SIZE - SLACK))"
fi

vm_run "boot 2 (discard)" --script "$VSSD_ROOT/tests/guest/discard-trim.sh" \
	--env SEED=$SEED --env OFF=$OFF --env LEN=$LEN -- "${VSSD_ARGS[@]}"
after=$(vm_alloc_bytes "$img")
echo "# allocated: $after bytes after discarding $LEN"
if [ $((full - after)) -ge $((LEN - SLACK)) ]; then
	t_ok "host storage reclaimed: $((full - after)) bytes (discarded $LEN)"
else
	t_fail "host storage reclaimed" "only $((full - after)) of $LEN bytes"
fi
t_check "host file: the discarded range is zeroes" \
	cmp -s -n "$LEN" -i "$OFF:0" "$img" /dev/zero
t_check "host file: data before the range intact" \
	"$host_pattern" verify "$img" "$SEED" --length "$OFF" --buffered
t_check "host file: data after the range intact" \
	"$host_pattern" verify "$img" "$SEED" --offset $((OFF + LEN)) --buffered
t_done
