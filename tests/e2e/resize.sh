#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The published correctness experiment of resizing, on the real guest
# driver: a vSSD whose backing file holds a known pattern is shrunk with
# QMP ssd-balloon by several sizes in one boot, and grown back after each.
# The guest half (tests/guest/resize-passes.sh) checks that reads fail on
# exactly the evicted blocks and that kept data is intact; this half
# checks the host's side of the same steps: the SSD_BALLOON_CHANGE event,
# query-ssd-balloon, and the backing file, whose holes must be exactly
# the blocks the guest no longer has (host storage really reclaimed).
# Two passes: 1 GiB with 1 MiB blocks (the default), 256 MiB with 64 KiB.
. "$(dirname "$0")/../lib/vm.sh"
. "$VSSD_ROOT/tests/lib/resize.sh"
t_plan 98

SEED=$(( (RANDOM << 15 | RANDOM) + 1 ))
SLACK=$((128 << 10))

vm_have_device || t_bail "QEMU with virtio-vssd, or the image with virtio_vssd.ko, is not built (make qemu image)"
vm_tmpdir
host_pattern=$(vm_host_pattern) || t_bail "cannot build the pattern tool for the host"
rz_files

# json_is FILE KEY VALUE NAME: one result for a member of a query entry.
json_is() {
	local got
	got=$(rz_field "$1" "$2")
	if [ "$got" = "$3" ]; then
		t_ok "$4"
	else
		t_fail "$4" "$2 is '$got', expected '$3'"
	fi
}

# run_passes NAME FILE-SIZE BLOCK-SIZE SIZES-MIB [DEVICE-PROPS]
run_passes() {
	local name=$1 max=$2 bs=$3 sizes=$4 props=${5:-}
	local img=$VM_TMP/$name.img out=$VM_TMP/$name.json
	local mib n target evicted=0 granted=0 holes guest alloc full
	rm -f "$img"
	truncate -s "$max" "$img"
	"$host_pattern" write "$img" "$SEED" --buffered > /dev/null ||
		{ t_fail "$name: fill the backing file"; return; }
	full=$(vm_alloc_bytes "$img")
	t_check "$name: the backing file starts without holes" test -z "$(rz_holes "$img" "$bs")"
	vssd_args "$img" "$props"
	rz_mailbox
	vm_start --script "$VSSD_ROOT/tests/guest/resize-passes.sh" --files "$RZ_FILES" \
		--timeout 400 --log "$VM_TMP/$name.log" \
		--env SEED="$SEED" --env SIZES="$sizes" --env EXPECT_BS="$bs" \
		-- "${VSSD_ARGS[@]}" "${RZ_MAILBOX_ARGS[@]}" || { t_fail "$name: QEMU started"; return; }

	for mib in $sizes; do
		n=$(((mib << 20) / bs))
		target=$((max - (mib << 20)))
		rz_step "ready $mib" || break

		if ! rz_resize "$out" "$target"; then
			t_fail "$name: shrink by $mib MiB: SSD_BALLOON_CHANGE reports $target reached"
			break
		fi
		t_ok "$name: shrink by $mib MiB: SSD_BALLOON_CHANGE reports $target reached ($(rz_field "$out" seconds) s)"
		evicted=$((evicted + n))
		json_is "$out" size "$target" "$name: shrink by $mib MiB: query-ssd-balloon size"
		json_is "$out" requested-size "$target" "$name: shrink by $mib MiB: query-ssd-balloon requested-size"
		json_is "$out" status idle "$name: shrink by $mib MiB: query-ssd-balloon status"
		json_is "$out" blocks-evicted "$evicted" "$name: shrink by $mib MiB: blocks-evicted counts $n more"
		json_is "$out" blocks-granted "$granted" "$name: shrink by $mib MiB: blocks-granted unchanged"
		json_is "$out" replies-refused 0 "$name: shrink by $mib MiB: no guest reply refused"
		holes=$(rz_holes "$img" "$bs")
		alloc=$(vm_alloc_bytes "$img")
		echo "# $name: allocated $full -> $alloc bytes; holes: $holes" | head -c 400
		echo
		t_check "$name: shrink by $mib MiB: the file has holes in exactly $n blocks" \
			test "$(rz_count "$holes")" = "$n"
		# (within what the file system's extent tree may add or drop)
		t_check "$name: shrink by $mib MiB: allocation dropped by $mib MiB" \
			test $((full - alloc - (mib << 20))) -le $SLACK -a $(((mib << 20) - full + alloc)) -le $SLACK

		rz_step "shrunk $mib" || break
		guest=$(rz_guest_line "vssd.unplugged $mib")
		t_check "$name: shrink by $mib MiB: the holes are exactly the blocks the guest lost" \
			test "$holes" = "$guest"
		t_check "$name: shrink by $mib MiB: guest counters agree (evicted=$evicted)" \
			test "$(rz_guest_line "vssd.counters $mib")" = "evicted=$evicted granted=$granted"

		if ! rz_resize "$out" "$max"; then
			t_fail "$name: grow by $mib MiB: SSD_BALLOON_CHANGE reports $max reached"
			break
		fi
		t_ok "$name: grow by $mib MiB: SSD_BALLOON_CHANGE reports $max reached ($(rz_field "$out" seconds) s)"
		granted=$((granted + n))
		json_is "$out" size "$max" "$name: grow by $mib MiB: query-ssd-balloon size"
		json_is "$out" blocks-granted "$granted" "$name: grow by $mib MiB: blocks-granted counts $n more"
		json_is "$out" blocks-evicted "$evicted" "$name: grow by $mib MiB: blocks-evicted unchanged"
		t_check "$name: grow by $mib MiB: granting allocates nothing on the host" \
			test "$(rz_holes "$img" "$bs")" = "$holes"
		rz_tell "checked $mib"

		rz_step "grown $mib" || break
		t_check "$name: grow by $mib MiB: guest counters agree (granted=$granted)" \
			test "$(rz_guest_line "vssd.counters-grown $mib")" = "evicted=$evicted granted=$granted"
		t_check "$name: grow by $mib MiB: the guest's rewrite filled the holes" \
			test -z "$(rz_holes "$img" "$bs")"
	done
	vm_wait
	local rc=$?
	vm_report_checks "$name"
	t_check "$name: guest script succeeded" test "$rc" = 0
	t_check "$name: no kernel bug reported" vm_log_clean
	t_check "$name: host file: the pattern is whole at the end" \
		"$host_pattern" verify "$img" "$SEED" --buffered
	rm -f "$img"
}

run_passes 1g-1m $((1 << 30)) $((1 << 20)) "64 256 512"
run_passes 256m-64k $((256 << 20)) $((64 << 10)) "16 64" "block-size=64K"
t_done
