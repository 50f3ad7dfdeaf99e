# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of the no-memdev boot of tests/e2e/scm-badinput.sh (busybox
# sh): a device without a persistent-memory region gives no /dev/scm, an
# empty /proc/scm/regions, no pmem_ lines in status, and a working block
# region.
. /test/check.sh
plan 5

check "the block region is there" test -b /dev/vssd0
check "no /dev/scm without memdev" test ! -e /dev/scm
check "/proc/scm/regions lists no region" sh -c '[ "$(grep -vc "^name owner" /proc/scm/regions)" = 0 ]'
check "status has no pmem_ lines" sh -c '! grep -q "^pmem_" /proc/vssd/vssd0/status'
check "scmtest fails cleanly (open: no such device or file)" sh -c '
	scmtest info; test $? = 2'
check_done
