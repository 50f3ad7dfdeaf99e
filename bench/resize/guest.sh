#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of bench/resize (busybox sh, run by init as /test/run.sh).
#
# Loads the virtio-balloon and virtio-mem drivers next to the vssd driver,
# reports the devices, says "bench.resize: ready" and then stays idle while
# the host resizes everything over QMP (bench/resize/measure.py). The host
# says "done" on the second serial port (/dev/ttyS1) when it has finished;
# the script then prints the final state of every vSSD and checks that no
# I/O error or refused resize was counted.

# BENCH_VSSD_DISKS, BENCH_IDLE_SECONDS (vm_start --env).
# shellcheck disable=SC1091 # written by tests/lib/vm.sh at boot
. /test/env.sh

for m in virtio_balloon virtio_mem; do
	modprobe "$m" || { echo "bench.resize: modprobe $m failed"; exit 1; }
done

# The vssd driver registers its disks asynchronously after probe.
wait_disks() {
	i=0
	for d in $BENCH_VSSD_DISKS; do
		while [ ! -b "/dev/$d" ]; do
			i=$((i + 1))
			if [ $i -gt 100 ]; then
				echo "bench.resize: /dev/$d missing"
				return 1
			fi
			sleep 0.1
		done
	done
}

# status_value DISK KEY: one value of /proc/vssd/DISK/status.
status_value() {
	sed -n "s/^$2: *//p" "/proc/vssd/$1/status"
}

show_state() {
	for d in $BENCH_VSSD_DISKS; do
		echo "bench.resize: $d block_size=$(status_value "$d" block_size)" \
			"max_size=$(status_value "$d" max_size)" \
			"plugged_size=$(status_value "$d" plugged_size)" \
			"state=$(status_value "$d" state)"
	done
	echo "bench.resize: $(grep MemTotal /proc/meminfo)"
}

# Counters that must stay 0 while nothing but resizes happens.
check_counters() {
	bad=0
	for d in $BENCH_VSSD_DISKS; do
		for k in unplugged_io_errors resize_refused resize_errors host_io_errors; do
			v=$(status_value "$d" $k)
			if [ -n "$v" ] && [ "$v" != 0 ]; then
				echo "bench.resize: $d $k=$v"
				bad=1
			fi
		done
	done
	return $bad
}

# Hot-plugged virtio-mem memory goes online after the device has plugged
# it: the host's measurements start once all of it is online.
wait_memory_online() {
	i=0
	prev=
	while :; do
		total=$(sed -n 's/^MemTotal: *//p' /proc/meminfo)
		if [ "$total" = "$prev" ] &&
			! grep -qx offline /sys/devices/system/memory/memory*/state; then
			return 0
		fi
		i=$((i + 1))
		if [ $i -gt 120 ]; then
			echo "bench.resize: memory still changing after 2 min"
			return 1
		fi
		prev=$total
		sleep 1
	done
}

wait_disks || exit 1
wait_memory_online || exit 1
show_state
# Raw and silent, so that the host's "done" is read as it was sent.
stty -F /dev/ttyS1 raw -echo || { echo "bench.resize: no /dev/ttyS1"; exit 1; }
echo "bench.resize: ready"
line=
while [ "$line" != "done" ]; do
	# busybox ash has read -t.
	# shellcheck disable=SC3045
	if ! read -r -t "$BENCH_IDLE_SECONDS" line < /dev/ttyS1; then
		echo "bench.resize: no word from the host in $BENCH_IDLE_SECONDS s"
		exit 1
	fi
	line=$(echo "$line" | tr -d '\r')
done
show_state
check_counters
