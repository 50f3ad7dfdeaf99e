#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/cscm/run.sh [OUTDIR] — the CSCM benchmarks: /dev/scm in a
# container and outside, anonymous memory, a volume and a storage driver,
# side by side in one TCG guest.
#
# One VM (TCG, 2 vCPUs, $VSSD_BENCH_CSCM_MEM MiB) with
#   - a virtio-vssd-pci device whose persistent-memory region is a
#     memory-backend-file (share=on) of $VSSD_BENCH_CSCM_PMEM on the host,
#     plus a small block region; new /dev/scm regions get
#     $VSSD_BENCH_CSCM_REGION bytes (scm_default_size)
#   - a virtio-blk-pci disk, a raw file on the same host file system,
#     holding an ext4 made here (mkfs.ext4 -d) with vol/ (the volume),
#     lower/ (the image layer under the overlayfs), upper/ and work/; the
#     files of vol/ and lower/ are written in full (no holes)
# The program bench/cscm/cscm.c (static, with libscm.a built from
# guest-driver/libscm) runs the three workloads, each plain and
# transactional, in five configurations (bench/cscm/guest.sh): a runc
# container on /dev/scm, a process outside containers on /dev/scm,
# anonymous memory, a file on ext4 (volume), the same kind of file
# reached through overlayfs (storage driver); the last two also in the
# container. report.py and plot.gp write OUTDIR/cscm.{csv,md,png} (default
# OUTDIR: build/bench).
#
# Environment (defaults in brackets):
#   VSSD_BENCH_QUICK=1            1 repetition, smaller op counts (~2 min)
#   VSSD_BENCH_CSCM_REPS          repetitions [4]
#   VSSD_BENCH_CSCM_CONFIGS       [ct-scm host-scm anon volume overlay host-scm-wb]
#   VSSD_BENCH_CSCM_BENCHES       [array stream btree]
#   VSSD_BENCH_CSCM_MODES         [plain tx]
#   VSSD_BENCH_CSCM_OPS_ARRAY_PLAIN, _ARRAY_TX, _STREAM_PLAIN, _STREAM_TX,
#   _BTREE_PLAIN, _BTREE_TX       timed operations per run (see below)
#   VSSD_BENCH_CSCM_CHUNK         STREAM bytes per consistency point [65536]
#   VSSD_BENCH_CSCM_MEM           guest RAM, MiB [1536]
#   VSSD_BENCH_CSCM_PMEM          memdev size [512M]
#   VSSD_BENCH_CSCM_REGION        bytes of each /dev/scm region [240 MiB]
#   VSSD_BENCH_CSCM_VMSTAT=1      the guest prints how some /proc/vmstat
#                                 counters changed over each run
set -euo pipefail

# here, top, out; tests/lib/vm.sh; the guest image checked; VM_TMP
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh" cscm "$@"

quick=${VSSD_BENCH_QUICK:-0}
# Timed operations per run, the same for every configuration. Sizes are
# the CSCM paper's: 20M ints (80 MB), two 90 MB double arrays, a tree of
# 200000 keys; the counts are scaled to TCG.
if [ "$quick" = 1 ]; then
	reps=${VSSD_BENCH_CSCM_REPS:-1}
	: "${VSSD_BENCH_CSCM_OPS_ARRAY_PLAIN:=2000000}"
	: "${VSSD_BENCH_CSCM_OPS_ARRAY_TX:=500}"
	: "${VSSD_BENCH_CSCM_OPS_STREAM_PLAIN:=11250000}"
	: "${VSSD_BENCH_CSCM_OPS_STREAM_TX:=1048576}"
	: "${VSSD_BENCH_CSCM_OPS_BTREE_PLAIN:=20000}"
	: "${VSSD_BENCH_CSCM_OPS_BTREE_TX:=100}"
