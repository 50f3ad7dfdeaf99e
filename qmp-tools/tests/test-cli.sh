#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# vssdctl's command line and its status/resize/watch logic, against
# fake-qmp.py (a scripted QMP server that follows CONTRACT.md's ssd-balloon).
# The same commands against the real device are in test-qemu.sh.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
make_scratch cli

# ---- no server needed ----
expect_ok "--help prints the manual" '^SYNOPSIS' -- --help
expect_ok "help command prints the manual" 'EXIT STATUS' -- help
expect_ok "--version" '^vssdctl [0-9]' -- --version
expect_error "no command" 2 'no command' -- --qmp "$T/x"
expect_error "unknown command" 2 "unknown command 'frobnicate'" -- --qmp "$T/x" frobnicate
expect_error "unknown global option" 2 "unknown option '--frob'" -- --frob status
expect_error "unknown command option" 2 "unknown option '--frob'" -- --qmp "$T/x" status --frob
expect_error "option value missing" 2 "needs a value" -- --qmp
expect_error "no VM given" 2 'no VM given' -- status
expect_error "--qmp and --domain together" 2 'only one of' -- --qmp "$T/x" --domain d status
expect_error "negative size" 2 "bad size '-1G': negative" -- --qmp "$T/x" resize vssd0 -1G
expect_error "garbage size" 2 "bad size '12X'" -- --qmp "$T/x" resize vssd0 12X
expect_error "overflowing size" 2 "bad size .*too large" -- --qmp "$T/x" resize vssd0 99999999999T
expect_error "empty size" 2 "bad size '': empty" -- --qmp "$T/x" resize vssd0 ""
expect_error "size missing" 2 'usage: resize' -- --qmp "$T/x" resize vssd0
expect_error "bad region" 2 "bad region 'nvme'" -- --qmp "$T/x" resize vssd0 1G --region nvme
expect_error "bad policy" 2 "bad policy 'random'" -- --qmp "$T/x" resize vssd0 1G --policy random
expect_error "bad timeout" 2 "bad timeout" -- --qmp "$T/x" resize vssd0 1G --wait --timeout -3
expect_error "bad count" 2 "bad count" -- --qmp "$T/x" watch --count 0
expect_error "missing socket" 1 "No such file or directory" -- --qmp "$T/missing.sock" status
stale_socket "$T/stale.sock"
expect_error "socket nobody listens on" 1 "Connection refused" -- --qmp "$T/stale.sock" status
: >"$T/plain-file"
expect_error "a plain file as socket" 1 "cannot connect" -- --qmp "$T/plain-file" status

# ---- libvirt, without a daemon: the built-in test driver ----
vs -c test:///default --domain test status
if grep -q 'without libvirt' "$T/err"; then
	skip "libvirt transport: vssdctl was built without libvirt"
else
	expect_error "libvirt: unknown domain" 1 "^vssdctl: libvirt domain 'nosuch' not found$" -- \
		-c test:///default --domain nosuch status
	expect_error "libvirt: driver without QEMU monitor" 1 'not supported' -- \
		-c test:///default --domain test status
	expect_error "libvirt: unreachable daemon" 1 'cannot connect to libvirt.*nonexistent' -- \
		-c 'qemu+unix:///system?socket=/nonexistent/sock' --domain vm status
	expect_error "--connect without --domain" 2 'only goes with --domain' -- \
		-c test:///default --qmp "$T/x" status
fi

if ! command -v python3 >/dev/null; then
	skip "fake QMP server tests: python3 missing"
	exit "$failures"
fi

# ---- servers that are not QMP ----
python3 "$HERE/fake-qmp.py" "$T/silent.sock" --silent & PIDS="$PIDS $!"
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept(); c.sendall(b"220 smtp.example.com ESMTP\r\n"); time.sleep(30)' \
	"$T/smtp.sock" & PIDS="$PIDS $!"
wait_socket "$T/silent.sock" && wait_socket "$T/smtp.sock"
start_clock
expect_error "no greeting within the timeout" 1 'no QMP greeting within 1 s' -- \
	--qmp "$T/silent.sock" --reply-timeout 1 status
took_at_most 4 "no greeting"
expect_error "not a QMP server" 1 'not a QMP server' -- --qmp "$T/smtp.sock" status

# ---- the fake device ----
python3 "$HERE/fake-qmp.py" "$T/qmp.sock" & PIDS="$PIDS $!"
python3 "$HERE/fake-qmp.py" "$T/nested.sock" --shape nested & PIDS="$PIDS $!"
python3 "$HERE/fake-qmp.py" "$T/stuck.sock" --stuck & PIDS="$PIDS $!"
wait_socket "$T/qmp.sock" && wait_socket "$T/nested.sock" && wait_socket "$T/stuck.sock"
Q="--qmp $T/qmp.sock"

