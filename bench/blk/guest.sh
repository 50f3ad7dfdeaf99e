#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of bench/blk (busybox sh, run by init as /test/run.sh).
#
# Runs every fio job of $BENCH_JOBS on the vSSD and on the virtio-blk disk,
# $BENCH_REPS times. The two devices of one job run back to back and their
# order flips on every repetition (A B, B A, A B, ...), so slow drift of the
# host (other load, page cache, thermal) hits both alike.
#
# Each fio result (JSON) goes to the console between the lines
#   bench.result JOB DEVICE REP
#   <gzip | base64 of fio's JSON>
#   bench.end
# so that a run cut short still leaves the finished results in the log.
# bench/blk/report.py decodes them on the host.

. /test/params.sh

FIO=/test/fio
# The A/A control run (VSSD_BENCH_AA=1 on the host) puts a second
# virtio-blk disk in the vSSD's place.
VSSD_DEV=${BENCH_VSSD_DEV:-/dev/vssd0}
BLK_DEV=${BENCH_BLK_DEV:-/dev/vda}
OUT=/tmp/bench
mkdir -p "$OUT"

# The driver registers the disk asynchronously after probe.
i=0
while [ ! -b "$VSSD_DEV" ] || [ ! -b "$BLK_DEV" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		echo "bench: $VSSD_DEV or $BLK_DEV missing"
		ls /dev
		exit 1
	fi
	sleep 0.1
done

vssd_size=$(blockdev --getsize64 "$VSSD_DEV")
blk_size=$(blockdev --getsize64 "$BLK_DEV")
echo "bench: $VSSD_DEV $vssd_size bytes, $BLK_DEV $blk_size bytes"
if [ "$vssd_size" != "$blk_size" ]; then
	echo "bench: the two devices differ in size"
	exit 1
fi
[ -r /proc/vssd/vssd0/status ] && sed 's/^/bench: vssd0 status: /' /proc/vssd/vssd0/status

# Same I/O scheduler on both (the kernel picks by queue count; make it
# explicit), and report the queue layout each device got.
for d in "${VSSD_DEV#/dev/}" "${BLK_DEV#/dev/}"; do
	q=/sys/block/$d/queue
	[ -w $q/scheduler ] && echo none > $q/scheduler 2>/dev/null
	nq=$(ls -d /sys/block/$d/mq/* 2>/dev/null | wc -l)
	echo "bench: $d hw-queues=$nq scheduler=$(cat $q/scheduler 2>/dev/null)" \
		"max_sectors_kb=$(cat $q/max_sectors_kb) nr_requests=$(cat $q/nr_requests)" \
		"max_segments=$(cat $q/max_segments) write_cache=$(cat $q/write_cache 2>/dev/null)"
done

# fio options of one job, by name. 4 KiB random I/O at queue depth 1 and 32,
# 1 MiB sequential I/O at queue depth 8.
job_opts() {
	case "$1" in
	randread-4k-qd1)   echo "--rw=randread --bs=4k --iodepth=1" ;;
	randread-4k-qd32)  echo "--rw=randread --bs=4k --iodepth=32" ;;
	randwrite-4k-qd1)  echo "--rw=randwrite --bs=4k --iodepth=1" ;;
	randwrite-4k-qd32) echo "--rw=randwrite --bs=4k --iodepth=32" ;;
	seqread-1m)        echo "--rw=read --bs=1M --iodepth=8" ;;
	seqwrite-1m)       echo "--rw=write --bs=1M --iodepth=8" ;;
	*) return 1 ;;
	esac
}

dev_path() {
	case "$1" in
	vssd) echo "$VSSD_DEV" ;;
	virtio-blk) echo "$BLK_DEV" ;;
	esac
}

failed=0
rep=1
while [ $rep -le "$BENCH_REPS" ]; do
	if [ $((rep % 2)) = 1 ]; then
		order="vssd virtio-blk"
	else
		order="virtio-blk vssd"
	fi
	for job in $BENCH_JOBS; do
		opts=$(job_opts "$job") || { echo "bench: unknown job $job"; exit 1; }
		for dev in $order; do
			res=$OUT/$job.$dev.$rep.json
			# shellcheck disable=SC2086 # lists of options
			if $FIO --name="$job" --filename="$(dev_path $dev)" \
				--ioengine=libaio --direct=1 --numjobs=1 \
				--time_based --runtime="$BENCH_RUNTIME" \
				--ramp_time="$BENCH_RAMP" --randrepeat=1 \
				--norandommap $opts $BENCH_FIO_ARGS \
				--output-format=json --output="$res" >/dev/null 2>$OUT/err; then
				echo "bench.result $job $dev $rep"
				gzip -c "$res" | base64
				echo "bench.end"
			else
				echo "bench: fio $job on $dev (rep $rep) failed:"
				cat "$OUT/err" "$res" 2>/dev/null | tail -n 20
				failed=1
			fi
		done
	done
	rep=$((rep + 1))
done
[ -r /proc/vssd/vssd0/status ] && sed 's/^/bench: vssd0 status: /' /proc/vssd/vssd0/status
exit $failed
