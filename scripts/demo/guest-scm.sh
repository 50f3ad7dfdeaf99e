# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of the demo's /dev/scm boots (busybox sh): two runc
# containers, "web" and "db", each keep persistent data in their own
# region of the vSSD's persistent memory; a third, "kv", keeps a libscm
# heap (scm-demo's counter) in its own. $DEMO_BOOT 1 creates it, 2 (a
# new QEMU on the same host file) finds it again. Lines that start with
# "demo: " are what the host shows.
. /test/check.sh
. /test/scm-lib.sh

say() { echo "demo: $*"; }
# in_ct NAME CMDS: run CMDS in runc container NAME, show its output.
in_ct() {
	ct_run "$1" "$2" >/dev/null
	rc=$?
	sed "s/^/demo:   [$1] /" "/tmp/ct-$1.out"
	return $rc
}
regions() { sed 's/^/demo:   /' /proc/scm/regions; }

say "$(ls -l /dev/scm)"
say "/proc/scm/regions at boot:"
regions
case "$DEMO_BOOT" in
1)
	say "each container writes its own pattern into its region (mmap of /dev/scm) and syncs it:"
	in_ct web 'scmtest write 1111 1048576 && scmtest info'
	in_ct db 'scmtest write 2222 1048576 && scmtest info'
	;;
2)
	say "after the VM restart, each container finds its own data, byte for byte:"
	in_ct web 'scmtest verify 1111 1048576'
	in_ct db 'scmtest verify 2222 1048576'
	say "and cannot see the other's: web looking for db's pattern in its region:"
	in_ct web 'scmtest verify 2222 1048576 || echo "not there: web only ever maps its own region"'
	say "nor reach it: administration is refused inside a container:"
	in_ct db 'scmtest refusals | grep -E "admin|refusals"'
	;;
esac
if command -v scm-demo >/dev/null; then
	say "libscm (scmalloc, scmsync, scm_root): container kv keeps a counter and a message in its region's heap:"
	in_ct kv "scm-demo 'written in demo boot $DEMO_BOOT'"
fi
say "/proc/scm/regions now:"
regions
