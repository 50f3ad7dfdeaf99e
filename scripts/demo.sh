#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# make demo: boot a VM with a vSSD, do real I/O on /dev/vssd0, power-cycle it
# and show that the data survived, and show the host reclaiming discarded
# blocks; then boot it with a QMP socket, let the guest mark cold blocks,
# shrink the vSSD from the host with vssdctl and grow it again; then run
# two runc containers on /dev/scm whose persistent data survives a VM
# restart. Files live under run/demo/ (created if missing).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib/vm.sh"

run=$top/run/demo
mkdir -p "$run"
img=$run/vssd.img
rm -f "$img"
truncate -s 256M "$img"

step() { printf '\n=== %s\n' "$*"; }
alloc() { echo $(( $(vm_alloc_bytes "${1:-$img}") >> 20 )) MiB; }
show_guest() { tr -d '\r' < "$1" | sed -n 's/^demo: /  guest| /p'; }
# show_guest_new LOG: the guest lines not shown yet.
shown=0
show_guest_new() {
	local all
	all=$(show_guest "$1")
	[ -n "$all" ] && echo "$all" | tail -n +$((shown + 1))
	shown=$(printf '%s\n' "$all" | grep -c . || true)
}
VSSDCTL=$top/build/bin/vssdctl
# host COMMAND...: show a host command (vssdctl by name) and run it.
host() {
	echo "  host\$ vssdctl ${*:2}" | sed "s#$run/#run/demo/#g"
	"$@" 2>&1 | sed 's/^/  host| /'
}

vssd_args "$img" "num-queues=2,serial=vssd-demo"
step "host: QEMU command line"
echo "  $(basename "$VSSD_QEMU") -M pc -m 512 -smp 2 -kernel build/guest/vmlinuz -initrd build/guest/initramfs.cpio.gz \\"
echo "    ${VSSD_ARGS[*]}"
echo "  backing file $img: apparent size 256 MiB, allocated $(alloc)"

for boot in 1 2; do
	step "boot $boot"
	rc=0
	vm_boot --script "$top/scripts/demo/guest-io.sh" --env DEMO_BOOT=$boot \
		--log "$run/console-boot$boot.log" -- "${VSSD_ARGS[@]}" || rc=$?
	show_guest "$run/console-boot$boot.log"
	if [ "$rc" != 0 ]; then
		echo "demo: the guest script failed (status $rc); console: $run/console-boot$boot.log" >&2
		exit 1
	fi
	echo "  host| backing file allocated after boot $boot: $(alloc)"
done

step "boot 3: resizing, with a QMP socket (a fresh 256 MiB file, run/demo/resize.img)"
rimg=$run/resize.img
log=$run/console-resize.log
rm -f "$rimg"
truncate -s 256M "$rimg"
vssd_args "$rimg" "serial=vssd-demo"
vm_start --script "$top/scripts/demo/guest-resize.sh" --log "$log" -- "${VSSD_ARGS[@]}"
# The socket lives in vm.sh's scratch folder; a link gives it a short name.
sock=$run/qmp.sock
ln -sfn "$VM_QMP" "$sock"
vm_wait_log 'vssd\.step shrink' 120
show_guest_new "$log"
echo "  host| backing file allocated: $(alloc "$rimg")"
host "$VSSDCTL" --qmp "$sock" resize vssd0 192M --wait
host "$VSSDCTL" --qmp "$sock" status
vm_wait_log 'vssd\.step grow' 120
show_guest_new "$log"
echo "  host| backing file allocated: $(alloc "$rimg") (the 64 MiB given back are holes)"
host "$VSSDCTL" --qmp "$sock" resize vssd0 256M --wait
rc=0
vm_wait || rc=$?
show_guest_new "$log"
rm -f "$sock"
if [ "$rc" != 0 ]; then
	echo "demo: the guest script failed (status $rc); console: $log" >&2
	exit 1
fi
echo "  host| backing file allocated: $(alloc "$rimg") (granted blocks read as zeros and cost nothing until written)"

# --- boots 4 and 5: containers on /dev/scm -------------------------------
. "$top/tests/lib/scm.sh"
pmem=$run/vssd.pmem
rm -f "$pmem" "$run/scm.img"
SCM_PMEM_SIZE=128M
scm_args "$run/scm.img" "$pmem"
scm_files web db kv || { echo "demo: cannot make the OCI bundles (runc spec)" >&2; exit 1; }
for boot in 1 2; do
	if [ $boot = 1 ]; then
		step "boot 4: persistent memory for containers (memdev=, a 128 MiB host file run/demo/vssd.pmem)"
		echo "  ${VSSD_ARGS[*]}" | sed "s#$run/#run/demo/#g"
	else
		step "boot 5: a new QEMU on the same files (the VM was powered off)"
	fi
	rc=0
	vm_boot --script "$top/scripts/demo/guest-scm.sh" --files "$SCM_FILES" \
		--env DEMO_BOOT=$boot --env SCM_DEFAULT_SIZE=$((8 << 20)) \
		--log "$run/console-scm$boot.log" -- "${VSSD_ARGS[@]}" || rc=$?
	show_guest "$run/console-scm$boot.log"
	if [ "$rc" != 0 ]; then
		echo "demo: the guest script failed (status $rc); console: $run/console-scm$boot.log" >&2
		exit 1
	fi
	echo "  host| run/demo/vssd.pmem allocated: $(alloc "$pmem") of 128 MiB"
done

step "done: the guest wrote, power-cycled, found its data, gave discarded space back, the host took 64 MiB and returned them, and two containers kept their own persistent memory across a VM restart"
echo "  console logs: $run/console-*.log"
