#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/scm-flush/run.sh [OUTDIR] — consistency points of containers that
# sync at the same time: does one container's flush wait behind another's?
#
# One VM (TCG, 2 vCPUs) with a virtio-vssd-pci device whose pmem region is
# a memory-backend-file (share=on) on the host. Two plain containers (own
# cgroup, PID and mount namespaces) each run `scmtest cps S`: store to a
# page of their /dev/scm region and CSCM_IOC_SYNC it (write-back +
# PMEM_FLUSH round trip + host msync), as often as they can for S seconds.
# Per repetition, interleaved: container A alone, container B alone (the
# A/A control: two single runs of the same thing), then A and B at once.
# Writes OUTDIR/scm-flush.{csv,md,png}; the figure is the ratio of the
# pair's total points per second to a single container's.
#
# Environment: VSSD_BENCH_FLUSH_REPS [5], VSSD_BENCH_FLUSH_SECONDS [8].
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh" scm-flush "$@"

reps=${VSSD_BENCH_FLUSH_REPS:-5}
secs=${VSSD_BENCH_FLUSH_SECONDS:-8}
truncate -s 64M "$VM_TMP/pmem.img"
truncate -s 16M "$VM_TMP/disk.img"
guest=$VM_TMP/guest.sh
cat > "$guest" <<GUEST
. /test/check.sh
echo $((1 << 20)) > /sys/module/virtio_vssd/parameters/scm_default_size
ct() { mkdir -p /sys/fs/cgroup/\$1; sh -c 'echo \$\$ > /sys/fs/cgroup/\$1/cgroup.procs && exec /usr/bin/unshare --pid --fork --mount scmtest cps $secs' sh "\$1" | sed -n "s/^scmtest: cps \([0-9.]*\) .*/bench \$2 \$1 \1/p"; }
ct A warm >/dev/null; ct B warm >/dev/null
for r in \$(seq $reps); do
	ct A "single\$r"; ct B "single\$r"
	ct A "pair\$r" > /tmp/a & ct B "pair\$r" > /tmp/b; wait; cat /tmp/a /tmp/b
done
GUEST
vm_boot --script "$guest" --timeout $((60 + reps * secs * 4)) -- \
	-blockdev "driver=file,filename=$VM_TMP/disk.img,node-name=vssd-disk" \
	-object "memory-backend-file,id=vssd-pm,mem-path=$VM_TMP/pmem.img,size=64M,share=on" \
	-device virtio-vssd-pci,id=vssd0,drive=vssd-disk,memdev=vssd-pm ||
	{ echo "bench/scm-flush: the guest failed (log $VM_LOG)" >&2; exit 1; }
tr -d '\r' < "$VM_LOG" | sed -n 's/^bench \([a-z]*\)\([0-9]*\) \([AB]\) \([0-9.]*\)$/\1,\2,\3,\4/p' > "$VM_TMP/raw.csv"
python3 "$here/report.py" "$VM_TMP/raw.csv" "$out/scm-flush.csv" "$out/scm-flush.md" \
	"QEMU $("$VSSD_QEMU" --version | head -n1 | sed 's/.*version \([^ ]*\).*/\1/'), TCG (no KVM), 2 vCPUs, memdev file on the host's $(df -T "$VM_TMP" | awk 'NR == 2 { print $2 }'), $secs s per run, $reps repetitions"
gnuplot -e "csv='$out/scm-flush.csv'; png='$out/scm-flush.png'" "$here/plot.gp"
cat "$out/scm-flush.md"
