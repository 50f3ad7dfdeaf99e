#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/evict/run.sh [OUTDIR] — the eviction experiment: misses after a
# shrink when the guest chooses the blocks (with hints) against when the
# host does.
#
# A 1 GiB vSSD with block-size=4K (262144 blocks) on a sparse raw file
# with discard=unmap. The guest program bench/evict/evict.c reads 4 KiB
# blocks with O_DIRECT at block numbers drawn from a Gaussian (mean 20000,
# sigma 8192, truncated to the device); a read that fails with EIO is a
# miss. One boot per policy (bench/evict/guest.sh): warm-up reads, then a
# shrink by 256 MiB (65536 blocks), then the measured reads, the same
# trace for every policy:
#   guest    policy guest with hints: the 65536 blocks that a second,
#            differently seeded trace of the same distribution did not
#            touch (farthest from its mean first)
#   nohints  policy guest without hints (the driver's own choice)
#   host     policy host: the device evicts uniformly chosen blocks, in
#            one ssd-balloon
#   hoststep policy host in 16 steps of 4096 blocks: the device's choice
#            is uniform only when one list of at most 4096 ranges holds
#            it (see README: a device bug biases a larger host choice
#            to low block numbers); each step's choice fits
# report.py and plot.gp write OUTDIR/evict.{csv,md,png} (default OUTDIR:
# build/bench).
#
# Environment (defaults in brackets):
#   VSSD_BENCH_QUICK=1           5000 warm-up and 10000 measured reads
#   VSSD_BENCH_EVICT_WARMUP      warm-up reads [50000]
#   VSSD_BENCH_EVICT_READS       measured reads (and draws of the hint
#                                trace) [100000]
#   VSSD_BENCH_EVICT_POLICIES    policies to run [guest nohints host hoststep]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$(mkdir -p "${1:-$top/build/bench}" && cd "${1:-$top/build/bench}" && pwd)

if [ "${VSSD_BENCH_QUICK:-0}" = 1 ]; then
	warmup=${VSSD_BENCH_EVICT_WARMUP:-5000}
	reads=${VSSD_BENCH_EVICT_READS:-10000}
else
	warmup=${VSSD_BENCH_EVICT_WARMUP:-50000}
	reads=${VSSD_BENCH_EVICT_READS:-100000}
fi
policies=${VSSD_BENCH_EVICT_POLICIES:-guest nohints host hoststep}
block=4096
max=$((1 << 30))
shrink_blocks=65536
target=$((max - shrink_blocks * block))

export TMPDIR=$out
# shellcheck source-path=SCRIPTDIR source=../../tests/lib/vm.sh
. "$top/tests/lib/vm.sh"

set +o pipefail
have_device=0
vm_have_device && have_device=1
set -o pipefail
if [ $have_device = 0 ]; then
	echo "bench/evict: QEMU, kernel or an image with virtio_vssd.ko missing (run: make qemu image)" >&2
	exit 1
fi

vm_tmpdir
files=$VM_TMP/files
mkdir -p "$files"
gcc -static -O2 -Wall -Wextra -o "$files/evict" "$here/evict.c" -lm

# run_policy POLICY: one boot; the guest's console and the host's view of
# the shrink go to OUTDIR/evict-POLICY-{console.log,shrink.json}.
run_policy() {
	local p=$1 qpolicy=guest step=() log=$out/evict-$1-console.log rc=0
	case $p in
	host) qpolicy=host ;;
	hoststep) qpolicy=host step=(--step 4096) ;;
	esac
	rm -f "$VM_TMP/vssd.img"
	truncate -s $max "$VM_TMP/vssd.img"
	# Reads run at a few thousand per second under TCG.
	vm_start --script "$here/guest.sh" --files "$files" --log "$log" \
		--timeout $((300 + (warmup + reads) / 200)) \
		--env "EVICT_POLICY=$p" --env "EVICT_WARMUP=$warmup" \
		--env "EVICT_READS=$reads" --env "EVICT_SHRINK_BLOCKS=$shrink_blocks" \
		-- -blockdev "driver=file,filename=$VM_TMP/vssd.img,node-name=vssd-disk,discard=unmap" \
		-device virtio-vssd-pci,id=vssd0,drive=vssd-disk,block-size=4K || return 1
	if vm_wait_log 'bench.evict: shrink to' $((120 + warmup / 200)) &&
		python3 "$here/shrink.py" "$VM_QMP" vssd0 $target $qpolicy "${step[@]}" \
			> "$out/evict-$p-shrink.json"; then
		vm_wait || rc=1
	else
		vm_kill
		rc=1
	fi
	mv -f "$log.cmd" "$out/evict-qemu.cmd" 2>/dev/null || true
	tr -d '\r' < "$log" | grep -a '^bench.evict' || true
	vm_log_clean "$log" || rc=1
	return $rc
}

echo "bench/evict: $warmup warm-up and $reads measured reads per policy ($policies)"
start=$SECONDS
load_before=$(cut -d' ' -f1 /proc/loadavg)
status=0
for p in $policies; do
	echo "bench/evict: policy $p"
	run_policy "$p" || status=1
done
load_after=$(cut -d' ' -f1 /proc/loadavg)
echo "bench/evict: done in $((SECONDS - start)) s (status $status)"

note="Setup: QEMU $("$VSSD_QEMU" --version | head -n1 | sed 's/.*version \([^ ]*\).*/\1/') TCG (no KVM), \
-smp 2; a 1 GiB vSSD, block-size=4K ($((max / block)) blocks), sparse raw file with discard=unmap; \
one boot per policy, one run each; 4 KiB O_DIRECT reads at Gaussian block numbers (mean 20000, sigma 8192, \
truncated to the device): $warmup warm-up reads (seed 1), shrink by $((shrink_blocks * block >> 20)) MiB \
($shrink_blocks blocks), $reads measured reads (seed 3, the same trace for every policy); \
hints from a trace of $reads draws with seed 2. \
Host: $(nproc) CPUs, 1-min load average $load_before at the start and $load_after at the end."
# shellcheck disable=SC2086 # the list of policies
python3 "$here/report.py" "$out" --note "$note" $policies || status=1
if [ -f "$out/evict-plot.dat" ]; then
	gnuplot -e "datafile='$out/evict-plot.dat'; outfile='$out/evict.png'; subtitle='1 GiB vSSD in 4 KiB blocks, shrink by 256 MiB, $reads reads after it, one run per policy'" \
		"$here/plot.gp" || status=1
fi
exit $status
