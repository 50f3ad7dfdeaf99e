#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# make demo: boot a VM with a vSSD, do real I/O on /dev/vssd0, power-cycle it
# and show that the data survived, and show the host reclaiming discarded
# blocks. Files live under run/demo/ (created if missing).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib/vm.sh"

run=$top/run/demo
mkdir -p "$run"
img=$run/vssd.img
rm -f "$img"
truncate -s 256M "$img"

step() { printf '\n=== %s\n' "$*"; }
alloc() { echo $(( $(vm_alloc_bytes "$img") >> 20 )) MiB; }
show_guest() { tr -d '\r' < "$1" | sed -n 's/^demo: /  guest| /p'; }

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

step "done: the guest wrote, power-cycled, found its data and gave discarded space back"
echo "  console logs: $run/console-boot*.log"
