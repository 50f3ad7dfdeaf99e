#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of bench/cscm (busybox sh, run by init as /test/run.sh).
#
# Setup: the region size for new /dev/scm regions (scm_default_size,
# before anything opens /dev/scm), the overlay module, the ext4 disk
# /dev/vda (made on the host: vol/, lower/, upper/, work/) mounted at
# /ctshare/disk, the overlayfs /ctshare/ovl (lowerdir lower, upperdir
# upper, both on that ext4), and a runc bundle /ctroot/cscm over a busybox
# rootfs. The OCI config (tests/lib/scm.py bundle, from `runc spec`) binds
# /dev/scm and /ctshare (at /ct, recursively, so the ext4 and the overlay
# are visible in the container) and puts the container in cgroup /cscm,
# so its region is "cscm".
#
# Every file of the image layer is copied up first (timed, then synced:
# "cscm.copyup bench=B bytes=N ms=T"), so the timed runs find it in the
# upper layer. Then, CSCM_REPS times, every benchmark and mode, every
# configuration (the order rotates from one repetition to the next, and
# ct-scm and host-scm run back to back, swapping places every other
# repetition); after each run, sync:
#   ct-scm     runc container, /dev/scm              (cscm scm)
#   host-scm   outside every container, /dev/scm     (cscm scm)
#   anon       outside, anonymous memory, plain only (cscm anon)
#   host-scm-wb  outside, /dev/scm, tx only, consistency points write the
#              CPU caches back without asking the host to flush (cscm scm
#              --writeback-only): a weaker guarantee, for comparison
#   volume     runc container, a file on the ext4    (cscm file=/ct/disk/vol/B.dat)
#   overlay    runc container, a file of the image layer lower/, reached
#              through the overlayfs                 (cscm file=/ct/ovl/B.dat)
# One line per run for bench/cscm/report.py:
#   cscm.run rep=R config=C <the cscm.result fields>
# A run that fails prints "cscm.fail rep=R config=C bench=B mode=M status=S".
#
# Environment (vm_start --env): CSCM_REPS, CSCM_CONFIGS, CSCM_BENCHES,
# CSCM_MODES, CSCM_SCM_SIZE, CSCM_OPS_<BENCH>_<MODE> (e.g. CSCM_OPS_ARRAY_TX),
# CSCM_ARGS (sizes for every run), CSCM_VMSTAT=1 (print the change of some
# /proc/vmstat counters over each run).
# shellcheck disable=SC1091 # written by tests/lib/vm.sh at boot
. /test/env.sh

CT=cscm
BUNDLE=/ctroot/$CT
SHARE=/ctshare
status=0

say() {
	echo "bench.cscm: $*"
}

setup() {
	echo "$CSCM_SCM_SIZE" > /sys/module/virtio_vssd/parameters/scm_default_size ||
		{ say "cannot set scm_default_size"; return 1; }
	[ -c /dev/scm ] || { say "no /dev/scm"; return 1; }
	if ! grep -qw overlay /proc/filesystems; then
		modprobe overlay 2>/dev/null || insmod /test/overlay.ko ||
			{ say "no overlay module"; return 1; }
	fi
	mkdir -p $SHARE/disk $SHARE/ovl
	mount -t ext4 /dev/vda $SHARE/disk || { say "cannot mount /dev/vda"; return 1; }
	mount -t overlay overlay \
		-o lowerdir=$SHARE/disk/lower,upperdir=$SHARE/disk/upper,workdir=$SHARE/disk/work \
		$SHARE/ovl || { say "cannot mount the overlay"; return 1; }
	cp /test/cscm $SHARE/cscm
	# The copy-up: overlayfs copies a lower file up whole when it is first
	# opened for writing. Done here, timed, and written back, so that no
	# timed run pays for it or for its write-back.
	for b in $CSCM_BENCHES; do
		t0=$(cut -d' ' -f1 /proc/uptime)
		: >> $SHARE/ovl/$b.dat || { say "copy-up of $b.dat failed"; return 1; }
		sync
		t1=$(cut -d' ' -f1 /proc/uptime)
		echo "cscm.copyup bench=$b bytes=$(stat -c %s $SHARE/disk/upper/$b.dat) ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) * 1000 }')"
	done

	# the container: busybox rootfs (hard links: the same file system as /)
	r=$BUNDLE/rootfs
	mkdir -p $r/bin $r/dev $r/proc $r/sys $r/tmp $r/etc $r/root $r/ct $r/run
	cp -l /bin/busybox $r/bin/busybox 2>/dev/null || cp /bin/busybox $r/bin/busybox
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"
	done
	echo "root:x:0:0:root:/root:/bin/sh" > $r/etc/passwd
	echo "root:x:0:" > $r/etc/group
	cp /test/ct/$CT.json $BUNDLE/config.json
}

# ct_exec CMD...: run CMD in the runc container (a new container each
# time, as a container would be started for a job), output on stdout.
ct_exec() {
	echo "exec $*" > $SHARE/$CT.sh
	runc run --no-pivot --bundle $BUNDLE $CT </dev/null 2>&1
}

