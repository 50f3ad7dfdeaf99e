# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/scm-txcrash.sh (busybox sh). PHASE:
#   run     runc container T runs libscm transactions until the host kills
#           QEMU (kill -9)
#   crash   T checks its state (no torn record), then runs transactions
#           while the guest crashes (sysrq c: a kernel panic, no sync)
#   check   T checks its state once more
. /test/check.sh
. /test/scm-lib.sh
# what runs before QEMU is killed or the guest crashes
plan 1

case $PHASE in
run)
	ct_run T "scm-txcrash run"
	check "the transactions ran until QEMU was killed" false
	;;
crash)
	check "after kill -9 of QEMU: T's records whole, heap consistent" ct_run T "scm-txcrash check"
	ct_start T "scm-txcrash run"
	wait_for 120 sh -c 'grep -c "txcrash: committed" /tmp/ct-T.out | grep -q "^[4-9]"'
	echo "scm: crashing the guest"
	echo c > /proc/sysrq-trigger
	check "the guest crashed" false
	;;
check)
	check "after the guest crashed: T's records whole, heap consistent" ct_run T "scm-txcrash check"
	;;
esac
check_done
