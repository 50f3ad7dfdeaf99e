# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/scm-isolation.sh (busybox sh): runc containers A
# and B, a privileged runc container P and plain unshare+cgroup containers
# each get their own /dev/scm region; nobody sees another's data; the
# refusals hold inside containers. runc containers are bound to regions
# named after them by the OCI hook; the unshare one gets /U (its path).
# Environment: SEED_A SEED_B SEED_H SEED_U.
. /test/check.sh
. /test/scm-lib.sh
plan 63

if [ ! -c /dev/scm ]; then
	check "/dev/scm is a character device" false
	check_done
fi
check "/proc/scm/regions is readable" cat /proc/scm/regions

# --- outside every container: the host region ------------------------------
if command -v scmctl >/dev/null; then
	check "admin ioctls create no region for the admin (no 'host' yet)" sh -c '
		scmctl create early 2M && scmctl delete early &&
		! grep -q "^host " /proc/scm/regions'
fi
scmtest info
check "outside containers: the region is host" \
	sh -c 'scmtest info | grep -q "name=host "'
check "outside containers: write the host pattern" scmtest write "$SEED_H"
check "outside containers: admin ioctls with bad arguments are refused" \
	scmtest refusals --admin

# --- runc containers A and B -------------------------------------------------
check "runc A: region A, own pattern written and read back" ct_run A "
	scmtest info | grep -q 'name=A ' || { scmtest info; exit 1; }
	scmtest write $SEED_A && scmtest verify $SEED_A"
check "runc A: negative control: B's pattern is not in A's region" \
	ct_run A "scmtest verify $SEED_B; test \$? = 1"
check "runc B: region B, own pattern written and read back" ct_run B "
	scmtest info | grep -q 'name=B ' || { scmtest info; exit 1; }
	scmtest write $SEED_B && scmtest verify $SEED_B"
check "runc B: negative control: A's pattern is not in B's region" \
	ct_run B "scmtest verify $SEED_A; test \$? = 1"
check "runc A: own pattern intact after B wrote" ct_run A "scmtest verify $SEED_A"
check "runc A: negative control: the host pattern is not in A's region" \
	ct_run A "scmtest verify $SEED_H; test \$? = 1"
check "runc A: refusals (admin EPERM, mmap past the end, bad ioctls)" \
	ct_run A "scmtest refusals"
check "runc B: refusals (admin EPERM, mmap past the end, bad ioctls)" \
	ct_run B "scmtest refusals"
check "runc A: sees its cgroup namespace root" ct_run A "
	cat /proc/self/cgroup; grep -qx '0::/' /proc/self/cgroup"
echo "scm: /proc/scm/regions as a container sees it:"
check "runc A: /proc/scm/regions shows A's region and no other" ct_run A "
	cat /proc/scm/regions
	grep -q '^A /A ' /proc/scm/regions || exit 1
	test \$(grep -vc '^name ' /proc/scm/regions) = 1"
check "runc B: /proc/scm/regions does not name A" ct_run B "
	grep -q '^B /B ' /proc/scm/regions && ! grep -q '^A ' /proc/scm/regions"
check "outside containers: /proc/scm/regions lists A, B and host" sh -c '
	grep -q "^A " /proc/scm/regions && grep -q "^B " /proc/scm/regions &&
	grep -q "^host " /proc/scm/regions'

# A and B at the same time, each holding its mapping while the other writes.
ct_start A "scmtest hold $SEED_A 6"
ct_start B "scmtest hold $SEED_B 6"
ct_wait A
check "runc A and B concurrently: A's mapping intact" test $? = 0
ct_wait B
check "runc A and B concurrently: B's mapping intact" test $? = 0

# every capability (CAP_SYS_ADMIN too): still a container, still no admin
check "privileged runc P: region P" ct_run P "scmtest info | grep -q 'name=P '"
check "privileged runc P: admin ioctls refused despite CAP_SYS_ADMIN" \
	ct_run P "grep CapEff /proc/self/status; scmtest refusals"
check "privileged runc P: A's pattern is not in P's region" \
	ct_run P "scmtest verify $SEED_A; test \$? = 1"

