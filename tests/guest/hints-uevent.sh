# SPDX-License-Identifier: GPL-2.0-or-later
# Run by busybox `uevent` for each kernel uevent (tests/guest/hints-run.sh):
# log the ones that carry the vssd driver's resize variables.
[ -n "${VSSD_PENDING:-}" ] || exit 0
echo "$ACTION $DEVPATH VSSD_PENDING=$VSSD_PENDING VSSD_BLOCKS=$VSSD_BLOCKS VSSD_GENERATION=$VSSD_GENERATION" >> /tmp/uevents
