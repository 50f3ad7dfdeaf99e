#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A shrunk vSSD stays shrunk: with the device property state-file, a
# guest shrinks (hinted blocks, then blocks the host picks), QEMU is
# killed (SIGKILL, no clean shutdown), and a new QEMU on the same files
# gives the guest the same map: the same blocks fail with EIO, the kept
# data is intact, also after rmmod + modprobe of the driver, and the host
# does not allocate again what it reclaimed. A grow and a clean power-off
# are then kept by a third boot. Guest half: tests/guest/restart.sh.
. "$(dirname "$0")/../lib/vm.sh"
. "$VSSD_ROOT/tests/lib/resize.sh"
t_plan 16

SEED=$(( (RANDOM << 15 | RANDOM) + 1 ))
MAX=$((256 << 20))
MB=$((1 << 20))
SLACK=$((64 << 10))

vm_have_device || t_bail "QEMU with virtio-vssd, or the image with virtio_vssd.ko, is not built (make qemu image)"
vm_tmpdir
host_pattern=$(vm_host_pattern) || t_bail "cannot build the pattern tool for the host"
rz_files

img=$VM_TMP/vssd.img
state=$VM_TMP/vssd.state
out=$VM_TMP/q.json
truncate -s $MAX "$img"
"$host_pattern" write "$img" "$SEED" --buffered > /dev/null || t_bail "cannot fill the backing file"
full=$(vm_alloc_bytes "$img")
vssd_args "$img" "state-file=$state"

# boot PHASE [EXPECT]: start the guest half for PHASE.
boot() {
	vm_start --script "$VSSD_ROOT/tests/guest/restart.sh" --files "$RZ_FILES" \
		--timeout 150 --log "$VM_TMP/boot-$1.log" \
		--env PHASE="$1" --env SEED="$SEED" --env EXPECT="${2:-}" \
		-- "${VSSD_ARGS[@]}" || t_bail "QEMU did not start (boot $1)"
}

# finish PHASE: report the guest's checks of that boot.
finish() {
	vm_report_checks "boot $1"
	t_check "boot $1: no kernel bug reported" vm_log_clean
}

alloc_is() {
	local got
	got=$(vm_alloc_bytes "$img")
	t_check "$1 ($((got / MB)) MiB allocated)" test $((got - $2)) -le $SLACK -a $(($2 - got)) -le $SLACK
}

# --- boot A: shrink, then SIGKILL ----------------------------------------
boot A
rz_step "shrink hints" && rz_resize "$out" $((MAX - 21 * MB)) &&
	t_ok "A: shrink by 21 MiB done" || t_fail "A: shrink by 21 MiB done"
rz_step "shrink host" && rz_resize "$out" $((MAX - 32 * MB)) --policy host &&
	t_ok "A: shrink by 11 MiB more (policy host) done" ||
	t_fail "A: shrink by 11 MiB more (policy host) done"
rz_step kill
gone_a=$(rz_guest_line "vssd.unplugged A")
rz_same "A: the state file holds the guest's map ($(rz_count "$gone_a") blocks unplugged)" \
	"$(rz_statemap "$state")" "$gone_a"
kill -9 "$VM_PID"
wait "$VM_PID" 2>/dev/null
VM_PID=
finish A
alloc_is "A: the host reclaimed 32 MiB" $((full - 32 * MB))
reclaimed=$(vm_alloc_bytes "$img")
holes_a=$(rz_holes "$img" $MB)
rz_same "A: the holes are the unplugged blocks" "$holes_a" "$gone_a"

# --- boot B: a new QEMU on the same files ---------------------------------
boot B "$gone_a"
rz_query "$out"
t_check "B: query-ssd-balloon after the restart: size and requested-size $((MAX - 32 * MB)), idle" \
	test "$(rz_field "$out" size) $(rz_field "$out" requested-size) $(rz_field "$out" status)" = \
	"$((MAX - 32 * MB)) $((MAX - 32 * MB)) idle"
rz_step grow
alloc_is "B: after reading everything, nothing allocated again" "$reclaimed"
rz_resize "$out" $((MAX - 21 * MB)) && t_ok "B: grow by 11 MiB done" || t_fail "B: grow by 11 MiB done"
vm_wait
t_check "B: guest script succeeded (clean power-off)" test "$VM_STATUS" = 0
gone_b=$(rz_guest_line "vssd.unplugged B")
rz_same "B: the state file holds the map after the grow" "$(rz_statemap "$state")" "$gone_b"
finish B

# --- boot C: the grow and the clean power-off were kept -------------------
boot C "$gone_b"
rz_query "$out"
t_check "C: query-ssd-balloon: size and requested-size $((MAX - 21 * MB)), idle" \
	test "$(rz_field "$out" size) $(rz_field "$out" requested-size) $(rz_field "$out" status)" = \
	"$((MAX - 21 * MB)) $((MAX - 21 * MB)) idle"
vm_wait
t_check "C: guest script succeeded" test "$VM_STATUS" = 0
finish C
rz_same "C: granted blocks were not written, the holes are still those of A" \
	"$(rz_holes "$img" $MB)" "$holes_a"
t_done
