# SPDX-License-Identifier: GPL-2.0-or-later
# Guest half of tests/e2e/discard.sh, first boot: write all of /dev/vssd0.
. /test/check.sh
plan 1

check "write the pattern of seed $SEED over the whole device" pattern write /dev/vssd0 "$SEED"
check_done