else
	reps=${VSSD_BENCH_CSCM_REPS:-4}
	: "${VSSD_BENCH_CSCM_OPS_ARRAY_PLAIN:=4000000}"
	: "${VSSD_BENCH_CSCM_OPS_ARRAY_TX:=1000}"
	: "${VSSD_BENCH_CSCM_OPS_STREAM_PLAIN:=45000000}"
	: "${VSSD_BENCH_CSCM_OPS_STREAM_TX:=2097152}"
	: "${VSSD_BENCH_CSCM_OPS_BTREE_PLAIN:=100000}"
	: "${VSSD_BENCH_CSCM_OPS_BTREE_TX:=600}"
fi
configs=${VSSD_BENCH_CSCM_CONFIGS:-ct-scm host-scm anon volume overlay host-scm-wb}
benches=${VSSD_BENCH_CSCM_BENCHES:-array stream btree}
modes=${VSSD_BENCH_CSCM_MODES:-plain tx}
chunk=${VSSD_BENCH_CSCM_CHUNK:-65536}
mem=${VSSD_BENCH_CSCM_MEM:-1536}
pmem=${VSSD_BENCH_CSCM_PMEM:-512M}
region=${VSSD_BENCH_CSCM_REGION:-$((240 << 20))}
elems=20000000
bytes=90000000
keys=200000
cargs="--elems $elems --bytes $bytes --chunk $chunk --keys $keys --every 10"

if ! "$VSSD_QEMU" -device virtio-vssd-pci,help 2>/dev/null | grep '^ *memdev=' >/dev/null; then
	echo "bench/cscm: QEMU's virtio-vssd-pci has no memdev property" >&2
	exit 1
fi
for t in runc mke2fs gnuplot; do
	command -v $t >/dev/null || { echo "bench/cscm: $t missing (sh scripts/deps.sh)" >&2; exit 1; }
done

files=$VM_TMP/files
mkdir -p "$files/ct"

# The program, linked with libscm built from the tree (not installed).
make -s -C "$top/guest-driver/libscm" OUT="$VM_TMP/libscm" all
gcc -static -O2 -Wall -Wextra -I"$top/guest-driver/libscm" -o "$files/cscm" \
	"$here/cscm.c" "$VM_TMP/libscm/libscm.a" -pthread

# overlay.ko in case the image lacks it (no dependencies of its own)
kver=$(cat "$top/build/guest/kver")
ovl=$(cat "$top/build/guest/modules-dir")/kernel/fs/overlayfs/overlay.ko
if zcat "$VSSD_INITRD" | cpio -t --quiet 2>/dev/null | grep "lib/modules/$kver/.*/overlay.ko" >/dev/null; then
	echo "bench/cscm: the image has overlay.ko"
elif [ -f "$ovl" ]; then
	cp "$ovl" "$files/overlay.ko"
else
	echo "bench/cscm: overlay.ko not found in $ovl" >&2
	exit 1
fi

# The runc container's OCI config (runc spec, edited by tests/lib/scm.py).
(cd "$VM_TMP" && runc spec)
python3 "$top/tests/lib/scm.py" bundle "$VM_TMP/config.json" "$files/ct/cscm.json" cscm

# The ext4 disk: every file written in full with non-zero bytes (mke2fs -d
# would leave zero blocks as holes), the same in vol/ and lower/.
tree=$VM_TMP/disk-tree
mkdir -p "$tree/vol" "$tree/lower" "$tree/upper" "$tree/work"
total=0
for b in $benches; do
	eval "ops=\$VSSD_BENCH_CSCM_OPS_$(echo "${b}_TX" | tr a-z A-Z)"
	eval "ops2=\$VSSD_BENCH_CSCM_OPS_$(echo "${b}_PLAIN" | tr a-z A-Z)"
	[ "$ops2" -gt "$ops" ] && ops=$ops2
	# shellcheck disable=SC2086 # the size options
	size=$("$files/cscm" size "$b" --ops "$ops" $cargs)
	head -c "$size" /dev/zero | tr '\0' '\125' > "$tree/lower/$b.dat"
	cp "$tree/lower/$b.dat" "$tree/vol/$b.dat"
	total=$((total + size))
