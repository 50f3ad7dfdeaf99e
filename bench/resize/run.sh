#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/resize/run.sh [OUTDIR] — resize latency: vssd against virtio-mem
# and virtio-balloon, in one guest, in one run.
#
# One TCG guest (2 vCPUs, 5 GiB of RAM) has four resizable things:
#   vssd0   virtio-vssd-pci, block-size=1M, on a sparse 5 GiB raw file
#   vssd1   virtio-vssd-pci, block-size=64K, on another sparse 5 GiB file
#   vmem0   virtio-mem-pci, block-size=2M, 4 GiB plugged at boot (guest
#           memory onlined as movable: memhp_default_state=online_movable)
#   balloon virtio-balloon-pci, empty at boot
# both raw files with discard=unmap. bench/resize/guest.sh loads the
# drivers and idles; bench/resize/measure.py shrinks each by 64 MiB,
# 256 MiB, 1 GiB and 4 GiB and grows it back, timing each resize from the
# QMP command to the first poll (every 1 ms, one QMP connection, the same
# loop for everything) that shows the target; report.py and plot.gp make
# OUTDIR/resize.{csv,md,png} and resize-summary.csv (default OUTDIR:
# build/bench).
#
# Environment (defaults in brackets):
#   VSSD_BENCH_QUICK=1          sizes 64,256 MiB and 1 repetition, to try
#                               the benchmark out (about 2 min)
#   VSSD_BENCH_RESIZE_SIZES     size changes in MiB [64,256,1024,4096]
#   VSSD_BENCH_RESIZE_REPS      repetitions [5]
#   VSSD_BENCH_POLL_MS          polling period [1]
#   VSSD_BENCH_RESIZE_TIMEOUT   seconds one resize may take before it is
#                               reported as "> T" [60]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$(mkdir -p "${1:-$top/build/bench}" && cd "${1:-$top/build/bench}" && pwd)

if [ "${VSSD_BENCH_QUICK:-0}" = 1 ]; then
	sizes=${VSSD_BENCH_RESIZE_SIZES:-64,256}
	reps=${VSSD_BENCH_RESIZE_REPS:-1}
else
	sizes=${VSSD_BENCH_RESIZE_SIZES:-64,256,1024,4096}
	reps=${VSSD_BENCH_RESIZE_REPS:-5}
fi
poll_ms=${VSSD_BENCH_POLL_MS:-1}
timeout=${VSSD_BENCH_RESIZE_TIMEOUT:-60}
# The largest change must fit in every mechanism: 5 GiB vSSDs, 5 GiB of
# RAM for the balloon, 4 GiB of virtio-mem.
for s in ${sizes//,/ }; do
	if [ "$s" -gt 4096 ] || [ $((s % 64)) != 0 ]; then
		echo "bench/resize: size $s MiB: sizes are multiples of 64 MiB up to 4096" >&2
		exit 2
	fi
done

# Sparse files need a file system that punches holes; keep them (and the
# VM's scratch folder, removed at exit) under OUTDIR like bench/blk.
export TMPDIR=$out
# shellcheck source-path=SCRIPTDIR source=../../tests/lib/vm.sh
. "$top/tests/lib/vm.sh"

set +o pipefail
have_device=0
vm_have_device && have_device=1
set -o pipefail
if [ $have_device = 0 ]; then
	echo "bench/resize: QEMU, kernel or an image with virtio_vssd.ko missing (run: make qemu image)" >&2
	exit 1
fi

vm_tmpdir
for f in vssd0 vssd1; do
	truncate -s 5G "$VM_TMP/$f.img"
done
ctl=$VM_TMP/ctl.sock
# shellcheck disable=SC2054 # commas separate device properties
qemu_args=(
	-blockdev "driver=file,filename=$VM_TMP/vssd0.img,node-name=vssd0-disk,discard=unmap"
	-device virtio-vssd-pci,id=vssd0,drive=vssd0-disk,block-size=1M
	-blockdev "driver=file,filename=$VM_TMP/vssd1.img,node-name=vssd1-disk,discard=unmap"
	-device virtio-vssd-pci,id=vssd1,drive=vssd1-disk,block-size=64K
	-object memory-backend-ram,id=vmem0-ram,size=4G
	-device virtio-mem-pci,id=vmem0,memdev=vmem0-ram,block-size=2M,requested-size=4G
	-device virtio-balloon-pci,id=balloon0
	# The host's "done" reaches the guest on its second serial port.
	-chardev "socket,id=ctl,path=$ctl,server=on,wait=off"
	-device isa-serial,chardev=ctl
)

nsizes=$(echo "${sizes//,/ }" | wc -w)
# Bound of the whole boot: every resize at its timeout would be far more;
# on a normal run the balloon's 4 GiB (about 15 s each way) dominates.
vm_timeout=$((300 + reps * nsizes * 120))
log=$out/resize-console.log
csv=$out/resize.csv
echo "bench/resize: sizes $sizes MiB, $reps repetitions, polling every $poll_ms ms, console in $log"
start=$SECONDS
load_before=$(cut -d' ' -f1 /proc/loadavg)
status=0
vm_start --script "$here/guest.sh" --timeout "$vm_timeout" --log "$log" \
	--mem 5G,maxmem=9G,slots=1 --append memhp_default_state=online_movable \
	--env "BENCH_VSSD_DISKS=vssd0 vssd1" --env "BENCH_IDLE_SECONDS=$vm_timeout" \
	-- "${qemu_args[@]}" || exit 1
if vm_wait_log 'bench.resize: ready' 180; then
	python3 "$here/measure.py" "$VM_QMP" "$csv" \
		--vssd vssd0:vssd-1M --vssd vssd1:vssd-64K --mem vmem0:virtio-mem \
		--balloon virtio-balloon --sizes "$sizes" --reps "$reps" \
		--poll-ms "$poll_ms" --timeout "$timeout" --qemu-pid "$VM_PID" \
		--signal "$ctl" || status=1
else
	status=1
fi
if [ $status = 0 ]; then
	vm_wait || status=1
else
	vm_kill
fi
mv -f "$log.cmd" "$out/resize-qemu.cmd" 2>/dev/null || true
load_after=$(cut -d' ' -f1 /proc/loadavg)
echo "bench/resize: done in $((SECONDS - start)) s (status $status)," \
	"host load average $load_before -> $load_after on $(nproc) CPUs"
tr -d '\r' < "$log" | grep -a '^bench.resize: ' || true

note="Setup: QEMU $("$VSSD_QEMU" --version | head -n1 | sed 's/.*version \([^ ]*\).*/\1/') TCG (no KVM), \
-smp 2, -m 5G; both vSSDs on sparse 5 GiB raw files with discard=unmap; virtio-mem 4 GiB plugged at boot, \
memhp_default_state=online_movable; Debian's guest kernel (init_on_alloc=1, so balloon pages are zeroed when taken). \
Each size change: shrink from the full size, then grow back; ${reps} repetitions, \
the order of the mechanisms rotating; one QMP connection polled every ${poll_ms} ms for all. \
Host: $(nproc) CPUs, 1-min load average $load_before at the start and $load_after at the end."
if [ -s "$csv" ]; then
	python3 "$here/report.py" "$csv" "$out" --timeout "$timeout" --note "$note" || status=1
	gnuplot -e "datafile='$out/resize-plot.dat'; outfile='$out/resize.png'; subtitle='${reps} repetitions, median and min-max, polled every ${poll_ms} ms'" \
		"$here/plot.gp" || status=1
fi
vm_log_clean "$log" || status=1
exit $status
