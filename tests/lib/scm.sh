# SPDX-License-Identifier: GPL-2.0-or-later
#
# scm.sh — host helpers of the /dev/scm (CSCM) tests, sourced after vm.sh.
#
#   $SCM_APPEND         kernel arguments the tests pass to every boot
#   scm_have_pmem       QEMU's virtio-vssd has the memdev property
#   scm_need            bail out (one failure) unless QEMU, the image with
#                       the driver, scmtest and runc, and host runc exist
#   scm_args IMG PMEM [PROPS]
#                       VSSD_ARGS: the device with a small block region on
#                       IMG and a persistent-memory region on the host file
#                       PMEM (memory-backend-file, share=on, $SCM_PMEM_SIZE,
#                       default 256M); both files are created when missing
#   scm_files NAME... [--admin NAME...]
#                       $SCM_FILES, the folder for vm_boot --files: the
#                       guest helpers (tests/guest/scm-lib.sh) and one OCI
#                       config per runc container, ct/NAME.json, made from
#                       `runc spec` (tests/lib/scm.py bundle); names after
#                       --admin get every capability; each is bound to the
#                       region NAME by the OCI hook oci-hook-scm-copy
#                       --bind at start, and NAME@IMAGE has it copy image
#                       region IMAGE too
#   scm_bundle NAME [OPTIONS]   one more OCI config (scm.py bundle options)
#   scm_regions TAG [LOG]   the regions the guest printed with
#                       scm_regions TAG: "name owner size used offset" lines
#   scm_region_col TAG NAME COL [LOG]   one column (owner size used offset)
#   scm_host_pattern TAG NAME SEED FILE [LABEL]   one result: the region holds
#                       SEED's pattern (scmtest's) in the host's pmem FILE
#   scm_query OUT       the pmem region's query-ssd-balloon entry (JSON)
#   scm_py ARGS...      tests/lib/scm.py
#   scm_step NAME [S]   wait for the guest's "vssd.step NAME"
#   scm_kill9           kill -9 the QEMU of vm_start (no clean shutdown)
#   scm_mailbox         a host -> guest mailbox, a small virtio-blk disk
#                       (/dev/vda in the guest); QEMU arguments in the array
#                       SCM_MAILBOX_ARGS; scm_tell WORD writes WORD into it,
#                       the guest waits for it with wait_told (scm-lib.sh)
#   scm_resize OUT SIZE [--policy P] [--no-wait]
#                       ssd-balloon the pmem region and wait until it got
#                       there (tests/lib/scm.py resize); OUT: the entry

SCM_PY=$VSSD_ROOT/tests/lib/scm.py
# More kernel command line for every boot of these tests: under TCG on a
# loaded host the kernel's IO-APIC timer check can fail and panic
# ("IO-APIC + timer doesn't work!"); skipping the check avoids that.
SCM_APPEND=${SCM_APPEND:-no_timer_check}
SCM_FILES=
SCM_PMEM_SIZE=${SCM_PMEM_SIZE:-256M}

scm_py() {
	python3 "$SCM_PY" "$@"
}

scm_have_pmem() {
	"$VSSD_QEMU" -device virtio-vssd-pci,help 2>/dev/null | grep '^ *memdev=' >/dev/null
}

scm_need() {
	vm_have_device || t_bail "QEMU with virtio-vssd, or the image with virtio_vssd.ko, is not built (make qemu image)"
	scm_have_pmem || t_bail "QEMU's virtio-vssd-pci has no memdev property (persistent-memory region not built)"
	zcat "$VSSD_INITRD" | cpio -t --quiet 2>/dev/null | grep -x 'usr/bin/scmtest' >/dev/null ||
		t_bail "the guest image has no scmtest (make image)"
	zcat "$VSSD_INITRD" | cpio -t --quiet 2>/dev/null | grep -x 'usr/sbin/runc' >/dev/null ||
		t_bail "the guest image has no runc (make image)"
	command -v runc >/dev/null || t_bail "runc is not installed on the host (sh scripts/deps.sh)"
}

# scm_image_has PATH: the guest image holds PATH (e.g. usr/bin/scmctl).
scm_image_has() {
	zcat "$VSSD_INITRD" | cpio -t --quiet 2>/dev/null | grep -x "$1" >/dev/null
}

