# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/durability.sh: a write made durable with fsync,
# one with O_DSYNC, one never synced; after each, "vssd.step" and a pause
# in which the host copies the write log. Environment: SEED_A, SEED_B,
# SEED_C.
. /test/check.sh
plan 3

check "A (0-1 MiB): written and fsync'd" \
	pattern write /dev/vssd0 "$SEED_A" --offset 0 --length 1M
echo "vssd.step a"
sleep 3
check "B (4-5 MiB): written with O_DSYNC, no fsync" \
	pattern write /dev/vssd0 "$SEED_B" --offset 4M --length 1M --dsync --no-fsync
echo "vssd.step b"
sleep 3
check "C (8-9 MiB): written, never synced" \
	pattern write /dev/vssd0 "$SEED_C" --offset 8M --length 1M --no-fsync
echo "vssd.step c"
# the host kills QEMU (-9) now
sleep 600
