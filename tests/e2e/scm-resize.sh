#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# CSCM and resizing: the pmem region is shrunk and grown with QMP
# ssd-balloon "region": "pmem" while runc containers keep data in it.
#   policy guest  only free blocks go (the containers' data stays, the
#                 plugged size drops in query-ssd-balloon and in the guest,
#                 the host file gets holes in exactly those blocks and its
#                 allocation drops); a shrink below what the regions use
#                 stops short (pmem_short_blocks, pending "shrink N pmem",
#                 query status shrinking); growing back works and the
#                 blocks come back as zeroes.
#   policy host   with a container mapping its region: the device takes
#                 blocks anywhere; a process touching a taken page gets
#                 SIGBUS, exactly on the taken blocks (the guest probes
#                 every block, the host compares with the new holes of its
#                 file), and no verify ever sees data that is not its own.
# The host pmem file is filled with junk first, so that every block is
# allocated and new regions must be zeroed by the driver.
. "$(dirname "$0")/../lib/vm.sh"
. "$VSSD_ROOT/tests/lib/scm.sh"
t_plan 31

rnd() { echo $(( (RANDOM << 15 | RANDOM) + 1 )); }
SEED_A=$(rnd) SEED_B=$(rnd) SEED_C=$(rnd) SEED_H=$(rnd)
MiB=$((1 << 20))
MAX=$((256 * MiB))
BS=$((2 * MiB))
HALF=$((128 * MiB))
H_SIZE=$((112 * MiB))
TAKE=16
SLACK=$((2 * MiB))

scm_need
vm_tmpdir
scm_files A B C D E H || t_bail "cannot make the OCI bundles"
scm_mailbox
pmem=$VM_TMP/pmem.img
truncate -s $MAX "$pmem"
scm_py fill "$pmem" $BS $((MAX - BS)) 0xa5 || t_bail "cannot fill the pmem file"
scm_args "$VM_TMP/disk.img" "$pmem"

# blocks RANGES: one block number per line.
blocks() {
	local r
	for r in $1; do
		seq "${r%-*}" "${r#*-}"
	done
}

# field FILE KEY
field() { scm_json "$1" "$2"; }

# entry_is FILE KEY VALUE NAME
entry_is() {
	scm_same "$4" "$(field "$1" "$2")" "$3"
}

vm_start --append "$SCM_APPEND" --script "$VSSD_ROOT/tests/guest/scm-resize.sh" --files "$SCM_FILES" --timeout 175 \
	--env SEED_A="$SEED_A" --env SEED_B="$SEED_B" --env SEED_C="$SEED_C" \
	--env SEED_H="$SEED_H" --env HALF=$HALF --env H_SIZE=$H_SIZE \
	-- "${VSSD_ARGS[@]}" "${SCM_MAILBOX_ARGS[@]}" || t_bail "QEMU did not start"

finish() {
	vm_kill
	vm_report_checks "guest"
	t_check "no kernel bug reported" vm_log_clean
	t_done
}

scm_step ready 120 || { t_fail "the guest wrote A and B"; finish; }
full=$(vm_alloc_bytes "$pmem")
holes0=$(scm_py holes "$pmem" $BS)
echo "# allocated before the shrink: $full bytes; holes: '${holes0}'"

# --- policy guest: to half ------------------------------------------------------
out=$VM_TMP/q.json
if scm_resize "$out" $HALF; then
	t_ok "policy guest: shrink to $HALF reached ($(field "$out" seconds) s)"
else
	t_fail "policy guest: shrink to $HALF reached"
	finish
fi
entry_is "$out" size $HALF "policy guest: query-ssd-balloon size"
entry_is "$out" blocks-evicted $(((MAX - HALF) / BS)) "policy guest: blocks-evicted"
entry_is "$out" replies-refused 0 "policy guest: no guest reply refused"
holes=$(scm_py holes "$pmem" $BS)
scm_same "policy guest: the holes of the host file are the top blocks" "$holes" \
	"$((HALF / BS))-$((MAX / BS - 1))"
alloc=$(vm_alloc_bytes "$pmem")
echo "# allocated after the shrink: $alloc bytes"
t_check "policy guest: the host file's allocation dropped by $(((MAX - HALF) / MiB)) MiB" \
	test $((full - alloc)) -ge $((MAX - HALF - SLACK))
