#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The lifetime of /dev/scm users when the device goes away: a driver unbind
# and a hot-unplug (QMP device_del) while a process hammers its mapping and
# others hold region and admin descriptors. No oops or WARN; SIGBUS on a
# touch; ENODEV from every later call; the BAR is never mapped again. The
# guest half is tests/guest/scm-unplug.sh.
. "$(dirname "$0")/../lib/vm.sh"
. "$VSSD_ROOT/tests/lib/scm.sh"
t_plan 3

SEED=$(( (RANDOM << 15 | RANDOM) + 1 ))
scm_need
vm_tmpdir
scm_files || t_bail "cannot make the guest files"
scm_args "$VM_TMP/disk.img" "$VM_TMP/pmem.img"

vm_start --append "$SCM_APPEND" --script "$VSSD_ROOT/tests/guest/scm-unplug.sh" --files "$SCM_FILES" \
	--timeout 300 --env SEED="$SEED" --env SCM_DEFAULT_SIZE=$((1 << 20)) -- "${VSSD_ARGS[@]}" ||
	t_bail "QEMU did not start"
if scm_step unplug-ready 240; then
	t_check "device_del vssd0: the guest gives the device back (DEVICE_DELETED)" \
		vm_qmp --wait-event DEVICE_DELETED --timeout 120 --then device_del '{"id": "vssd0"}'
else
	t_fail "the guest reached the unplug" "no 'vssd.step unplug-ready'"
fi
vm_finish guest
t_done
