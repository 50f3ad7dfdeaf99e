# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of bench/cache/run.sh (busybox sh): one strategy per boot.
#   STRATEGY=agent      vssd-cache (its agent chooses, renumbers, hints)
#   STRATEGY=tail       dm-cache's own shrink: clean everything (cleaner
#                       policy), then truncate the cache device's tail
#   STRATEGY=rewarm     clean everything, drop the cache, build a new
#                       empty one at the new size
#   STRATEGY=reference  caches built at 75 % and 50 % of the vSSD, warmed
#                       as long as the others (what a shrink should match)
# The workload (cache-io) reads (90 %) and writes (10 %) 64 KiB blocks of
# a 2 GiB origin, 90 % of the accesses on its first 10 % (the hot set,
# about 20 % of the cache), after whole-block writes of cold blocks have
# filled the cache. Each phase prints "bench: STRATEGY PHASE
# key=value ...". The host resizes at each "vssd.step" marker.
. /test/check.sh
. /test/resize-lib.sh

S=${STRATEGY:-agent}
WARM=${WARM:-20}
WINDOW=${WINDOW:-5}
BS=65536
SPB=$((BS / 512))
NBLK=32768			# origin blocks of 64 KiB (2 GiB)
HOT=$((NBLK / 10))		# the hot set: origin blocks 0 .. HOT-1 (20 % of the cache)
META=80				# plain caches: metadata blocks (5 MiB)
VSSD_DEV=$(cat /sys/block/vssd0/dev)
IO="cache-io run"
echo 120000 > /sys/module/virtio_vssd/parameters/agent_timeout_ms

say() {
	echo "bench: $S $*"
}

# --- plain dm-cache (the baselines), through dmsetup -----------------------

# pdata_table SLOTS: the cache device over vSSD blocks META .. META+SLOTS-1.
pdata_table() {
	echo "0 $(($1 * SPB)) linear $VSSD_DEV $((META * SPB))"
}

# pcache_table POLICY [MODE]
pcache_table() {
	echo "0 $(($(blockdev --getsz /dev/vda))) cache /dev/mapper/pmeta /dev/mapper/pdata /dev/vda $SPB 1 ${2:-writeback} $1 0"
}

plain_create() {
	SLOTS=$(($(st map_plugged_blocks) - META))
	dmsetup create pmeta --table "0 $((META * SPB)) linear $VSSD_DEV 0"
	dd if=/dev/zero of=/dev/mapper/pmeta bs=4096 count=1 oflag=direct 2>/dev/null
	dmsetup create pdata --table "$(pdata_table $SLOTS)"
	dmsetup create pc --table "$(pcache_table smq)"
	CDEV=pc
	DEV=/dev/mapper/pc
}

pstat() {	# field N of pc's status
	dmsetup status pc | awk -v n="$1" '{ print $(n + 3) }'
}

# clean: cleaner policy until nothing is dirty (dm-cache's only way;
# writethrough meanwhile, as lvconvert does, or writes keep re-dirtying).
plain_clean() {
	dmsetup reload pc --table "$(pcache_table cleaner writethrough)"
	dmsetup suspend pc && dmsetup resume pc
	while [ "$(pstat 11)" != 0 ]; do usleep 50000; done
}

# plain_shrink N: the baseline's answer to a shrink of N blocks.
plain_shrink() {
	new=$((SLOTS - $1))
	d0=$(pstat 11)
	gone_dirty=$(dump_map | awk -v n=$new '$1 >= n && $3 == "true"' | wc -l)
	plain_clean
	if [ "$S" = tail ]; then
		dmsetup suspend pc
		dmsetup suspend pdata
		dmsetup reload pdata --table "$(pdata_table $new)"
		dmsetup resume pdata
		dmsetup reload pc --table "$(pcache_table smq)"
		dmsetup resume pc
	else
		dmsetup suspend pc
		dmsetup reload pc --table "0 $(blockdev --getsz /dev/vda) linear /dev/vda 0"
		dmsetup resume pc	# clean: the origin is complete
		dmsetup reload pdata --table "$(pdata_table $new)"
		dmsetup suspend pdata && dmsetup resume pdata
		dd if=/dev/zero of=/dev/mapper/pmeta bs=4096 count=1 oflag=direct 2>/dev/null
		dmsetup suspend pc
		dmsetup reload pc --table "$(pcache_table smq)"
		dmsetup resume pc
	fi
	echo "$((d0 * BS)) $((gone_dirty * BS))" > /tmp/wb.last
	hints=$(seq $((META + new)) $((META + SLOTS - 1)) | tr '\n' ' ')
	echo "$hints" > "$P/hints"
	SLOTS=$new
}

