# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/scm-badinput.sh (busybox sh): bad input for
# /dev/scm from outside containers, from a runc container and from a plain
# unshare+cgroup one (tests/guest/scm-bad.c, scmtest refusals); a
# descriptor carried into another cgroup; a region deleted under its
# mapper. Afterwards the device still serves syncs. Environment: SEED.
. /test/check.sh
. /test/scm-lib.sh
plan 14

[ -c /dev/scm ] || { check "/dev/scm is a character device" false; check_done; }
echo $((4 << 20)) > /sys/module/virtio_vssd/parameters/scm_default_size

check "outside: bad ioctls, maps and calls" scm-bad calls
check "outside: scmtest refusals --admin" scmtest refusals --admin
check "outside: bad admin ioctls, then good ones on scratch regions" scm-bad admin
check "outside: a region deleted under its mapper gives SIGBUS" scm-bad revoked
check "runc A: bad ioctls, maps and calls" ct_run A "scm-bad calls"
check "runc A: scmtest refusals" ct_run A "scmtest refusals"
check "runc A: every admin ioctl refused (EPERM), even with bad pointers" \
	ct_run A "scm-bad admin --denied"
check "privileged runc P: every admin ioctl refused (EPERM)" ct_run P "scm-bad admin --denied"
check "unshare U: bad ioctls, maps and calls" ct_unshare U "scm-bad calls"
check "unshare U: scmtest refusals" ct_unshare U "scmtest refusals"

mkdir -p /sys/fs/cgroup/M1 /sys/fs/cgroup/M2
check "a descriptor carried from cgroup M1 into M2 is refused there" sh -c '
	echo $$ > /sys/fs/cgroup/M1/cgroup.procs && exec /usr/bin/unshare --pid --fork scm-bad moved /sys/fs/cgroup/M2'
echo $$ > /sys/fs/cgroup/cgroup.procs
rmdir /sys/fs/cgroup/M1 /sys/fs/cgroup/M2 2>/dev/null

scm_regions after
check "no scratch region left behind" sh -c '! grep -q "^scm-bad" /proc/scm/regions'
check "the device still syncs: runc A writes and verifies" \
	ct_run A "scmtest write $SEED && scmtest verify $SEED"
check "device state idle" test "$(sst state)" = idle
step bad-done
sleep 3
check_done
