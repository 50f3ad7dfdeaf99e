# SPDX-License-Identifier: GPL-2.0-or-later
# Guest half of tests/e2e/data.sh, second boot on the same backing file:
# the pattern of $SEED written in the first boot is still there.
. /test/check.sh
plan 3

check "/dev/vssd0 is a block device" test -b /dev/vssd0
check "the pattern of seed $SEED survived the reboot" pattern verify /dev/vssd0 "$SEED"
check_fails "verify with seed $((SEED + 1)) fails" pattern verify /dev/vssd0 $((SEED + 1))
check_done