# --- scmctl: refused inside a container, working outside --------------------
if command -v scmctl >/dev/null; then
	echo "scm.scmctl present"
	check "scmctl list works outside containers and lists A" sh -c 'scmctl list | tee /tmp/o; grep -q "^A " /tmp/o'
	check "scmctl create outside containers" scmctl create scx 2M
	check "scmctl resize outside containers" scmctl resize scx 4M
	check "scmctl copy A to a new region A-copy (an image for a container)" scmctl copy A A-copy
	# a process in cgroup /A-copy, bound to it, sees the copy
	mkdir -p /sys/fs/cgroup/A-copy
	check "the copy holds A's pattern" sh -c '
		scmctl bind A-copy /A-copy &&
		echo $$ > /sys/fs/cgroup/A-copy/cgroup.procs && exec scmtest verify '"$SEED_A"
	scmctl unbind A-copy
	rmdir /sys/fs/cgroup/A-copy
	check "scmctl delete outside containers" sh -c 'scmctl delete scx && scmctl delete A-copy'
	# A region that cannot grow in place moves, data and live mappings
	# with it: mv1's next block is taken (mv2 right after it, or whatever
	# ended the first free run that fit mv1).
	check "scmctl create mv1 and mv2, 2M each" sh -c 'scmctl create mv1 2M && scmctl create mv2 2M'
	mv_off=$(scm_region mv1 offset)
	mkdir -p /sys/fs/cgroup/mv1
	check "bind mv1 to cgroup /mv1" scmctl bind mv1 /mv1
	in_mv1='echo $$ > /sys/fs/cgroup/mv1/cgroup.procs && exec'
	sh -c "$in_mv1 scmtest hold $SEED_A 8" &
	mv_hold=$!
	sleep 3
	check "scmctl resize mv1 6M with its neighbour in the way" scmctl resize mv1 6M
	scm_regions moved
	mv_now="$(scm_region mv1 offset) $(scm_region mv1 size)"
	check "mv1 moved (offset $mv_off -> ${mv_now% *}) and has 6M" \
		test "${mv_now% *}" != "$mv_off" -a "${mv_now#* }" = $((6 << 20))
	wait $mv_hold
	check "a mapping held across the move still sees its data" test $? = 0
	check "mv1 keeps its first 2M" sh -c "$in_mv1 scmtest verify $SEED_A $((2 << 20))"
	check "mv1's new 4M read as zeroes" sh -c "$in_mv1 scmtest zero $((4 << 20)) $((2 << 20))"
	check "negative control: mv1's first 2M are not zero (exit 1)" sh -c '
		echo $$ > /sys/fs/cgroup/mv1/cgroup.procs || exit 2
		scmtest zero '$((2 << 20))'; test $? = 1'
	scmctl unbind mv1
	rmdir /sys/fs/cgroup/mv1
	check "scmctl delete mv1 and mv2" sh -c 'scmctl delete mv1 && scmctl delete mv2'
	# The OCI hook (guest-driver/tools/oci-hook-scm-copy): runc K's bundle
	# names the image region img; K starts with a copy of it, and a
	# restarted K keeps its own data (copy only if the region is missing).
	mkdir -p /sys/fs/cgroup/img
	check "image region img (4M) with the host pattern, marked image" sh -c '
		scmctl create img 4M && scmctl bind img /img &&
		sh -c "echo \$\$ > /sys/fs/cgroup/img/cgroup.procs && exec scmtest write '"$SEED_H"'" &&
		scmctl unbind img && scmctl image img on'
	rmdir /sys/fs/cgroup/img
	check "runc K with the hook: its region is a copy of img" ct_run K "
		scmtest info && scmtest verify $SEED_H && scmtest write $SEED_B"
	check "the hook made K as a copy (owner scmctl, img's size)" test \
		"$(scm_region K owner) $(scm_region K size)" = "scmctl $((4 << 20))"
	check "runc K restarted: its own data, not img's again" \
		ct_run K "scmtest verify $SEED_B"
	check "img untouched by K" sh -c '
		mkdir -p /sys/fs/cgroup/img && scmctl image img off && scmctl bind img /img &&
		echo $$ > /sys/fs/cgroup/img/cgroup.procs && exec scmtest verify '"$SEED_H"
	scmctl unbind img
	rmdir /sys/fs/cgroup/img
	check "scmctl delete K and img" sh -c 'scmctl delete K && scmctl delete img'
	# refused = it ran (not 127) and failed
	refused='rc=$?; echo "scmctl exit $rc"; [ $rc -ne 0 ] && [ $rc -ne 127 ]'
	check "scmctl create is refused inside runc A" \
		ct_run A "scmctl create intruder 2M; $refused"
	check "scmctl resize of B is refused inside runc A" \
		ct_run A "scmctl resize B 8M; $refused"
	check "scmctl copy of B is refused inside runc A" \
		ct_run A "scmctl copy B A; $refused"
	check "scmctl delete of B is refused inside runc A" \
		ct_run A "scmctl delete B; $refused"
	check "scmctl create is refused inside the privileged runc P" \
		ct_run P "scmctl create intruder 2M; $refused"
	check "scmctl delete is refused inside unshare U" ct_unshare U "scmctl delete B; $refused"
	echo "scm: scmctl list inside runc A (not an admin command):"
	ct_run A "scmctl list"
	check "scmctl: no region 'intruder' appeared" sh -c '! grep -q "^intruder " /proc/scm/regions'
	check "scmctl: B untouched" ct_run B "scmtest verify $SEED_B"
else
	echo "scm.scmctl absent"
fi

# --- plain containers: unshare + a cgroup v2 group -----------------------------
check "unshare U: region U, own pattern" ct_unshare U "
	cat /proc/self/cgroup; grep -qx '0::/' /proc/self/cgroup || exit 1
	scmtest info | grep -q 'name=/U ' || { scmtest info; exit 1; }
	scmtest write $SEED_U && scmtest verify $SEED_U"
check "unshare U: negative control: A's pattern is not in U's region" \
	ct_unshare U "scmtest verify $SEED_A; test \$? = 1"
check "unshare U: refusals" ct_unshare U "scmtest refusals"

# (which region each runtime's layout gets: tests/guest/scm-identity.sh)

# --- the table ---------------------------------------------------------------
scm_regions final
check "regions: A owned by /A" test "$(scm_region A owner)" = /A
check "regions: B owned by /B" test "$(scm_region B owner)" = /B
check "regions: P owned by /P" test "$(scm_region P owner)" = /P
check "regions: /U (no binding: keyed by its path) owned by /U" test "$(scm_region /U owner)" = /U
check "regions: host owned by host" test "$(scm_region host owner)" = host
check "regions: no two regions overlap" awk '
	NR > 1 { off[NR] = $5; end[NR] = $5 + $3 }
	END { for (i in off) for (j in off) if (i != j && off[i] < end[j] && off[j] < end[i]) exit 1 }' \
	/proc/scm/regions

# --- the device still serves syncs after all the refused requests --------------
check "after the refusals: host region still writes and syncs" scmtest write "$SEED_H"
check "after the refusals: host region verifies" scmtest verify "$SEED_H"
check "device state idle" test "$(sst state)" = idle
step refusals-done
# (the host asks QEMU over QMP meanwhile)
sleep 3
check_done