plain_grow() {
	new=$(($(st map_plugged_blocks) - META))
	[ "$new" -gt "$SLOTS" ] || return 0
	dmsetup suspend pc
	dmsetup suspend pdata
	dmsetup reload pdata --table "$(pdata_table $new)"
	dmsetup resume pdata
	dmsetup reload pc --table "$(pcache_table smq)"
	dmsetup resume pc
	SLOTS=$new
}

# The baseline's agent: answers the driver like vssd-cache's does.
plain_agent() {
	answered=
	while [ ! -f /tmp/agent.stop ]; do
		pend=$(cat "$P/pending")
		gen=$(st generation)
		case "$pend" in
		shrink*)
			if [ "$gen" != "$answered" ]; then
				plain_shrink "${pend#shrink }"
				echo ready > "$P/pending"
				answered=$gen
			fi ;;
		grow*)
			[ "$gen" != "$answered" ] && echo ready > "$P/pending" && answered=$gen ;;
		none)
			plain_grow ;;
		esac
		usleep 50000
	done
}

# --- measuring --------------------------------------------------------------

# The cache target's device: pc, or vssd-cache's NAME-cache-G.
cache_dev() {
	if [ "$S" = tail ] || [ "$S" = rewarm ]; then echo pc; return; fi
	dmsetup ls | awk '/^c1-cache-/ { print $1 }' | head -n1
}

# dump_map: "cache_block origin_block dirty" of the live cache (its
# metadata committed by a suspend/resume, read through a view device).
dump_map() {
	cd_=$(cache_dev)
	meta=$(dmsetup table "$cd_" | awk '{ print $4 }')
	mname=$(cat "/sys/dev/block/$meta/dm/name")
	dmsetup suspend "$cd_" && dmsetup resume "$cd_"
	dmsetup table "$mname" | dmsetup create bview
	cache_dump /dev/mapper/bview 2>/dev/null | sed -n \
		's/.*<mapping cache_block="\([0-9]*\)" origin_block="\([0-9]*\)" dirty="\([a-z]*\)".*/\1 \2 \3/p'
	dmsetup remove bview
}

# hot_list FILE: the hot origin blocks the cache holds now.
hot_list() {
	dump_map | awk -v h=$HOT '$2 < h { print $2 }' > "$1"
}

# hot_kept: how many hot blocks cached before the shrink (/tmp/hot.before)
# are cached now (blocks promoted since do not count).
hot_kept() {
	hot_list /tmp/hot.after
	awk 'NR == FNR { a[$1]; next } ($1 in a)' /tmp/hot.before /tmp/hot.after | wc -l
}

# cache blocks of the cache device
cache_slots() {
	dmsetup status "$(cache_dev)" | awk '{ split($7, a, "/"); print a[2] }'
}

# cache blocks in use
used_blocks() {
	dmsetup status "$(cache_dev)" | awk '{ split($7, a, "/"); print a[1] }'
}

# read hits and misses so far (vssd-cache's add up over its rebuilds)
hm() {
	if [ "$S" = tail ] || [ "$S" = rewarm ]; then
		echo "$(pstat 5) $(pstat 6)"
	else
		vssd-cache status c1 | awk '/^read_hits:/ { h = $2 } /^read_misses:/ { m = $2 } END { print h, m }'
	fi
}

# delta BEFORE AFTER: AFTER - BEFORE, or AFTER when the counters were
# reset meanwhile (a baseline that builds a new cache)
delta() {
	if [ "$2" -ge "$1" ]; then echo $(($2 - $1)); else echo "$2"; fi
}

# window PHASE: WINDOW seconds of the workload; its read hit ratio.
window() {
	set -- "$1" $(hm)
	$IO "$DEV" /tmp/st --blocks $NBLK --bs $BS --seconds "$WINDOW" --writes 10 > /dev/null
	set -- "$1" "$2" "$3" $(hm)
	say "$1 hits=$(delta "$2" "$4") misses=$(delta "$3" "$5")"
}

