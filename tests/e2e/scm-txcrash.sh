#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# libscm transactions on a real /dev/scm region survive the crashes that
# scm.h promises, all-or-nothing and with every acknowledged commit: a
# runc container updates 512-byte records in transactions (guest program
# tests/guest/scm-txcrash.c) while (1) QEMU is killed with SIGKILL, then
# (2) the guest kernel crashes (sysrq c). After each, a new boot on the
# same pmem file finds no torn record, a consistent heap, and a commit
# counter at least as high as the last commit the guest reported before
# the crash.
. "$(dirname "$0")/../lib/vm.sh"
. "$VSSD_ROOT/tests/lib/scm.sh"
t_plan 6

scm_need
vm_tmpdir
scm_files T || t_bail "cannot make the OCI bundles"
scm_args "$VM_TMP/disk.img" "$VM_TMP/pmem.img"
guest=$VSSD_ROOT/tests/guest/scm-txcrash.sh
boot() {	# boot PHASE
	vm_start --append "$SCM_APPEND" --script "$guest" --files "$SCM_FILES" --timeout 200 \
		--env PHASE="$1" --env SCM_DEFAULT_SIZE=$((4 << 20)) -- "${VSSD_ARGS[@]}"
}
# last_commit LOG: the last "txcrash: committed C" the guest printed.
last_commit() {
	tr -d '\r' < "$1" | sed -n 's/.*txcrash: committed \([0-9]*\)$/\1/p' | tail -n 1
}
state_of() {
	tr -d '\r' < "$1" | sed -n 's/.*txcrash: state \([0-9]*\) ok$/\1/p' | tail -n 1
}

# (1) kill -9 of QEMU in the middle of the transactions
boot run || t_bail "QEMU did not start (boot 1)"
if vm_wait_log 'txcrash: committed [0-9]*[05]00$' 150; then
	scm_kill9
	t_ok "boot 1: QEMU killed with SIGKILL during the transactions"
else
	vm_kill
	t_fail "boot 1: QEMU killed with SIGKILL during the transactions" "no 500 commits seen"
fi
log1=$VM_LOG
last1=$(last_commit "$log1")

# (2) check; a guest kernel crash in the middle of more transactions
boot crash || t_bail "QEMU did not start (boot 2)"
vm_wait
log2=$VM_LOG
vm_report_checks "boot 2"
state2=$(state_of "$log2")
t_check "boot 2: the state after kill -9 is whole ($state2 commits) and keeps every reported commit ($last1)" \
	test -n "$state2" -a -n "$last1" -a "${state2:-0}" -ge "${last1:-1}"
t_check "boot 2: the guest crashed (kernel panic on sysrq c)" \
	eval "tr -d '\r' < '$log2' | grep -q 'Kernel panic - not syncing: sysrq triggered crash'"
last2=$(last_commit "$log2")

# (3) the state after the guest crash
vm_run "boot 3" --append "$SCM_APPEND" --script "$guest" --files "$SCM_FILES" --timeout 200 \
	--env PHASE=check --env SCM_DEFAULT_SIZE=$((4 << 20)) -- "${VSSD_ARGS[@]}"
state3=$(state_of "$VM_LOG")
t_check "boot 3: the state after the guest crash is whole ($state3 commits) and keeps every reported commit ($last2)" \
	test -n "$state3" -a -n "$last2" -a "${state3:-0}" -ge "${last2:-1}" -a "${last2:-0}" -gt "${last1:-0}"
t_done
