#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# CSCM durability: data written through /dev/scm and synced (msync) is
# there, byte for byte, after (a) a container restart (runc delete, runc
# run again under the same name; an unshare+cgroup container run again),
# (b) a guest power cycle on the same pmem file, and (c) kill -9 of QEMU
# right after the sync, followed by a new QEMU on the same files. The
# region table keeps every region at the same place. The host pmem file is
# checked directly after each step: each region holds its pattern at its
# offset and the guest's checksums match the file's. When the image has
# scm-demo, its libscm root object (counter, message; scmsync) must come
# back after each of the three as well.
. "$(dirname "$0")/../lib/vm.sh"
. "$VSSD_ROOT/tests/lib/scm.sh"
t_plan 25

rnd() { echo $(( (RANDOM << 15 | RANDOM) + 1 )); }
SEED_A=$(rnd) SEED_B=$(rnd) SEED_U=$(rnd) SEED_H=$(rnd) SEED_A2=$(rnd) SEED_U2=$(rnd)
SEEDS=(--env SCM_DEFAULT_SIZE=$((4 << 20)) --env SEED_A="$SEED_A" --env SEED_B="$SEED_B" --env SEED_U="$SEED_U"
	--env SEED_H="$SEED_H" --env SEED_A2="$SEED_A2" --env SEED_U2="$SEED_U2")

scm_need
vm_tmpdir
scm_files A B D || t_bail "cannot make the OCI bundles"
pmem=$VM_TMP/pmem.img
scm_args "$VM_TMP/disk.img" "$pmem"
guest=$VSSD_ROOT/tests/guest/scm-persist.sh

# sum_of LOG PHASE NAME: the checksum the guest reported.
sum_of() {
	tr -d '\r' < "$1" | sed -n "s/^scm\.sum $2 $3 //p" | tail -n1
}

# host_pattern TAG NAME SEED: region NAME of listing TAG holds SEED's pattern.
host_pattern() {
	local off size
	off=$(scm_region_col "$1" "$2" offset "$log")
	size=$(scm_region_col "$1" "$2" size "$log")
	[ -n "$off" ] && [ -n "$size" ] || { echo "region $2 not listed" >&2; return 1; }
	scm_py pattern "$pmem" "$off" "$3" "$size"
}

# host_sum TAG NAME: the checksum of region NAME in the host file.
host_sum() {
	local off size
	off=$(scm_region_col "$1" "$2" offset "$log")
	size=$(scm_region_col "$1" "$2" size "$log")
	[ -n "$off" ] && [ -n "$size" ] || return 1
	scm_py checksum "$pmem" "$off" "$size"
}

# table TAG LOG: the regions without the "used" column, sorted.
table() {
	scm_regions "$1" "$2" | awk '{ print $1, $2, $3, $5 }' | sort
}

# --- (a) container restart, in boot 1 -----------------------------------------
vm_run "boot 1" --append "$SCM_APPEND" --script "$guest" --files "$SCM_FILES" --timeout 170 \
	--env PHASE=1 "${SEEDS[@]}" -- "${VSSD_ARGS[@]}"
log1=$VM_LOG log=$log1
t1=$(table boot1 "$log1")
echo "# regions after boot 1:"; echo "$t1" | sed 's/^/#   /'
for n in A B /U host; do
	t_check "boot 1: region $n listed" grep -q "^$n " <<<"$t1"
done
t_check "host file after boot 1: A holds its pattern" host_pattern boot1 A "$SEED_A"
t_check "host file after boot 1: B holds its pattern" host_pattern boot1 B "$SEED_B"
t_check "host file after boot 1: /U (unshare U) holds its pattern" host_pattern boot1 /U "$SEED_U"
t_check "host file after boot 1: host region holds its pattern" host_pattern boot1 host "$SEED_H"
scm_same "host file after boot 1: A's checksum is the guest's" "$(host_sum boot1 A)" "$(sum_of "$log1" 1 A)"

# --- (b) power cycle; then the second patterns and kill -9 ------------------------
vm_start --append "$SCM_APPEND" --script "$guest" --files "$SCM_FILES" --timeout 170 \
	--env PHASE=2 "${SEEDS[@]}" -- "${VSSD_ARGS[@]}" || t_bail "QEMU did not start (boot 2)"
if scm_step synced 160; then
	t_ok "boot 2: the guest synced its second patterns"
	scm_kill9
	t_ok "boot 2: QEMU killed with SIGKILL right after the sync"
else
	t_fail "boot 2: the guest synced its second patterns"
	vm_kill
fi
log2=$VM_LOG log=$log2
vm_report_checks "boot 2"
t_check "boot 2: no kernel bug reported" vm_log_clean "$log2"
t2=$(table boot2 "$log2")
scm_same "boot 2: the region table survived the power cycle unchanged" "$t2" "$t1"
t_check "host file after kill -9: A holds its second pattern" host_pattern boot2 A "$SEED_A2"
t_check "host file after kill -9: /U (unshare U) holds its second pattern" host_pattern boot2 /U "$SEED_U2"
t_check "host file after kill -9: B still holds its pattern" host_pattern boot2 B "$SEED_B"
scm_same "host file after kill -9: A's checksum is the guest's" \
	"$(host_sum boot2 A)" "$(sum_of "$log2" 2 A)"

# --- (c) a new QEMU on the same files ---------------------------------------------
vm_run "boot 3" --append "$SCM_APPEND" --script "$guest" --files "$SCM_FILES" --timeout 170 \
	--env PHASE=3 "${SEEDS[@]}" -- "${VSSD_ARGS[@]}"
log3=$VM_LOG log=$log3
scm_same "boot 3: the region table survived kill -9 unchanged" "$(table boot3 "$log3")" "$t1"
for n in A U B; do
	s2=$(sum_of "$log2" 2 $n) s3=$(sum_of "$log3" 3 $n)
	if [ -n "$s2" ] && [ "$s2" != none ] && [ "$s2" = "$s3" ]; then
		t_ok "boot 3: region $n byte for byte as synced before kill -9 ($s3)"
	else
		t_fail "boot 3: region $n byte for byte as synced before kill -9" "before '$s2', after '$s3'"
	fi
done
if vm_log_grep 'scm\.demo absent' "$log1"; then
	t_skip "scm-demo (libscm) keeps its root across restarts" "scm-demo is not in the guest image yet"
fi
t_done
