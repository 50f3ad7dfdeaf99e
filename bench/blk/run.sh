#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/blk/run.sh [OUTDIR] — fio in the guest: vssd against virtio-blk.
#
# One VM (TCG, 2 vCPUs) gets both disks: /dev/vssd0 (virtio-vssd-pci) and
# /dev/vda (virtio-blk-pci), each on its own raw file of the same size with
# the same content, fully written beforehand (no holes), in the same host
# folder, with the same cache mode and the same number of queues.
# bench/blk/guest.sh runs the fio jobs, alternating the devices; report.py
# and plot.gp turn the results into OUTDIR/blk.{csv,md,png} and
# OUTDIR/blk-summary.csv (default OUTDIR: build/bench).
#
# Environment (defaults in brackets):
#   VSSD_BENCH_SIZE_MB  size of each disk [256]
#   VSSD_BENCH_RUNTIME  seconds measured per fio run [4]
#   VSSD_BENCH_RAMP     seconds of warm-up per fio run, not measured [1]
#   VSSD_BENCH_REPS     repetitions of each job on each device [5]
#   VSSD_BENCH_DIRECT   host cache.direct of both disks, on|off [on]
#   VSSD_BENCH_QUEUES   num-queues of both devices, 0 = device default [2]
#   VSSD_BENCH_JOBS     the fio jobs (see guest.sh) [all six]
#   VSSD_BENCH_FIO_ARGS more fio options for every run (e.g. --cpus_allowed=0) []
#   VSSD_BENCH_AA       1 = A/A control: a second virtio-blk disk takes the
#                       vSSD's place, so the ratios show the noise floor [0]
#   VSSD_FIO            static fio binary [OUTDIR/fio, built if missing]
set -euo pipefail

# here, top, out; tests/lib/vm.sh; the guest image checked; VM_TMP
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh" blk "$@"

size_mb=${VSSD_BENCH_SIZE_MB:-256}
runtime=${VSSD_BENCH_RUNTIME:-4}
ramp=${VSSD_BENCH_RAMP:-1}
reps=${VSSD_BENCH_REPS:-5}
direct=${VSSD_BENCH_DIRECT:-on}
queues=${VSSD_BENCH_QUEUES:-2}
jobs=${VSSD_BENCH_JOBS:-randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32 seqread-1m seqwrite-1m}
aa=${VSSD_BENCH_AA:-0}
fio=${VSSD_FIO:-$out/fio}
# Where the results go: the A/A control keeps apart from the real results.
res=$out
label=
if [ "$aa" = 1 ]; then
	res=$out/blk-aa
	label="A/A CONTROL (both disks virtio-blk): "
	mkdir -p "$res"
fi
[ -x "$fio" ] || bash "$top/scripts/build-fio.sh" "$fio"

disks=$VM_TMP/disks
files=$VM_TMP/files
mkdir -p "$disks" "$files"

# Same bytes in both files, every block allocated: random data written
# once, then copied block by block (dd neither punches holes nor reflinks).
echo "bench/blk: writing two ${size_mb} MiB disks"
dd if=/dev/urandom of="$disks/vssd.img" bs=1M count="$size_mb" status=none
dd if="$disks/vssd.img" of="$disks/blk.img" bs=1M status=none conv=fsync
sync

cp "$fio" "$files/fio"
cat > "$files/params.sh" <<EOF
BENCH_RUNTIME=$runtime
BENCH_RAMP=$ramp
BENCH_REPS=$reps
BENCH_JOBS="$jobs"
BENCH_FIO_ARGS="${VSSD_BENCH_FIO_ARGS:-}"
EOF

qprop=
[ "$queues" != 0 ] && qprop=",num-queues=$queues"
if [ "$aa" = 1 ]; then
	# PCI order decides the names: the disk in the vSSD's slot is vda.
	vssd_device="virtio-blk-pci,id=vssd0,drive=vssd-disk$qprop"
	printf 'BENCH_VSSD_DEV=/dev/vda\nBENCH_BLK_DEV=/dev/vdb\n' >> "$files/params.sh"
else
	vssd_device="virtio-vssd-pci,id=vssd0,drive=vssd-disk$qprop"
fi
qemu_args=(
	-blockdev "driver=file,filename=$disks/vssd.img,node-name=vssd-disk,discard=unmap,cache.direct=$direct"
	-device "$vssd_device"
	-blockdev "driver=file,filename=$disks/blk.img,node-name=blk0,discard=unmap,cache.direct=$direct"
	-device "virtio-blk-pci,id=blk0,drive=blk0$qprop"
)

njobs=$(echo "$jobs" | wc -w)
runs=$((2 * njobs * reps))
# fio itself starts slowly under TCG: allow 5 s per run on top.
timeout=$((120 + runs * (runtime + ramp + 5) * 2))
log=$res/blk-console.log
echo "bench/blk: $runs fio runs of ${ramp}+${runtime} s (about $((runs * (runtime + ramp + 2) / 60 + 1)) min), console in $log"
start=$SECONDS
load_before=$(cut -d' ' -f1 /proc/loadavg)
status=0
vm_boot --script "$here/guest.sh" --files "$files" --timeout "$timeout" \
	--log "$log" --mem 1024 -- "${qemu_args[@]}" || status=$?
mv -f "$log.cmd" "$res/blk-qemu.cmd" 2>/dev/null || true
load_after=$(cut -d' ' -f1 /proc/loadavg)
echo "bench/blk: guest finished in $((SECONDS - start)) s (status $status)," \
	"host load average $load_before -> $load_after on $(nproc) CPUs"
tr -d '\r' < "$log" | grep -a '^bench: ' || true

note="${label}Setup: QEMU $("$VSSD_QEMU" --version | head -n1 | sed 's/.*version \([^ ]*\).*/\1/') TCG (no KVM), -smp 2, \
both disks ${size_mb} MiB raw files on the same host file system, cache.direct=$direct, \
num-queues=$([ "$queues" = 0 ] && echo default || echo "$queues"); \
fio $("$fio" --version) libaio direct=1, ${ramp} s ramp + ${runtime} s per run, \
${reps} repetitions alternating the devices; ratio = vssd IOPS / virtio-blk IOPS (median, min – max). \
Host: $(nproc) CPUs, 1-min load average $load_before at the start and $load_after at the end (the VM itself adds about 2-3; other load widens the spread)."
python3 "$here/report.py" "$log" "$res" --note "$note" || status=1
if [ -f "$res/blk-plot.dat" ]; then
	gnuplot -e "datafile='$res/blk-plot.dat'; outfile='$res/blk.png'; subtitle='${label}${size_mb} MiB raw, cache.direct=$direct, num-queues=$queues, ${reps} reps x ${runtime} s, min-max bars'" \
		"$here/plot.gp" || status=1
fi
vm_log_clean "$log" || status=1
exit $status
