# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/scm-crash.sh (busybox sh): crash consistency of
# the region table. The test build's debugfs knob scm_table_tear makes
# the next table update stop after the entries, as if the guest died
# there (the update fails).
#   PHASE 1  runc A and B write their patterns; a torn update (container
#            C's first open); "vssd.step torn"; the host kills QEMU (-9)
#   PHASE 2  the old table (A, B, no C), their data; creating works again
#            (C); another torn update (D) and, in the same boot, the
#            retry succeeds; a last torn update (E), then power off
#   PHASE 3  the table of phase 2 (A B C D, no E), everyone's data; E can
#            be created now
# Environment: PHASE, SEED_A SEED_B SEED_C SEED_D.
. /test/check.sh
. /test/scm-lib.sh
case "$PHASE" in 1) plan 8 ;; 2) plan 13 ;; 3) plan 11 ;; esac

[ -c /dev/scm ] || { check "/dev/scm is a character device" false; check_done; }
TEAR=/sys/kernel/debug/virtio_vssd/scm_table_tear
[ -e "$TEAR" ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

# torn NAME: with the tear armed, NAME's first open must fail with EIO
# (the region is not created) and the knob must reset itself.
torn() {
	echo 1 > "$TEAR" || return 1
	grep -qx Y "$TEAR" || { echo "scm_table_tear reads $(cat "$TEAR")"; return 1; }
	ct_run "$1" "scmtest info 2>&1 | tee /tmp/o; grep -q 'Input/output error' /tmp/o"
}

has() { scm_has_region "$1"; }
hasnt() { ! scm_has_region "$1"; }

no_table_warning() {
	! dmesg | grep -q 'no valid region table'
}

case "$PHASE" in
1)
	check "runc A writes its pattern" ct_run A "scmtest write $SEED_A"
	check "runc B writes its pattern" ct_run B "scmtest write $SEED_B"
	scm_regions before
	check "torn update: C's first open fails with EIO" torn C
	check "scm_table_tear reset itself" grep -qx N "$TEAR"
	check "torn update: no region C in memory" hasnt C
	check "torn update: A still listed" has A
	check "torn update: B still listed" has B
	check "torn update: A's data still readable" ct_run A "scmtest verify $SEED_A"
	scm_regions torn
	dmesg | grep 'scm:' | tail -n 3
	step torn
	sleep 600
	;;
2)
	scm_regions boot2
	check "after kill -9: no 'no valid region table' warning" no_table_warning
	check "after kill -9: the old table: A listed" has A
	check "after kill -9: the old table: B listed" has B
	check "after kill -9: the old table: no C" hasnt C
	check "after kill -9: A's data intact" ct_run A "scmtest verify $SEED_A"
	check "after kill -9: B's data intact" ct_run B "scmtest verify $SEED_B"
	check "after kill -9: a new region can be created (C)" ct_run C "
		scmtest info | grep -q 'name=C ' && scmtest write $SEED_C && scmtest verify $SEED_C"
	check "torn update again: D's first open fails with EIO" torn D
	check "torn update again: no region D" hasnt D
	check "retry in the same boot: D is created" ct_run D "
		scmtest info | grep -q 'name=D ' && scmtest zero && scmtest write $SEED_D"
	check "the table lists C" has C
	check "the table lists D" has D
	check "torn last update: E's first open fails with EIO" torn E
	scm_regions boot2-end
	;;
3)
	scm_regions boot3
	check "after power off: no 'no valid region table' warning" no_table_warning
	for r in A B C D; do
		check "after power off: $r listed" has $r
	done
	check "after power off: no E (its update was torn)" hasnt E
	check "after power off: A's data intact" ct_run A "scmtest verify $SEED_A"
	check "after power off: B's data intact" ct_run B "scmtest verify $SEED_B"
	check "after power off: C's data intact" ct_run C "scmtest verify $SEED_C"
	check "after power off: D's data intact" ct_run D "scmtest verify $SEED_D"
	check "after power off: E can be created, reads zeroes" ct_run E "
		scmtest info | grep -q 'name=E ' && scmtest zero"
	scm_regions boot3-end
	;;
esac
check_done
