#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest hints and the agent hook, on the real driver: a 1 GiB vSSD with
# 64 KiB blocks whose backing file is fully allocated. The guest half
# (tests/guest/hints-run.sh) writes /proc/vssd/vssd0/hints (also
# malformed, fragmented, and 5000 ranges at once), runs an agent that
# answers the resize uevent, and a write+verify workload during a shrink;
# at each "vssd.step" marker this half issues the resize it stands for
# and checks query-ssd-balloon, then compares the blocks the guest says it
# gave back with the device's map (its state-file) and with the holes
# punched into the backing file, also when the host picks the blocks.
# The device takes at most 1000 ranges per request (x-max-ranges): the
# driver must split its lists by the config field max_ranges.
. "$(dirname "$0")/../lib/vm.sh"
. "$VSSD_ROOT/tests/lib/resize.sh"
t_plan 62

SEED=$(( (RANDOM << 15 | RANDOM) + 1 ))
BS=$((64 << 10))
MAX=$((1 << 30))

vm_have_device || t_bail "QEMU with virtio-vssd, or the image with virtio_vssd.ko, is not built (make qemu image)"
vm_tmpdir
host_pattern=$(vm_host_pattern) || t_bail "cannot build the pattern tool for the host"
rz_files
install -m 0644 "$VSSD_ROOT/tests/guest/hints-uevent.sh" "$RZ_FILES/hints-uevent.sh"

img=$VM_TMP/vssd.img
out=$VM_TMP/q.json
truncate -s $MAX "$img"
"$host_pattern" write "$img" "$SEED" --buffered > /dev/null || t_bail "cannot fill the backing file"
state=$VM_TMP/vssd.state
# x-max-ranges: the 5000-range shrink below takes five UNPLUG requests
vssd_args "$img" "block-size=64K,state-file=$state,x-max-ranges=1000"
vm_start --script "$VSSD_ROOT/tests/guest/hints-run.sh" --files "$RZ_FILES" \
	--timeout 400 --env SEED="$SEED" -- "${VSSD_ARGS[@]}" || t_bail "QEMU did not start"

# resize NAME BLOCKS [--policy host]: at the guest's "shrink NAME ..." or
# "grow NAME" marker, resize to BLOCKS fewer than the maximum and check
# the host's view.
resize() {
	local name=$1 blocks=$2 marker
	shift 2
	if [ "$blocks" = 0 ]; then marker="grow $name"; else marker="shrink $name [0-9]+"; fi
	rz_step "$marker" || return 1
	if rz_resize "$out" $((MAX - blocks * BS)) "$@"; then
		t_ok "$name: SSD_BALLOON_CHANGE reports $((blocks)) blocks below the maximum ($(rz_field "$out" seconds) s)"
	else
		t_fail "$name: SSD_BALLOON_CHANGE reports $((blocks)) blocks below the maximum"
		return 1
	fi
	t_check "$name: query-ssd-balloon: size $((MAX - blocks * BS)), idle" \
		test "$(rz_field "$out" size) $(rz_field "$out" status)" = "$((MAX - blocks * BS)) idle"
	rz_same "$name: the device's state file has $blocks blocks unplugged" \
		"$(rz_count "$(rz_statemap "$state")")" "$blocks"
}

# device_agrees NAME NEXT-MARKER: when the guest has printed its
# "vssd.unplugged NAME" line (it does so before NEXT-MARKER), the device's
# map (its state file) is the guest's map, and the backing file gained
# holes exactly there (blocks granted back earlier stay holes until the
# guest writes them).
holes_before=
device_agrees() {
	local guest holes
	rz_step "$2" || return 1
	guest=$(rz_guest_line "vssd.unplugged $1")
	rz_same "$1: the device's map is the guest's ($(rz_count "$guest") blocks unplugged)" \
		"$(rz_statemap "$state")" "$guest"
	holes=$(rz_holes "$img" "$BS")
	rz_same "$1: those blocks are holes in the backing file" \
		"$(rz_union "$holes" "$guest")" "$holes"
	# (a hole may also go away: the workload rewrites granted blocks)
	rz_same "$1: no other block became a hole" \
		"$(rz_union "$holes_before" "$guest" "$holes")" "$(rz_union "$holes_before" "$guest")"
	holes_before=$holes
}

# The guest prints "vssd.unplugged NAME" and then its next marker.
resize frag 100 && device_agrees frag "shrink large [0-9]+"
resize large 5100 && device_agrees large "grow large"
t_check "large: 5000 ranges in requests of max_ranges (1000), none refused" test "$(rz_field "$out" replies-refused)" = 0
resize large 0
resize more 30 && device_agrees more "grow more"
resize more 0
resize host 40 --policy host && device_agrees host "grow host"
t_check "host: policy is host in query-ssd-balloon" test "$(rz_field "$out" policy)" = host
resize host 0
resize agent 13 && device_agrees agent "grow agent"
resize agent 0
resize io 1000 && device_agrees io "grow io"
resize io 0

# A second target while the first waits for the guest agent.
if rz_step "replace first"; then
	vm_qmp ssd-balloon "{\"device\":\"vssd0\",\"size\":$((MAX - 100 * BS))}" > /dev/null
	rz_step "replace second" &&
		rz_resize "$out" $((MAX - 40 * BS)) &&
		t_ok "replace: the second target (40 blocks) is reached" ||
		t_fail "replace: the second target (40 blocks) is reached"
	t_check "replace: requested-size is the second target" \
		test "$(rz_field "$out" requested-size)" = $((MAX - 40 * BS))
	device_agrees replace "cancel first"
	vm_qmp ssd-balloon "{\"device\":\"vssd0\",\"size\":$((MAX - 60 * BS))}" > /dev/null
	rz_step "cancel second" &&
		rz_resize "$out" $MAX &&
		t_ok "cancel: growing to the maximum replaces the shrink" ||
		t_fail "cancel: growing to the maximum replaces the shrink"
	# Every block given back was granted again: 100+5000+30+40+13+1000+40.
	t_check "blocks-evicted and blocks-granted are both 6223" \
		test "$(rz_field "$out" blocks-evicted) $(rz_field "$out" blocks-granted)" = "6223 6223"
fi

vm_wait
rc=$?
vm_report_checks guest
t_check "guest script succeeded" test "$rc" = 0
t_check "no kernel bug reported" vm_log_clean
t_done
