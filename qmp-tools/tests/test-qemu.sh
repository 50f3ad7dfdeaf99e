#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# vssdctl against a real QEMU: build/qemu/qemu-system-x86_64, or $VSSD_QEMU.
# Without a device (-M none) every ssd-balloon command must fail cleanly;
# when the QEMU knows query-ssd-balloon and virtio-vssd-pci, the device
# tests at the end run too.  Skips (does not fail) when no QEMU exists.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"
QEMU=${VSSD_QEMU:-$ROOT/build/qemu/qemu-system-x86_64}
if [ ! -x "$QEMU" ]; then
	skip "real QEMU tests: no $QEMU (build it, or set VSSD_QEMU)"
	exit 0
fi
make_scratch qemu

# Two monitors: QEMU serves one client per socket, and the watch tests
# need a second client to cause events.
"$QEMU" -M none -qmp "unix:$T/qmp.sock,server=on,wait=off" \
	-qmp "unix:$T/qmp2.sock,server=on,wait=off" \
	-nographic -display none </dev/null >"$T/qemu.log" 2>&1 &
QPID=$!
PIDS="$PIDS $QPID"
if ! wait_socket "$T/qmp.sock" || ! wait_socket "$T/qmp2.sock"; then
	fail "QEMU did not start: $(head -c 500 "$T/qemu.log")"
	exit 1
fi
Q="--qmp $T/qmp.sock"
Q2="--qmp $T/qmp2.sock"

vs $Q qmp query-commands
has_cmd=no
grep -q '"query-ssd-balloon"' "$T/out" && has_cmd=yes
[ $RC -eq 0 ] && pass "qmp: query-commands works (query-ssd-balloon: $has_cmd)" ||
	fail "qmp query-commands (exit $RC): $(cat "$T/err")"

if [ $has_cmd = no ]; then
	expect_error "status on a QEMU without ssd-balloon" 1 \
		'query-ssd-balloon has not been found.*no vssd balloon support' -- $Q status
	expect_error "resize on a QEMU without ssd-balloon" 1 \
		'ssd-balloon has not been found' -- $Q resize vssd0 1G
	expect_error "resize --wait on a QEMU without ssd-balloon" 1 \
		'query-ssd-balloon has not been found' -- $Q resize vssd0 1G --wait
else
	expect_error "status on a QEMU without the device" 1 'no vssd devices' -- $Q status
	expect_error "resize of a device this QEMU lacks" 1 'vssd0' -- $Q resize vssd0 1G
fi
expect_error "a QMP error's desc is printed" 1 "^vssdctl: Device 'nope' not found$" -- \
	$Q qmp device_del '{"id": "nope"}'
expect_error "missing socket" 1 'No such file or directory' -- --qmp "$T/nope.sock" status
stale_socket "$T/stale.sock"
expect_error "refused socket" 1 'Connection refused' -- --qmp "$T/stale.sock" status

# A second client on a busy monitor gets no greeting: must time out.
timeout 20 "$VSSDCTL" $Q watch --timeout 4 >/dev/null 2>&1 &
hold=$!
sleep 0.5
expect_error "busy monitor: no greeting, bounded wait" 1 'no QMP greeting' -- \
	$Q --reply-timeout 1 status
wait $hold

# Events from QEMU itself: STOP and RESUME, in order.
watch_start 20 $Q watch --all --count 2 --timeout 10
sleep 0.5
vs $Q2 qmp stop
vs $Q2 qmp cont
watch_end
if [ $WRC -eq 0 ] &&
   watch_printed '^[0-9-]+ [0-9:.]+ STOP$' '^[0-9-]+ [0-9:.]+ RESUME$'; then
	pass "watch --all prints STOP then RESUME"
else
	fail "watch --all (exit $WRC): $(cat "$T/watch" "$T/watch.err")"
fi
expect_quiet "watch: no SSD_BALLOON_CHANGE within 1 s, exit 0" -- $Q watch --timeout 1

# A QEMU that stops answering: we give up after --reply-timeout.  (A reply
# that never comes after the greeting is covered by test-qmp.)
kill -STOP $QPID
start_clock
expect_error "a hung QEMU times out" 1 "no QMP greeting within 1 s" -- \
	$Q2 --reply-timeout 1 qmp query-status
took_at_most 4 "hung QEMU"
kill -CONT $QPID

# QEMU going away while we watch: the event, then one error line.
watch_start 20 $Q watch --all
sleep 0.5
vs $Q2 qmp quit
watch_end
wait $QPID 2>/dev/null
if [ $WRC -eq 1 ] && grep -q 'SHUTDOWN' "$T/watch" &&
   one_error_line "$T/watch.err" && grep -q '^vssdctl: .*closed' "$T/watch.err"; then
	pass "watch ends with one error line when QEMU quits"
else
	fail "watch across quit (exit $WRC): $(cat "$T/watch" "$T/watch.err")"
fi

# ---- with the device (runs once QEMU has ssd-balloon) ----
if [ $has_cmd = no ] || ! "$QEMU" -device help 2>/dev/null | grep -q '"virtio-vssd-pci"'; then
	skip "device tests: this QEMU has no virtio-vssd-pci with ssd-balloon yet"
	exit "$failures"
fi
truncate -s 64M "$T/vssd.img"
"$QEMU" -M pc -nodefaults -S -m 128 -L /usr/share/seabios -L /usr/share/qemu \
	-qmp "unix:$T/dev.sock,server=on,wait=off" -nographic -display none \
	-blockdev "driver=file,filename=$T/vssd.img,node-name=vssd-disk,discard=unmap" \
	-device virtio-vssd-pci,id=vssd0,drive=vssd-disk \
	</dev/null >"$T/qemu-dev.log" 2>&1 &
PIDS="$PIDS $!"
if ! wait_socket "$T/dev.sock"; then
	fail "QEMU with the device did not start: $(head -c 500 "$T/qemu-dev.log")"
	exit "$failures"
fi
D="--qmp $T/dev.sock"
expect_ok "device: status lists the block region" '^vssd0 +block .* 64M ' -- $D status
# (the pmem region, memdev=, is not in the device yet)
expect_ok "device: status --json" 'requested-size' -- $D status --json
expect_error "device: unknown device" 1 'nosuch' -- $D resize nosuch 16M
expect_error "device: above the maximum" 1 '.' -- $D resize vssd0 128M
expect_error "device: not a block multiple" 1 '.' -- $D resize vssd0 1000
expect_error "device: no guest driver yet" 1 '.' -- $D resize vssd0 16M --wait --timeout 5
exit "$failures"