done
disk_mb=$(( (total * 3 >> 20) + 256 ))
rm -f "$VM_TMP/disk.img"
mke2fs -q -t ext4 -d "$tree" -L cscm "$VM_TMP/disk.img" "${disk_mb}M"
rm -rf "$tree"
truncate -s 16M "$VM_TMP/vssd.img"
rm -f "$VM_TMP/pmem.img"
truncate -s "$pmem" "$VM_TMP/pmem.img"

log=$out/cscm-console.log
envs=(--env "CSCM_REPS=$reps" --env "CSCM_CONFIGS=$configs"
	--env "CSCM_BENCHES=$benches" --env "CSCM_MODES=$modes"
	--env "CSCM_SCM_SIZE=$region" --env "CSCM_ARGS=$cargs"
	--env "CSCM_VMSTAT=${VSSD_BENCH_CSCM_VMSTAT:-0}")
for v in ARRAY_PLAIN ARRAY_TX STREAM_PLAIN STREAM_TX BTREE_PLAIN BTREE_TX; do
	eval "envs+=(--env \"CSCM_OPS_$v=\$VSSD_BENCH_CSCM_OPS_$v\")"
done

echo "bench/cscm: $reps repetition(s) of $benches x $modes x ($configs)"
start=$SECONDS
load_before=$(cut -d' ' -f1 /proc/loadavg)
status=0
vm_boot --script "$here/guest.sh" --files "$files" --log "$log" --mem "$mem" \
	--timeout $((quick == 1 ? 600 : 2400)) "${envs[@]}" \
	-- -blockdev "driver=file,filename=$VM_TMP/vssd.img,node-name=vssd-disk" \
	-object "memory-backend-file,id=vssd-pm,mem-path=$VM_TMP/pmem.img,size=$pmem,share=on" \
	-device virtio-vssd-pci,id=vssd0,drive=vssd-disk,memdev=vssd-pm \
	-blockdev "driver=file,filename=$VM_TMP/disk.img,node-name=blk-disk" \
	-device virtio-blk-pci,drive=blk-disk || status=1
load_after=$(cut -d' ' -f1 /proc/loadavg)
mv -f "$log.cmd" "$out/cscm-qemu.cmd" 2>/dev/null || true
vm_log_clean "$log" || status=1
tr -d '\r' < "$log" | grep -a '^bench\.cscm' || true
echo "bench/cscm: guest done in $((SECONDS - start)) s (status $status)"

ops_note=
for v in ARRAY_PLAIN ARRAY_TX STREAM_PLAIN STREAM_TX BTREE_PLAIN BTREE_TX; do
	eval "ops_note=\"\$ops_note $(echo $v | tr A-Z a-z)=\$VSSD_BENCH_CSCM_OPS_$v\""
done
note="Setup: QEMU $("$VSSD_QEMU" --version | head -n1 | sed 's/.*version \([^ ]*\).*/\1/') TCG (no KVM), \
-smp 2, -m $mem; one boot, $reps repetition(s), configurations in rotating order; \
pmem: memory-backend-file share=on of $pmem, /dev/scm regions of $((region >> 20)) MiB; \
volume and overlay: ext4 on a virtio-blk raw file (host page cache, flushes honoured), the same host file system; \
timed operations per run:$ops_note; STREAM consistency point every $chunk bytes. \
Host: $(nproc) CPUs, 1-min load average $load_before at the start and $load_after at the end."
python3 "$here/report.py" "$out" "$log" --note "$note" || status=1
if [ -f "$out/cscm-plot.dat" ]; then
	gnuplot -e "datafile='$out/cscm-plot.dat'; outfile='$out/cscm.png'; subtitle='one TCG guest, $reps repetition(s), median throughput relative to /dev/scm outside containers'" \
		"$here/plot.gp" || status=1
fi
exit $status
