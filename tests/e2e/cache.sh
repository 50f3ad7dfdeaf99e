#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# vssd-cache: dm-cache on the vSSD, with the real kernel dm-cache, the
# real driver and real QMP resizes. A 128 MiB vSSD in 64 KiB blocks and
# a 256 MiB virtio-blk origin per boot:
#   boot 1  (tests/guest/cache-args.sh) every command with bad arguments,
#           a writethrough cache created, used, removed;
#   boot 2, 3 (tests/guest/cache-resize.sh) writeback, then writethrough:
#           a verified workload through shrink/grow cycles, a shrink that
#           gives up dirty blocks, a resize racing a resize, the agent's
#           worker killed mid-shrink, the process doing a shrink killed
#           while the cache is suspended; at the end the origin file on the host has
#           the checksum the guest read after remove;
#   boots 4-7 (tests/guest/cache-crash.sh, cache-reattach.sh) a writeback
#           cache with acknowledged writes: QEMU killed (SIGKILL) after a
#           shrink, then the guest kernel crashed in the middle of the
#           agent's shrink; each time the next boot attaches the cache
#           again and finds every acknowledged write, also on the origin.
. "$(dirname "$0")/../lib/vm.sh"
. "$VSSD_ROOT/tests/lib/resize.sh"
t_plan 18

MAX=$((128 << 20))

vm_have_device || t_bail "QEMU with virtio-vssd, or the image with virtio_vssd.ko, is not built (make qemu image)"
vm_tmpdir
rz_files
for f in cache-lib.sh; do
	install -m 0644 "$VSSD_ROOT/tests/guest/$f" "$RZ_FILES/$f"
done
out=$VM_TMP/q.json

# disks: fresh vSSD and origin files, QEMU arguments in DISKS
disks() {
	rm -f "$VM_TMP/vssd.img" "$VM_TMP/origin.img"
	truncate -s $MAX "$VM_TMP/vssd.img"
	truncate -s 256M "$VM_TMP/origin.img"
	vssd_args "$VM_TMP/vssd.img" "block-size=64K"
	DISKS=("${VSSD_ARGS[@]}" -drive "file=$VM_TMP/origin.img,if=virtio,format=raw")
}

disks
vm_run args --script "$VSSD_ROOT/tests/guest/cache-args.sh" --files "$RZ_FILES" \
	--timeout 240 -- "${DISKS[@]}"

# resize_at MARKER BYTES: at the guest's marker, resize and wait.
resize_at() {
	rz_step "$1" 240 || return 1
	rz_resize "$out" "$2" --timeout 120
}

# run_mode MODE: boot 2 or 3; the host half of cache-resize.sh.
run_mode() {
	local mode=$1 ok=1 want got
	disks
	vm_start --script "$VSSD_ROOT/tests/guest/cache-resize.sh" --files "$RZ_FILES" \
		--timeout 420 --env MODE="$mode" -- "${DISKS[@]}" || { t_fail "$mode: QEMU started"; return; }
	resize_at "cycle1 $((96 << 20))" $((96 << 20)) || ok=0
	resize_at "cycle1 grow" $MAX || ok=0
	resize_at "cycle2 $((64 << 20))" $((64 << 20)) || ok=0
	resize_at "cycle2 grow" $MAX || ok=0
	if [ "$mode" = writeback ]; then
		resize_at "dirty $((40 << 20))" $((40 << 20)) || ok=0
		resize_at "dirty grow" $MAX || ok=0
	fi
	if rz_step race 240; then
		vm_qmp ssd-balloon "{\"device\":\"vssd0\",\"size\":$((64 << 20))}" > /dev/null
		sleep 0.2
		rz_resize "$out" $((80 << 20)) --timeout 120 || ok=0
	else
		ok=0
	fi
	resize_at "race grow" $MAX || ok=0
	resize_at kill $((96 << 20)) || ok=0
	resize_at "kill grow" $MAX || ok=0
	resize_at killop $((96 << 20)) || ok=0
	resize_at "killop grow" $MAX || ok=0
	t_check "$mode: every resize the guest asked for completed" test "$ok" = 1
	vm_finish "$mode"
	want=$(rz_guest_line origin-sha256)
	got=$(sha256sum < "$VM_TMP/origin.img" | cut -d' ' -f1)
	rz_same "$mode: the origin file on the host is what the guest read after remove" "$got" "$want"
}

run_mode writeback
run_mode writethrough

# crash_then_reattach CRASH: a boot that crashes (cache-crash.sh), then
# one that attaches the cache again (cache-reattach.sh), on the same
# files; the vSSD keeps its map in a state file.
crash_then_reattach() {
	local crash=$1 acked=2048 target=$((96 << 20)) log
	rm -f "$VM_TMP/vssd.img" "$VM_TMP/origin.img" "$VM_TMP/vssd.state"
	truncate -s $MAX "$VM_TMP/vssd.img"
	truncate -s 256M "$VM_TMP/origin.img"
	vssd_args "$VM_TMP/vssd.img" "block-size=64K,state-file=$VM_TMP/vssd.state"
	DISKS=("${VSSD_ARGS[@]}" -drive "file=$VM_TMP/origin.img,if=virtio,format=raw")
	vm_start --script "$VSSD_ROOT/tests/guest/cache-crash.sh" --files "$RZ_FILES" \
		--timeout 240 --env CRASH="$crash" -- "${DISKS[@]}" || { t_fail "$crash: QEMU started"; return; }
	log=$VM_LOG
	if [ "$crash" = kill ]; then
		vm_wait_log "cache-io: acked 512$" 180 &&
			vm_qmp ssd-balloon "{\"device\":\"vssd0\",\"size\":$target}" > /dev/null &&
			vm_wait_log "cache-io: acked 1024$" 180
		kill -9 "$VM_PID"
		wait "$VM_PID" 2> /dev/null
		VM_PID=
		acked=$(tr -d '\r' < "$log" | sed -n 's/^cache-io: acked \([0-9]*\)$/\1/p' | tail -n1)
		t_check "kill: QEMU was killed after 1024 acknowledged blocks (${acked:-none})" \
			test "${acked:-0}" -ge 1024
	else
		rz_step panic 180 && rz_resize "$out" $target --timeout 5 > /dev/null 2>&1
		vm_wait
		t_check "panic: the guest crashed while the shrink ran" \
			vm_log_grep "crashing at pending"
	fi
	vm_start --script "$VSSD_ROOT/tests/guest/cache-reattach.sh" \
		--files "$RZ_FILES" --timeout 240 --env ACKED="${acked:-2048}" --env TARGET=$target \
		--append "virtio_vssd.agent_timeout_ms=60000" -- "${DISKS[@]}" ||
		{ t_fail "$crash: QEMU started again"; return; }
	rz_step reattached 180 &&
		vm_qmp ssd-balloon "{\"device\":\"vssd0\",\"size\":$target}" > /dev/null
	vm_finish "$crash: next boot"
	rz_same "$crash: the origin file on the host is what the guest read after remove" \
		"$(sha256sum < "$VM_TMP/origin.img" | cut -d' ' -f1)" "$(rz_guest_line origin-sha256)"
}

crash_then_reattach kill
crash_then_reattach panic
t_done
