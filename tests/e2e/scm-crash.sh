#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# CSCM crash consistency of the on-media region table (two copies, each
# with a sequence number and a crc). With regions present, the test
# build's debugfs knob scm_table_tear tears the next update after its
# entries, as a crash there would; the update fails. Then (1) kill -9
# of QEMU, or (2) a power off, and a new boot on the same pmem file: /proc/scm/regions shows
# the old, valid table, the old data is intact, and creating regions
# works again. The host decodes both table copies in the pmem file: after
# a tear one copy is invalid and the valid one is the old table.
. "$(dirname "$0")/../lib/vm.sh"
. "$VSSD_ROOT/tests/lib/scm.sh"
t_plan 14

rnd() { echo $(( (RANDOM << 15 | RANDOM) + 1 )); }
SEEDS=(--env SCM_DEFAULT_SIZE=$((4 << 20)) --env SEED_A="$(rnd)" --env SEED_B="$(rnd)"
	--env SEED_C="$(rnd)" --env SEED_D="$(rnd)")

scm_need
vm_tmpdir
scm_files A B C D E || t_bail "cannot make the OCI bundles"
pmem=$VM_TMP/pmem.img
scm_args "$VM_TMP/disk.img" "$pmem"
guest=$VSSD_ROOT/tests/guest/scm-crash.sh

# names TABLE-LINE: the region names of one "copy N ..." line.
names() {
	sed -n 's/^.* regions //p' <<<"$1" | tr ',' '\n' | sed 's/@.*//' | sort | tr '\n' ' ' | sed 's/ $//'
}

# check_table WHEN WANT-NAMES: the pmem file holds one invalid (torn) copy
# and a current valid copy with exactly WANT-NAMES.
check_table() {
	local when=$1 want=$2 t cur line
	t=$(scm_py table "$pmem")
	echo "$t" | sed "s/^/# table $when: /"
	cur=$(sed -n 's/^current //p' <<<"$t")
	if [ "$cur" = none ] || [ -z "$cur" ]; then
		t_fail "host file $when: a valid table copy" "$t"
		return
	fi
	t_ok "host file $when: a valid table copy ($cur)"
	line=$(grep "^copy $cur " <<<"$t")
	scm_same "host file $when: the valid copy lists $want" "$(names "$line")" "$want"
	t_check "host file $when: the other copy is the torn one (invalid)" \
		grep -q "^copy $((1 - cur)) invalid" <<<"$t"
}

# --- 1: tear, then kill -9 -----------------------------------------------------------
vm_start --append "$SCM_APPEND" --script "$guest" --files "$SCM_FILES" --timeout 170 --env PHASE=1 \
	"${SEEDS[@]}" -- "${VSSD_ARGS[@]}" || t_bail "QEMU did not start (boot 1)"
if scm_step torn 160; then
	scm_kill9
	t_ok "boot 1: QEMU killed with SIGKILL right after the torn update"
else
	t_fail "boot 1: the guest reached the torn update"
	vm_kill
fi
vm_report_checks "boot 1"
t_check "boot 1: no kernel bug reported" vm_log_clean
t_check "boot 1: the driver said it tore the update" vm_log_grep 'torn on purpose|scm_table_tear'
check_table "after the tear and kill -9" "A B"

# --- 2: the old table; create again; tear twice; power off -----------------------
vm_run "boot 2" --append "$SCM_APPEND" --script "$guest" --files "$SCM_FILES" --timeout 170 --env PHASE=2 \
	"${SEEDS[@]}" -- "${VSSD_ARGS[@]}"
check_table "after the last tear and power off" "A B C D"

# --- 3: the table of boot 2, all data ----------------------------------------------
vm_run "boot 3" --append "$SCM_APPEND" --script "$guest" --files "$SCM_FILES" --timeout 170 --env PHASE=3 \
	"${SEEDS[@]}" -- "${VSSD_ARGS[@]}"
t=$(scm_py table "$pmem")
echo "$t" | sed 's/^/# table at the end: /'
cur=$(sed -n 's/^current //p' <<<"$t")
scm_same "host file at the end: the current copy lists A B C D E" \
	"$(names "$(grep "^copy $cur " <<<"$t")")" "A B C D E"
t_done