expect_ok "status: table header" '^DEVICE +REGION +BLOCK-SIZE +MAX-SIZE +SIZE +REQUESTED +STATUS' -- $Q status
grep -Eq '^vssd0 +block +2M +1G +1G +1G +idle' "$T/out" && pass "status: block row" ||
	fail "status: block row ($(cat "$T/out"))"
grep -Eq '^vssd0 +pmem +2M +256M +256M +256M +idle' "$T/out" && pass "status: pmem row" ||
	fail "status: pmem row"
expect_ok "status DEVICE" 'vssd0 +block' -- $Q status vssd0
expect_ok "status of a nested reply" '^vssd0 +pmem +2M +256M' -- --qmp "$T/nested.sock" status
expect_ok "status --json" 'requested-size' -- $Q status --json
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$T/out" &&
	pass "status --json is JSON" || fail "status --json is JSON"
expect_ok "global options after the command" 'vssd0' -- status --qmp "$T/qmp.sock"
expect_error "status of an unknown device prints QMP's desc" 1 "^vssdctl: Device 'nosuch' not found$" -- $Q status nosuch

expect_error "resize above the maximum" 1 'above the maximum' -- $Q resize vssd0 2G
expect_error "resize off the block size" 1 'not a multiple' -- $Q resize vssd0 1000
expect_error "resize of an unknown device" 1 "Device 'vssd9' not found" -- $Q resize vssd9 1G
expect_ok "resize without --wait" '^vssd0 block: resize to 768M requested$' -- $Q resize vssd0 768M
expect_ok "resize --wait (not a tty): one line" '^vssd0 block: [0-9A-Z]+ -> 512M in [0-9.]+ s$' -- \
	$Q resize vssd0 512M --wait --timeout 20
[ "$(wc -l <"$T/out")" -eq 1 ] && pass "resize --wait (not a tty): exactly one line" ||
	fail "resize --wait (not a tty): $(wc -l <"$T/out") lines"
expect_ok "status after the resize" '^vssd0 +block +2M +1G +512M +512M +idle' -- $Q status
expect_ok "resize pmem --policy host --wait" '^vssd0 pmem: 256M -> 128M' -- \
	$Q resize vssd0 128M --region pmem --policy host --wait
if command -v script >/dev/null; then
	script -qec "$VSSDCTL $Q resize vssd0 1G --wait" /dev/null >"$T/tty" 2>&1
	if grep -q '\[#' "$T/tty" && grep -q '%' "$T/tty" &&
	   grep -q 'vssd0 block: 512M -> 1G' "$T/tty"; then
		pass "resize --wait on a tty draws a progress bar"
	else
		fail "resize --wait on a tty: $(tr '\r\033' '|~' <"$T/tty" | head -c 400)"
	fi
else
	skip "progress bar: script(1) missing"
fi
expect_error "resize --wait that never finishes times out" 1 'timed out after 1 s: vssd0 block is 1G of 768M' -- \
	--qmp "$T/stuck.sock" resize vssd0 768M --wait --timeout 1

# watch while another client resizes
watch_start 20 $Q watch --count 3 --timeout 10
sleep 0.5
vs $Q resize vssd0 832M
watch_end
if [ $WRC -eq 0 ] && [ "$(grep -c ' SSD_BALLOON_CHANGE device=vssd0 .*region=block size=[0-9]*[MG] requested-size=832M' "$T/watch")" -eq 3 ]; then
	pass "watch --count 3 prints 3 events, one per line"
else
	fail "watch --count 3 (exit $WRC): $(cat "$T/watch" "$T/watch.err")"
fi
watch_start 20 $Q watch --json --count 1 --timeout 10
sleep 0.5
vs $Q resize vssd0 768M
watch_end
python3 -c 'import json, sys
e = json.loads(open(sys.argv[1]).readline())
assert e["event"] == "SSD_BALLOON_CHANGE" and e["data"]["device"] == "vssd0"' "$T/watch" &&
	pass "watch --json prints the raw event" ||
	fail "watch --json: $(cat "$T/watch" "$T/watch.err")"
expect_quiet "watch --timeout without events ends quietly" -- \
	--qmp "$T/stuck.sock" watch --timeout 1
expect_error "watch --count not reached" 1 'timed out after 1 s with 0 of 1 events' -- \
	--qmp "$T/stuck.sock" watch --count 1 --timeout 1
expect_error "qmp: unknown command prints desc" 1 'The command nope has not been found' -- $Q qmp nope
expect_error "qmp: arguments must be JSON" 2 'must be a JSON object' -- $Q qmp query-status '{bad'

exit "$failures"
