# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/scm-persist.sh (busybox sh), one boot per PHASE:
#   1  runc A writes its pattern; container restart (runc delete, run
#      again under the same name) finds it; runc B, unshare U and the host
#      region write theirs; power off.
#   2  (after a power cycle) every region is there, same place, same data;
#      A and U then write a second pattern (synced), print their checksums
#      and "vssd.step synced", and wait to be killed (kill -9 of QEMU).
#   3  (new QEMU on the same files) the second patterns are there, byte
#      for byte (same checksums); B and host still hold theirs.
# Environment: PHASE, SEED_A SEED_B SEED_U SEED_H, SEED_A2 SEED_U2.
# Prints "scm.sum PHASE NAME FNV" for the host to compare.
. /test/check.sh
. /test/scm-lib.sh
case "$PHASE" in 1) plan 11 ;; 2) plan 8 ;; 3) plan 6 ;; esac

[ -c /dev/scm ] || { check "/dev/scm is a character device" false; check_done; }

# ctx NAME KIND CMDS: run CMDS in region NAME's context (KIND runc,
# unshare or host) with the output on the console and in /tmp/out.
ctx() {
	case "$2" in
	runc) ct_run "$1" "$3" ;;
	unshare) ct_unshare "$1" "$3" ;;
	host) sh -c "$3" ;;
	esac > /tmp/out 2>&1
	_rc=$?
	cat /tmp/out
	return $_rc
}

# verify_sum NAME KIND SEED: verify the pattern of SEED in region NAME and
# print its checksum as "scm.sum PHASE NAME FNV".
verify_sum() {
	ctx "$1" "$2" "scmtest verify $3 && scmtest checksum"
	_rc=$?
	echo "scm.sum $PHASE $1 $(sed -n 's/^.*scmtest: checksum bytes=[0-9]* fnv=\([0-9a-f]*\).*$/\1/p' /tmp/out)"
	return $_rc
}

# write_sum NAME KIND SEED: write (msync) the pattern, print the checksum.
write_sum() {
	ctx "$1" "$2" "scmtest write $3 && scmtest checksum"
	_rc=$?
	echo "scm.sum $PHASE $1 $(sed -n 's/^.*scmtest: checksum bytes=[0-9]* fnv=\([0-9a-f]*\).*$/\1/p' /tmp/out)"
	return $_rc
}

verify_all() {
	check "$1: runc A holds its pattern" verify_sum A runc "$2"
	check "$1: runc B holds its pattern" verify_sum B runc "$SEED_B"
	check "$1: unshare U holds its pattern" verify_sum U unshare "$3"
	check "$1: host region holds its pattern" scmtest verify "$SEED_H"
	check "$1: negative control: A does not hold B's pattern" \
		ct_run A "scmtest verify $SEED_B; test \$? = 1"
}

# demo EXPECT ARGS...: scm-demo (libscm's root object, scmsync) in runc D;
# its output must match EXPECT (a grep -E pattern).
demo() {
	_want=$1
	shift
	ct_run D "scm-demo $* | tee /tmp/o; grep -Eq '$_want' /tmp/o"
}
if command -v scm-demo >/dev/null; then
	echo "scm.demo present"
	HAVE_DEMO=1
else
	echo "scm.demo absent"
	HAVE_DEMO=0
fi

case "$PHASE" in
1)
	check "runc A: write (synced)" ct_run_keep A "scmtest write $SEED_A && scmtest verify $SEED_A"
	check "runc A: runc delete" ct_delete A
	check "runc A: the cgroup is gone with the container" test ! -d /sys/fs/cgroup/A
	check "runc A restarted: its pattern is there" verify_sum A runc "$SEED_A"
	check "runc A restarted: negative control with another seed fails" \
		ct_run A "scmtest verify $SEED_B; test \$? = 1"
	check "runc B: write (synced)" ct_run B "scmtest write $SEED_B"
	check "unshare U: write (synced)" ct_unshare U "scmtest write $SEED_U"
	check "unshare U restarted: its pattern is there" verify_sum U unshare "$SEED_U"
	check "host region: write (synced)" scmtest write "$SEED_H"
	if [ $HAVE_DEMO = 1 ]; then
		check "scm-demo in runc D: first run" demo 'counter=1 message="msg-D"' msg-D
		check "scm-demo in runc D restarted: libscm finds its root again" \
			demo 'counter=2 message="msg-D"'
	fi
	scm_regions boot1
	;;
2)
	scm_regions boot2
	verify_all "after the power cycle" "$SEED_A" "$SEED_U"
	check "runc A: second pattern (synced)" write_sum A runc "$SEED_A2"
	check "unshare U: second pattern (synced)" write_sum U unshare "$SEED_U2"
	if [ $HAVE_DEMO = 1 ]; then
		check "scm-demo after the power cycle: counter and message kept" \
			demo 'counter=3 message="msg-D"'
	fi
	step synced
	# the host kills QEMU now; never reach the end on purpose
	sleep 600
	;;
3)
	scm_regions boot3
	verify_all "after kill -9 of QEMU" "$SEED_A2" "$SEED_U2"
	if [ $HAVE_DEMO = 1 ]; then
		check "scm-demo after kill -9: the scmsync'ed counter is there" \
			demo 'counter=3 message="msg-D"' --show
	fi
	;;
esac
check_done
