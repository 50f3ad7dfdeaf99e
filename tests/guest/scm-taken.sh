# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/scm-taken.sh (busybox sh): region H (8 MiB, four
# 2 MiB blocks, a region "blocker" right after it) holds a pattern; the
# host takes H's first two blocks (policy host, x-host-pick-lowest). Then
# the kernel must not touch them: a sync of them fails with EIO, a copy of
# H reads them as zeroes (and the kept blocks as H's data), and a resize
# that has to move H does the same, after which H maps everywhere again.
# Environment: SEED.
. /test/check.sh
. /test/scm-lib.sh
plan 14

MiB=1048576
BS=$((2 * MiB))
mkdir -p /sys/fs/cgroup/h /sys/fs/cgroup/hc
# in_cg CGROUP CMDS: a process of cgroup CGROUP (in a PID namespace) runs CMDS
in_cg() {
	sh -c 'echo $$ > "/sys/fs/cgroup/$1/cgroup.procs" && exec /usr/bin/unshare --pid --fork sh -c "$2"' sh "$1" "$2"
}

check "regions H (8M) and blocker (2M) made and bound" sh -c '
	scmctl create H 8M && scmctl create blocker 2M && scmctl bind H /h && scmctl bind Hc /hc'
scm_regions start
off=$(scm_region H offset)
check "blocker sits right after H (H cannot grow in place)" \
	test "$(scm_region blocker offset)" = $((off + 8 * MiB))
check "H holds its pattern" in_cg h "scmtest write $SEED && scmtest verify $SEED"
step ready

check "the host shrank the pmem region" wait_told taken 150
# (verify-at reads without writing: a probe with scmtest sigbus would
# change a byte of every block that is still there)
check "H's last two blocks are still there and hold its data" \
	in_cg h "scmtest verify-at $SEED $((2 * BS)) $((2 * BS))"
check "the host took H's first two blocks: a touch gives SIGBUS" in_cg h "
	scmtest sigbus 0 && scmtest sigbus $BS"
check "SYNC and SYNCV of a taken block fail with EIO" in_cg h "scmtest sync-fails 0 5"
check "copy H to Hc with two of its blocks taken" scmctl copy H Hc
check "Hc: the taken blocks read as zeroes" in_cg hc "scmtest zero $((2 * BS)) 0"
check "Hc: the kept blocks hold H's data" in_cg hc "scmtest verify-at $SEED $((2 * BS)) $((2 * BS))"
check "resize H to 16M (it must move)" scmctl resize H 16M
scm_regions moved
check "H moved" test "$(scm_region H offset)" != "$off"
check "moved H: the taken blocks read as zeroes, no SIGBUS" in_cg h "scmtest zero $((2 * BS)) 0"
check "moved H: the kept blocks hold its data, the new 8M zeroes" in_cg h "
	scmtest verify-at $SEED $((2 * BS)) $((2 * BS)) && scmtest zero $((8 * MiB)) $((8 * MiB))"
check_done