scm_args() {
	local img=$1 pmem=$2 props=${3:-}
	[ -f "$img" ] || truncate -s 16M "$img"
	[ -f "$pmem" ] || truncate -s "$SCM_PMEM_SIZE" "$pmem"
	VSSD_ARGS=(-blockdev "driver=file,filename=$img,node-name=vssd-disk,discard=unmap"
		-object "memory-backend-file,id=vssd-pm,mem-path=$pmem,size=$SCM_PMEM_SIZE,share=on"
		-device "virtio-vssd-pci,id=vssd0,drive=vssd-disk,memdev=vssd-pm${props:+,$props}")
}

scm_files() {
	local admin=0 name base hook
	vm_tmpdir
	SCM_FILES=$VM_TMP/scm-files
	mkdir -p "$SCM_FILES/ct"
	install -m 0644 "$VSSD_ROOT/tests/guest/scm-lib.sh" "$SCM_FILES/scm-lib.sh"
	base=$VM_TMP/runc-spec
	if [ ! -f "$base/config.json" ]; then
		mkdir -p "$base"
		(cd "$base" && runc spec) || { echo "scm.sh: runc spec failed" >&2; return 1; }
	fi
	for name in "$@"; do
		if [ "$name" = --admin ]; then
			admin=1
			continue
		fi
		hook=()
		case $name in
		*@*) hook=(--image-hook "${name#*@}"); name=${name%@*} ;;
		esac
		scm_py bundle "$base/config.json" "$SCM_FILES/ct/$name.json" "$name" \
			$([ $admin = 1 ] && echo --admin-caps) "${hook[@]}" || return 1
	done
}

# scm_bundle NAME [scm.py bundle options]: one more container, made after
# scm_files (which sets $SCM_FILES): another cgroup path, no binding, ...
scm_bundle() {
	local name=$1
	shift
	scm_py bundle "$VM_TMP/runc-spec/config.json" "$SCM_FILES/ct/$name.json" "$name" "$@"
}

scm_regions() {
	scm_py regions "${2:-$VM_LOG}" "$1"
}

scm_region_col() {
	local tag=$1 name=$2 col=$3 log=${4:-$VM_LOG} i
	case "$col" in
	owner) i=2 ;; size) i=3 ;; used) i=4 ;; offset) i=5 ;; *) return 2 ;;
	esac
	scm_regions "$tag" "$log" | awk -v n="$name" -v i="$i" '$1 == n { print $i; exit }'
}

# scm_host_pattern TAG NAME SEED FILE [LABEL]: one result: region NAME, as
# the guest listed it at TAG, holds SEED's pattern in the host's pmem FILE.
scm_host_pattern() {
	local tag=$1 name=$2 seed=$3 file=$4 label=${5:-region $2} off size
	off=$(scm_region_col "$tag" "$name" offset)
	size=$(scm_region_col "$tag" "$name" size)
	if [ -z "$off" ] || [ -z "$size" ]; then
		t_fail "host file: $label holds its pattern" "region '$name' not listed"
		return
	fi
	t_check "host file: $label holds its pattern at offset $off" \
		scm_py pattern "$file" "$off" "$seed" "$size"
}

scm_query() {
	scm_py query "$VM_QMP" vssd0 pmem > "$1"
}

# scm_json FILE KEY: one member of a JSON object.
scm_json() {
	python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(json.dumps(v) if isinstance(v,(dict,list)) else v)' "$1" "$2"
}

scm_step() {
	vm_wait_log "vssd\.step $1\$" "${2:-120}"
}

scm_kill9() {
	[ -n "$VM_PID" ] || return 1
	kill -9 "$VM_PID" 2>/dev/null
	wait "$VM_PID" 2>/dev/null
	VM_PID=
}

scm_mailbox() {
	vm_tmpdir
	SCM_MAILBOX=$VM_TMP/mailbox.img
	rm -f "$SCM_MAILBOX"
	truncate -s 4096 "$SCM_MAILBOX"
	SCM_MAILBOX_ARGS=(-drive "file=$SCM_MAILBOX,if=virtio,format=raw")
}

scm_tell() {
	printf '%-63s\n' "$1" | dd of="$SCM_MAILBOX" conv=notrunc status=none
}

scm_resize() {
	local out=$1
	shift
	scm_py resize "$VM_QMP" vssd0 "$@" > "$out"
}

# scm_same NAME GOT WANT: one result, GOT = WANT.
scm_same() {
	if [ "$2" = "$3" ]; then
		t_ok "$1"
	else
		t_fail "$1" "got '$2', want '$3'"
	fi
}