off_a=$(scm_region_col start A offset) off_b=$(scm_region_col start B offset)
t_check "policy guest: host file: A's data intact" scm_py pattern "$pmem" "$off_a" "$SEED_A" $((4 * MiB))
t_check "policy guest: host file: B's data intact" scm_py pattern "$pmem" "$off_b" "$SEED_B" $((4 * MiB))
scm_tell shrunk

# --- below what the regions use ------------------------------------------------------
used_blocks=5 # the table's block, A's 2 and B's 2
if scm_step checked-shrink 120; then
	scm_resize "$out" $((2 * BS)) --no-wait || t_fail "ssd-balloon to $((2 * BS)) accepted"
	if scm_step short 120; then
		scm_py query "$VM_QMP" vssd0 pmem > "$out"
		entry_is "$out" size $((used_blocks * BS)) "stops short: query size is what the regions use"
		entry_is "$out" requested-size $((2 * BS)) "stops short: query requested-size kept"
		entry_is "$out" status shrinking "stops short: query status shrinking"
		scm_same "stops short: the host file's holes are every free block" \
			"$(scm_py holes "$pmem" $BS)" "$used_blocks-$((MAX / BS - 1))"
		t_check "stops short: host file: A's data intact" scm_py pattern "$pmem" "$off_a" "$SEED_A" $((4 * MiB))
		t_check "stops short: host file: B's data intact" scm_py pattern "$pmem" "$off_b" "$SEED_B" $((4 * MiB))
	else
		t_fail "the guest stopped short"
	fi
fi

# --- grow back ------------------------------------------------------------------------
if scm_resize "$out" $MAX; then
	t_ok "grow back to $MAX reached ($(field "$out" seconds) s)"
else
	t_fail "grow back to $MAX reached"
fi
entry_is "$out" status idle "grown: query status idle"
t_check "grown: the blocks given back read as zeroes in the host file" \
	scm_py zero "$pmem" $((used_blocks * BS)) $((MAX - used_blocks * BS))
scm_tell grown

# --- policy host ------------------------------------------------------------------------
if ! scm_step holding 150; then
	t_fail "container H holds its region"
	finish
fi
before=$(scm_py holes "$pmem" $BS)
if scm_resize "$out" $((MAX - TAKE * BS)) --policy host; then
	t_ok "policy host: shrink by $TAKE blocks reached ($(field "$out" seconds) s)"
else
	t_fail "policy host: shrink by $TAKE blocks reached"
fi
after=$(scm_py holes "$pmem" $BS)
# the blocks the device took that held something: allocated before, holes now
taken=$(comm -13 <(blocks "$before" | sort) <(blocks "$after" | sort) | sort -n)
echo "# policy host: blocks taken that held data: $(echo $taken)"
if grep -qx 0 <<<"$taken"; then
	scm_tell taken-table
else
	scm_tell taken
fi
scm_step probed 120 || t_fail "the guest probed its regions"

log=$VM_LOG
for r in A B C H; do
	off=$(scm_region_col holding $r offset) size=$(scm_region_col holding $r size)
	[ -n "$off" ] || { t_fail "policy host: region $r listed"; continue; }
	first=$((off / BS)) last=$(((off + size) / BS - 1))
	want=$(for b in $taken; do [ "$b" -ge $first ] && [ "$b" -le $last ] && echo "$b"; done | sort -n | xargs)
	got=$(tr -d '\r' < "$log" | sed -n "s/^.*scm\.taken $r \([0-9]*\)$/\1/p" | sort -n | xargs)
	scm_same "policy host: region $r gives SIGBUS exactly on its taken blocks (${want:-none})" "$got" "$want"
	rc=$(tr -d '\r' < "$log" | sed -n "s/^scm\.rc $r //p" | tail -n1)
	if [ -n "$want" ]; then
		# sh reports a child killed by SIGBUS (7) as 135
		scm_same "policy host: $r's verify dies of SIGBUS (no foreign data)" "$rc" 135
	else
		scm_same "policy host: $r untouched, its data intact" "$rc" 0
	fi
done
if grep -qx 0 <<<"$taken"; then
	t_fail "policy host: pmem block 0 (the region table's) is never taken" \
		"the device took it (VIRTIO_VSSD_PMEM_RESERVED_BYTES)"
else
	t_ok "policy host: pmem block 0 (the region table's) is never taken"
fi
t_check "policy host: blocks in H were taken (the probe saw some)" \
	vm_log_grep 'scm\.taken H '

if scm_resize "$out" $MAX; then
	t_ok "grow back after the host-policy shrink"
else
	t_fail "grow back after the host-policy shrink"
fi
scm_tell "done"
vm_finish guest
t_done
