#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/cache/run.sh [OUTDIR] — dm-cache on a vSSD that the host shrinks
# by 25 %, then to 50 %, then grows back: vssd-cache's agent against
# dm-cache's own tail shrink (clean everything, truncate) and against
# dropping the cache and warming a new one, in the same run; plus caches
# built at 75 % and 50 % as the reference for the hit ratio after a shrink.
#
# One TCG boot per strategy (bench/cache/guest.sh): a 1 GiB vSSD in 64 KiB
# blocks (dm-cache blocks of 64 KiB, writeback), a 2 GiB sparse origin
# (virtio-blk); the cache is filled with cold blocks (whole-block writes),
# then the skewed workload of tests/guest/cache-io.c runs (90 % of the
# accesses on 10 % of the origin, about 20 % of the cache; 10 % writes). The host resizes with QMP ssd-balloon at the guest's markers.
# report.py and plot.gp write OUTDIR/cache.{csv,md,png}.
#
# Environment: VSSD_BENCH_QUICK=1 (8 s warm-up, 3 s windows),
# VSSD_BENCH_CACHE_STRATEGIES [agent tail rewarm reference].
set -euo pipefail
. "$(dirname "$0")/../lib.sh" cache "$@"
. "$top/tests/lib/resize.sh"

strategies=${VSSD_BENCH_CACHE_STRATEGIES:-agent tail rewarm reference}
warm=20
window=5
if [ "${VSSD_BENCH_QUICK:-0}" = 1 ]; then
	warm=8
	window=3
fi
max=$((1 << 30))
files=$VM_TMP/files
mkdir -p "$files"
install -m 0644 "$top/tests/guest/resize-lib.sh" "$files/resize-lib.sh"
csv=$out/cache.csv
echo "strategy,phase,key,value" > "$csv"

# run_strategy S: one boot; console in OUTDIR/cache-S-console.log.
run_strategy() {
	local s=$1 log=$out/cache-$s-console.log q=$VM_TMP/q.json marker size
	rm -f "$VM_TMP/vssd.img" "$VM_TMP/origin.img"
	truncate -s $max "$VM_TMP/vssd.img"
	truncate -s 2G "$VM_TMP/origin.img"
	vssd_args "$VM_TMP/vssd.img" "block-size=64K"
	vm_start --script "$here/guest.sh" --files "$files" --timeout 900 --log "$log" \
		--mem 1024 --env STRATEGY="$s" --env WARM=$warm --env WINDOW=$window -- \
		"${VSSD_ARGS[@]}" -drive "file=$VM_TMP/origin.img,if=virtio,format=raw" || return 1
	if [ "$s" = reference ]; then
		set -- ref75 $((max * 3 / 4)) ref50 $((max / 2))
	else
		set -- shrink25 $((max * 3 / 4)) shrink50 $((max / 2)) grow $max
	fi
	while [ $# -gt 0 ]; do
		marker=$1 size=$2
		shift 2
		rz_step "$marker" 600 || return 1
		rz_resize "$q" "$size" --timeout 300 > /dev/null || return 1
	done
	vm_wait || return 1
	tr -d '\r' < "$log" | sed -n "s/^bench: $s \([a-z0-9_]*\) \(.*\)$/\1 \2/p" |
		while read -r phase kvs; do
			for kv in $kvs; do
				echo "$s,$phase,${kv%%=*},${kv#*=}"
			done
		done >> "$csv"
}

for s in $strategies; do
	echo "bench/cache: $s"
	run_strategy "$s" || { echo "bench/cache: $s failed (console: $out/cache-$s-console.log)" >&2; exit 1; }
done
python3 "$here/report.py" "$csv" "$out/cache.md" "$out/cache-plot.dat"
gnuplot -e "datafile='$out/cache-plot.dat'; outfile='$out/cache.png'" "$here/plot.gp"
cat "$out/cache.md"
