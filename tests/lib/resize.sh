# SPDX-License-Identifier: GPL-2.0-or-later
#
# resize.sh — host helpers of the resize tests, sourced after vm.sh.
#
#   rz_files            folder for vm_start --files holding the guest
#                       helpers (tests/guest/resize-lib.sh): $RZ_FILES
#   rz_resize OUT SIZE... [--policy P] [--timeout S]
#                       ssd-balloon to each SIZE in turn, wait for the
#                       SSD_BALLOON_CHANGE that reports the last one
#                       reached; OUT gets the block region's query entry
#                       (JSON, plus "events" and "seconds")
#   rz_query OUT        the block region's query-ssd-balloon entry
#   rz_field OUT KEY    one member of OUT ("events": their number)
#   rz_holes FILE BS    ranges of blocks of FILE without host storage
#   rz_statemap FILE    unplugged blocks as the device's state-file says
#   rz_union RANGES...  union of block ranges
#   rz_same NAME GOT WANT   one result: GOT = WANT (short reason if not)
#   rz_step NAME [S]    wait for the guest's "vssd.step NAME" marker
#   rz_guest_line KEY   the rest of the last console line "KEY ..."
#   rz_mailbox          a host -> guest mailbox: a small virtio-blk disk
#                       (/dev/vda in the guest); QEMU arguments in the
#                       array RZ_MAILBOX_ARGS. The guest waits with
#                       "wait_told WORD" (resize-lib.sh) for
#   rz_tell WORD        which the host writes into it.

RZ_PY=$VSSD_ROOT/tests/lib/balloon.py
RZ_FILES=

rz_files() {
	vm_tmpdir
	RZ_FILES=$VM_TMP/files
	mkdir -p "$RZ_FILES"
	install -m 0644 "$VSSD_ROOT/tests/guest/resize-lib.sh" "$RZ_FILES/resize-lib.sh"
}

rz_resize() {
	local out=$1
	shift
	python3 "$RZ_PY" resize "$VM_QMP" vssd0 "$@" > "$out"
}

rz_query() {
	python3 "$RZ_PY" query "$VM_QMP" vssd0 > "$1"
}

rz_field() {
	python3 "$RZ_PY" field "$1" "$2"
}

rz_holes() {
	python3 "$RZ_PY" holes "$1" "$2"
}

rz_statemap() {
	python3 "$RZ_PY" statemap "$1"
}

rz_union() {
	python3 "$RZ_PY" union "$@"
}

rz_same() {
	if [ "$2" = "$3" ]; then
		t_ok "$1"
	else
		t_fail "$1" "got '$(echo "$2" | cut -c1-120)', want '$(echo "$3" | cut -c1-120)'"
	fi
}

rz_step() {
	vm_wait_log "vssd\.step $1\$" "${2:-180}"
}

rz_guest_line() {
	tr -d '\r' < "$VM_LOG" | sed -n "s/^$1 //p" | tail -n1
}

rz_mailbox() {
	vm_tmpdir
	RZ_MAILBOX=$VM_TMP/mailbox.img
	rm -f "$RZ_MAILBOX"
	truncate -s 4096 "$RZ_MAILBOX"
	RZ_MAILBOX_ARGS=(-drive "file=$RZ_MAILBOX,if=virtio,format=raw")
}

rz_tell() {
	printf '%-63s\n' "$1" | dd of="$RZ_MAILBOX" conv=notrunc status=none
}

# rz_count RANGES: number of blocks in "3 7-9" style ranges.
rz_count() {
	local r n=0
	for r in $1; do
		n=$((n + ${r#*-} - ${r%-*} + 1))
	done
	echo "$n"
}
