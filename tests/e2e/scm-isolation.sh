#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# CSCM isolation: runc containers A and B (OCI bundles over a busybox
# rootfs, cgroup v2, a cgroup namespace) each write their own pattern
# through /dev/scm and read back only their own; a negative control
# (verifying the other's seed) must fail. /proc/scm/regions lists A and B
# with owners /A and /B; the refusals (admin ioctls EPERM, mmap past the
# end EINVAL, bad ioctl arguments, flush outside the region) hold inside a
# container, also one with every capability; scmctl is refused inside and
# works outside; a process outside containers gets "host", a plain
# unshare+cgroup container its own region (/U).
# Host side: the pmem file holds each pattern at its region's offset, and
# QEMU still answers after every refused request.
. "$(dirname "$0")/../lib/vm.sh"
. "$VSSD_ROOT/tests/lib/scm.sh"
t_plan 8

rnd() { echo $(( (RANDOM << 15 | RANDOM) + 1 )); }
SEED_A=$(rnd) SEED_B=$(rnd) SEED_H=$(rnd) SEED_U=$(rnd)

scm_need
vm_tmpdir
scm_files A B K@img --admin P || t_bail "cannot make the OCI bundles"
pmem=$VM_TMP/pmem.img
scm_args "$VM_TMP/disk.img" "$pmem"

vm_start --append "$SCM_APPEND" --script "$VSSD_ROOT/tests/guest/scm-isolation.sh" --files "$SCM_FILES" \
	--timeout 170 --env SEED_A="$SEED_A" --env SEED_B="$SEED_B" \
	--env SEED_H="$SEED_H" --env SEED_U="$SEED_U" -- "${VSSD_ARGS[@]}" ||
	t_bail "QEMU did not start"
if scm_step refusals-done 160; then
	t_check "QEMU answers QMP after the refused requests" eval "vm_qmp query-status >/dev/null"
	t_check "query-ssd-balloon lists the pmem region" scm_query "$VM_TMP/q.json"
fi
vm_finish guest

if vm_log_grep 'scm\.scmctl absent'; then
	t_skip "scmctl refused in a container, working outside" "scmctl is not in the guest image yet"
fi

# The pmem file on the host: each region holds its own pattern at its offset.
for r in A:$SEED_A B:$SEED_B host:$SEED_H /U:$SEED_U; do
	scm_host_pattern final "${r%%:*}" "${r#*:}" "$pmem"
done
t_done
