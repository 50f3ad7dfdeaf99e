# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/scm-unplug.sh (busybox sh): the device goes away
# under live /dev/scm users, twice: the driver is unbound (sysfs), then,
# after binding it again, the host unplugs the device (device_del). Each
# time a container process hammers its mapping (MADV_DONTNEED + touch, so
# every touch faults), another holds a mapped region descriptor and the
# host an admin descriptor. Afterwards: the hammer got SIGBUS, every call
# on the old descriptors fails with ENODEV and a touch of the old mapping
# is SIGBUS; the kernel reported nothing (the host checks the console).
# Environment: SEED.
. /test/check.sh
. /test/scm-lib.sh
plan 17

DRV=/sys/bus/virtio/drivers/virtio_vssd
mkdir -p /sys/fs/cgroup/uh

# users ROUND: start the three users; wait until they are ready.
users() {
	rm -f "/tmp/gone$1"
	sh -c 'echo $$ > /sys/fs/cgroup/uh/cgroup.procs && exec /usr/bin/unshare --pid --fork scmtest hammer 120' \
		> "/tmp/hammer$1" 2>&1 &
	HAMMER=$!
	sh -c 'echo $$ > /sys/fs/cgroup/uh/cgroup.procs && exec /usr/bin/unshare --pid --fork scmtest afterlife '"/tmp/gone$1" \
		> "/tmp/holder$1" 2>&1 &
	HOLDER=$!
	scmtest afterlife --admin "/tmp/gone$1" > "/tmp/admin$1" 2>&1 &
	ADMIN=$!
	wait_for 30 grep -q running "/tmp/hammer$1" &&
		wait_for 30 grep -q ready "/tmp/holder$1" &&
		wait_for 30 grep -q ready "/tmp/admin$1"
}

# verdicts ROUND WHAT: the users' results after the device went away.
verdicts() {
	touch "/tmp/gone$1"
	wait $HAMMER
	check "$2: the hammering process got SIGBUS" test $? = 0
	cat "/tmp/hammer$1"
	wait $HOLDER
	check "$2: a held region descriptor: ENODEV for every call, SIGBUS on touch" test $? = 0
	cat "/tmp/holder$1"
	wait $ADMIN
	check "$2: a held admin descriptor: ENODEV for every admin ioctl" test $? = 0
	cat "/tmp/admin$1"
	check "$2: no WARN, BUG or oops in the kernel log" sh -c '! dmesg | grep -E "WARNING:|BUG:|Oops|general protection"'
}

check "the host writes its pattern" scmtest write "$SEED"
check "round 1: users ready" users 1
dev=$(basename "$(ls -d $DRV/virtio* | head -n 1)")
echo "$dev" > "$DRV/unbind"
check "unbind: /dev/scm is gone" test ! -e /dev/scm
verdicts 1 unbind
echo "$dev" > "$DRV/bind"
check "bound again: /dev/scm is back" wait_for 20 test -c /dev/scm
check "bound again: the host's data is intact" scmtest verify "$SEED"
check "bound again: the container's region is still listed" grep -q '^/uh ' /proc/scm/regions

check "round 2: users ready" users 2
step unplug-ready
check "device_del: the driver lets go of the device" wait_for 120 sh -c "! ls -d $DRV/virtio* >/dev/null 2>&1"
check "device_del: /dev/scm is gone" test ! -e /dev/scm
verdicts 2 device_del
rmdir /sys/fs/cgroup/uh
# the host is still reading QEMU's DEVICE_DELETED event
sleep 5
check_done