# vmstat_snap: selected /proc/vmstat counters, "name value" lines.
vmstat_snap() {
	grep -E '^(pgfault|pgmajfault|pgpgin|pgpgout|pgscan_kswapd|pgscan_direct|pgsteal_kswapd|pgsteal_direct|nr_dirty|nr_writeback|thp_fault_alloc|compact_stall|workingset_refault_file) ' /proc/vmstat
}

# run_one REP CONFIG BENCH MODE: one run, one "cscm.run" line.
run_one() {
	rep=$1 cfg=$2 b=$3 m=$4
	[ "${CSCM_VMSTAT:-0}" = 1 ] && vmstat_snap > /tmp/vmstat.before
	eval "ops=\$CSCM_OPS_$(echo "${b}_$m" | tr a-z A-Z)"
	args="$b $m --ops $ops --seed $rep $CSCM_ARGS"
	case $cfg in
	ct-scm) out=$(ct_exec /ct/cscm scm $args) ;;
	host-scm) out=$(/test/cscm scm $args 2>&1) ;;
	host-scm-wb) out=$(/test/cscm scm $args --writeback-only 2>&1) ;;
	anon) out=$(/test/cscm anon $args 2>&1) ;;
	volume) out=$(ct_exec /ct/cscm file=/ct/disk/vol/$b.dat $args) ;;
	overlay) out=$(ct_exec /ct/cscm file=/ct/ovl/$b.dat $args) ;;
	*) out="unknown configuration $cfg"; false ;;
	esac
	rc=$?
	if [ "${CSCM_VMSTAT:-0}" = 1 ]; then
		vmstat_snap > /tmp/vmstat.after
		say "vmstat rep=$rep config=$cfg bench=$b mode=$m" $(awk 'NR == FNR { v[$1] = $2; next }
			$2 != v[$1] { printf "%s=%d ", $1, $2 - v[$1] }' /tmp/vmstat.before /tmp/vmstat.after)
	fi
	sync	# nothing left for the next run to write back
	line=$(echo "$out" | grep '^cscm\.result ' | tail -n 1)
	if [ $rc = 0 ] && [ -n "$line" ]; then
		echo "cscm.run rep=$rep config=$cfg ${line#cscm.result }"
	else
		echo "$out" | sed 's/^/bench.cscm: | /'
		echo "cscm.fail rep=$rep config=$cfg bench=$b mode=$m status=$rc"
		status=1
	fi
}

# rotate N WORDS...: the words, starting at the (N mod count)-th.
rotate() {
	n=$1
	shift
	c=$#
	k=$((n % c))
	i=0
	for w in "$@"; do
		[ $i -ge $k ] && printf '%s ' "$w"
		i=$((i + 1))
	done
	i=0
	for w in "$@"; do
		[ $i -lt $k ] && printf '%s ' "$w"
		i=$((i + 1))
	done
}

# order REP: the configurations of repetition REP. The list rotates by one
# place per repetition; ct-scm and host-scm stay next to each other (their
# ratio is a goal) and swap places every other repetition.
order() {
	pair=0
	case " $CSCM_CONFIGS " in
	*" ct-scm "*) case " $CSCM_CONFIGS " in *" host-scm "*) pair=1 ;; esac ;;
	esac
	units=
	for c in $CSCM_CONFIGS; do
		if [ $pair = 1 ] && [ "$c" = ct-scm ]; then
			units="$units scm-pair"
		elif [ $pair = 0 ] || [ "$c" != host-scm ]; then
			units="$units $c"
		fi
	done
	# shellcheck disable=SC2086 # the list of units
	for u in $(rotate $(($1 - 1)) $units); do
		if [ "$u" != scm-pair ]; then
			printf '%s ' "$u"
		elif [ $(($1 % 2)) = 1 ]; then
			printf 'ct-scm host-scm '
		else
			printf 'host-scm ct-scm '
		fi
	done
}

setup || exit 1
say "setup done: $(grep -c . /proc/scm/regions) lines in /proc/scm/regions," \
	"thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)," \
	"cpu flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(clflush|clflushopt|clwb)$' | tr '\n' ' ')"
say "mounts: $(grep -E ' /ctshare/(disk|ovl) ' /proc/mounts | cut -d' ' -f1-4 | tr '\n' ';')"
say "MemTotal $(sed -n 's/MemTotal: *//p' /proc/meminfo), MemAvailable $(sed -n 's/MemAvailable: *//p' /proc/meminfo)"

rep=1
while [ $rep -le "$CSCM_REPS" ]; do
	say "repetition $rep of $CSCM_REPS"
	for b in $CSCM_BENCHES; do
		for m in $CSCM_MODES; do
			for cfg in $(order $rep); do
				[ "$cfg" = anon ] && [ "$m" = tx ] && continue
				[ "$cfg" = host-scm-wb ] && [ "$m" = plain ] && continue
				run_one $rep "$cfg" "$b" "$m"
			done
		done
	done
	rep=$((rep + 1))
done

echo "scm.regions final begin"
cat /proc/scm/regions
echo "scm.regions final end"
say "upper layer after the runs: $(ls $SHARE/disk/upper | tr '\n' ' ')"
say "MemAvailable $(sed -n 's/MemAvailable: *//p' /proc/meminfo) at the end"
umount $SHARE/ovl
umount $SHARE/disk
exit $status