# resize PHASE BYTES: the host resizes while the workload runs; hits,
# misses, latency of the I/O meanwhile.
resize() {
	set -- "$1" "$2" $(hm)
	rm -f /tmp/stop
	$IO "$DEV" /tmp/st --blocks $NBLK --bs $BS --seconds 600 --writes 10 --lat 1 \
		--stop /tmp/stop > /tmp/lat.out &
	pid=$!
	sleep 1
	t0=$(awk '{ print $1 }' /proc/uptime)
	step "$1"
	wait_for 300 reached "$2"
	t1=$(awk '{ print $1 }' /proc/uptime)
	sleep 1
	touch /tmp/stop
	wait $pid
	set -- "$1" "$2" "$3" "$4" $(hm)
	lat=$(sed -n 's/.*lat_p99_us=\([0-9]*\) lat_max_us=\([0-9]*\).*/p99_us=\1 max_us=\2/p' /tmp/lat.out)
	say "$1 hits=$(delta "$3" "$5") misses=$(delta "$4" "$6") $lat seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
}

after_shrink() {
	say "$1 hot_before=$(wc -l < /tmp/hot.before) hot_after=$(hot_kept)"
	if [ "$S" = agent ]; then
		say "$1 writeback_bytes=$(vssd-cache status c1 | sed -n 's/^last_writeback_bytes: //p') dirty_given_up_bytes=$(vssd-cache status c1 | sed -n 's/^last_dirty_given_up_bytes: //p') kept_hot=$(vssd-cache status c1 | sed -n 's/^last_kept_hot: //p')"
	else
		set -- "$1" $(cat /tmp/wb.last)
		say "$1 writeback_bytes=$2 dirty_given_up_bytes=$3"
	fi
	window "$1"
}

# clean_now: write every dirty block back (cleaner policy, writethrough,
# on whichever cache target runs), then smq and writeback again: the
# filled cache holds clean cold blocks that smq can demote.
clean_now() {
	cd_=$(cache_dev)
	t=$(dmsetup table "$cd_")
	dmsetup reload "$cd_" --table "$(echo "$t" | sed 's/ writeback smq / writethrough cleaner /')"
	dmsetup suspend "$cd_" && dmsetup resume "$cd_"
	while [ "$(dmsetup status "$cd_" | awk '{ print $14 }')" != 0 ]; do usleep 100000; done
	dmsetup reload "$cd_" --table "$t"
	dmsetup suspend "$cd_" && dmsetup resume "$cd_"
}

# warm: fill the cache with cold blocks first (whole-block writes, which
# dm-cache caches at once: as many as the cache holds; then cleaned), then the skewed
# workload: the hot blocks take the places of cold ones spread over the
# whole cache, as in a cache that has run for long.
warm() {
	cache-io seq "$DEV" /tmp/st --blocks $NBLK --bs $BS --from $HOT \
		--to $((HOT + $(cache_slots))) --ack-every 256 > /dev/null
	clean_now
	$IO "$DEV" /tmp/st --blocks $NBLK --bs $BS --seconds "$WARM" --writes 10 > /dev/null
	say "warm used_blocks=$(used_blocks)"
}

# --- the run ----------------------------------------------------------------

case "$S" in
agent)
	vssd-cache create c1 --origin /dev/vda --cache /dev/vssd0 --mode writeback || exit 1
	DEV=/dev/mapper/c1 ;;
tail | rewarm)
	plain_create
	plain_agent &
	agent_pid=$! ;;
reference)
	for pct in 75 50; do
		# no cache yet: the driver must not wait for an agent
		echo 0 > /sys/module/virtio_vssd/parameters/agent_timeout_ms
		step "ref$pct"
		wait_for 120 reached $(($(st max_size) * pct / 100))
		vssd-cache create c1 --origin /dev/vda --cache /dev/vssd0 --mode writeback || exit 1
		DEV=/dev/mapper/c1
		warm
		window "built_at_$pct"
		vssd-cache remove c1
	done
	exit 0 ;;
esac

MAX=$(st max_size)
warm
window steady
hot_list /tmp/hot.before
resize shrink25 $((MAX * 3 / 4))
after_shrink after25
hot_list /tmp/hot.before
resize shrink50 $((MAX / 2))
after_shrink after50
resize grow $MAX
window after_grow
touch /tmp/agent.stop
[ -n "${agent_pid:-}" ] && wait "$agent_pid"
cache-io verify "$DEV" /tmp/st --bs $BS > /dev/null && say "verify errors=0" || say "verify errors=1"
exit 0
