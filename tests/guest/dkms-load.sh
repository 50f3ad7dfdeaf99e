# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/packages.sh (busybox sh): the virtio_vssd.ko that
# DKMS built from the virtio-vssd-dkms package (/test/dkms/virtio_vssd.ko)
# replaces the image's module and drives the device.
. /test/check.sh
plan 7

ko=/test/dkms/virtio_vssd.ko
check "the DKMS module was delivered" test -f "$ko"
check "its vermagic is the running kernel's" sh -c "modinfo -F vermagic $ko | grep -q \"^\$(uname -r) \""
check "the image's module unloads" rmmod virtio_vssd
check "the DKMS module loads" insmod "$ko"
check "it is the one loaded (srcversion)" sh -c "
	[ \"\$(cat /sys/module/virtio_vssd/srcversion)\" = \"\$(modinfo -F srcversion $ko)\" ]"
check "it binds the device: /dev/vssd0 and /proc/vssd/vssd0/status" \
	wait_for 20 sh -c 'test -b /dev/vssd0 && grep -q "^state: " /proc/vssd/vssd0/status'
check "I/O through it: a pattern written and read back" sh -c '
	pattern write /dev/vssd0 7 --length 1M --bs 64K && pattern verify /dev/vssd0 7 --length 1M --bs 4K'
check_done
