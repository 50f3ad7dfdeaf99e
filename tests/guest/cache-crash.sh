# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/cache.sh, the boots that end in a crash. A
# writeback cache gets 2048 blocks of 64 KiB written in order, each group
# of 16 made durable (fdatasync) and acknowledged on the console
# ("cache-io: acked N"). Then, by $CRASH:
#   kill    the host shrinks the vSSD at 512 acknowledged blocks and
#           kills QEMU (SIGKILL) at 1024, whatever runs then;
#   panic   after the last acknowledgement the host asks for a shrink;
#           once it is pending the guest kernel crashes (sysrq c) at a
#           random moment of the agent's work.
# tests/guest/cache-reattach.sh checks the next boot.
. /test/check.sh
. /test/resize-lib.sh

vssd-cache create c1 --origin /dev/vda --cache /dev/vssd0 --mode writeback || exit 1
if [ "$CRASH" = kill ]; then
	exec cache-io seq /dev/mapper/c1 /tmp/none --blocks 2048 --bs 65536 --ack-every 16
fi
cache-io seq /dev/mapper/c1 /tmp/none --blocks 2048 --bs 65536 --ack-every 16 || exit 1
step panic
wait_for 60 grep -q '^shrink' "$P/pending"
usleep $(awk 'BEGIN { srand(); print int(rand() * 600000) }')
echo "crashing at pending '$(cat "$P/pending")'"
echo c > /proc/sysrq-trigger
