# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/hints.sh: /proc/vssd/vssd0/hints and the agent
# hook, on a device of 1 GiB with 64 KiB blocks (16384 blocks). Each
# "vssd.step NAME" marker asks the host for one resize (see hints.sh for
# which); the guest then waits until the driver has reached the target
# and checks its map. "vssd.unplugged NAME RANGES" lines let the host
# compare the map with the holes in its backing file.
. /test/check.sh
. /test/resize-lib.sh
plan 85

max=$(st max_size)
BS=$(st block_size)
nr=$((max / BS))
whole="0-$((nr - 1))"
H=$P/hints

same() { [ "$1" = "$2" ] || { echo "differ: '$1' vs '$2'" | head -c 600; echo; return 1; }; }
hints() { cat "$H"; }
map_is_whole() { same "$(ranges norm < "$P/map")" "$whole"; }
# shrunk_to BLOCKS: wait until the driver has BLOCKS fewer than the maximum.
shrunk_by() { wait_for 120 reached $((max - $1 * BS)); }
# every_other FIRST COUNT: FIRST, FIRST+2, ... (COUNT numbers, one a line).
every_other() { awk -v f="$1" -v c="$2" 'BEGIN { for (i = 0; i < c; i++) print f + 2 * i }'; }
# write_fails TEXT: writing TEXT to hints fails with EINVAL.
# (dd: one write(2) whose errno is reported; the shell's printf and
# echo do not report it, and printf may split a long line in two writes.)
write_fails() {
	printf '%s\n' "$1" > /tmp/bad
	if dd if=/tmp/bad of="$H" bs=64k 2> /tmp/err; then
		echo "write of '$1' succeeded"
		return 1
	fi
	grep -q 'Invalid argument' /tmp/err || { cat /tmp/err; return 1; }
}
# grown_back NAME: print the marker, wait until the map is whole again.
grown_back() {
	step "grow $1"
	check "$1: grown back to $max bytes" wait_for 120 reached "$max"
	check "$1: the map is whole again" map_is_whole
}
# eio_everywhere RANGES: a read of each block of RANGES fails with EIO.
eio_everywhere() {
	for r in $1; do
		lo=${r%-*}
		hi=${r#*-}
		pattern read-blocks /dev/vssd0 --bs "$BS" --offset $((lo * BS)) \
			--length $(((hi - lo + 1) * BS)) > /tmp/rb.out 2>&1
		same "$(eio_of /tmp/rb.out)" "$r" || return 1
	done
}

cat "$P/status"
check "block size is 64 KiB" same "$BS" 65536
check "starts fully plugged" map_is_whole
check "hints start empty" same "$(hints)" ""

# --- writing and reading hints, no resize -------------------------------
check "write '7 9-11 3'" sh -c "echo '7 9-11 3' > $H"
check "read back as written" same "$(hints)" "7 9-11 3"
for bad in "12x" "5-3" "$nr" "$((nr - 2))-$nr" "clear 5" "" "   " "-4" "1--2" "x" "3 7 abc"; do
	check "malformed '$bad' fails with EINVAL" write_fails "$bad"
	check "... and leaves the list as it was" same "$(hints)" "7 9-11 3"
done
check "append with >>" sh -c "echo 20 >> $H"
check "... appended in order" same "$(hints)" "7 9-11 3 20"
check "two writes of one open: the first replaces, the second appends" \
	sh -c "{ echo 30; echo 40-41; } > $H"
check "... read back" same "$(hints)" "30 40-41"
check "the last block $((nr - 1)) is a valid hint" sh -c "echo $((nr - 1)) > $H"
check "... read back" same "$(hints)" "$((nr - 1))"
check "'clear' empties the list" sh -c "echo clear > $H"
check "... it is empty" same "$(hints)" ""
# One write() of about 5 KiB (more than a page) holding 700 hints.
big=$(every_other 8000 700 | tr '\n' ' ')
big=${big% }
printf '%s\n' "$big" > /tmp/big
check "one write of $(wc -c < /tmp/big) bytes with 700 hints" dd if=/tmp/big of="$H" bs=64k
check "... read back as written" same "$(hints)" "$big"
echo clear > "$H"

# --- fragmented hints: every other block of 1000..1199 ------------------
frag=$(every_other 1000 100 | tr '\n' ' ')
frag=${frag% }
check "frag: write 100 single-block hints" sh -c "echo '$frag' > $H"
check "frag: read back as written" same "$(hints)" "$frag"
step "shrink frag 100"
check "frag: shrunk by 100 blocks" shrunk_by 100
check "frag: exactly the hinted blocks left the map" same "$(unplugged)" "$(echo "$frag" | ranges norm)"
check "frag: given-back blocks left the hint list" same "$(hints)" ""
echo "vssd.unplugged frag $(unplugged)"

# --- thousands of ranges: every other block of 2000..11998 --------------
every_other 2000 5000 > /tmp/large
check "large: 5000 hints written one per write() on one open" sh -c "while read -r b; do echo \$b; done < /tmp/large > $H"
check "large: read back in the order written" same "$(hints)" "$(tr '\n' ' ' < /tmp/large | sed 's/ $//')"
step "shrink large 5000"
check "large: shrunk by 5100 blocks in all" shrunk_by 5100
check "large: exactly the hinted blocks are gone" \
	same "$(unplugged)" "$(echo "$frag $(cat /tmp/large)" | ranges norm)"
check "large: the hint list is empty again" same "$(hints)" ""
echo "vssd.unplugged large $(unplugged)"
grown_back large

# --- a shrink larger than the hints -------------------------------------
check "more: write hints 500-509" sh -c "echo 500-509 > $H"
step "shrink more 30"
check "more: shrunk by 30 blocks" shrunk_by 30
gone=$(unplugged)
check "more: the 10 hinted blocks are among the 30" same "$(echo "$gone 500-509" | ranges norm)" "$gone"
check "more: 30 blocks gone" same "$(echo "$gone" | ranges count)" 30
check "more: the hint list is empty" same "$(hints)" ""
echo "vssd.unplugged more $gone"
grown_back more

# --- policy host: the device names the blocks ---------------------------
step "shrink host 40"
check "host: shrunk by 40 blocks" shrunk_by 40
gone=$(unplugged)
check "host: 40 blocks gone from the map" same "$(echo "$gone" | ranges count)" 40
check "host: a read of each of them fails with EIO" eio_everywhere "$gone"
echo "vssd.unplugged host $gone"
grown_back host

# --- the agent hook: a guest agent writes hints when asked --------------
uevent /bin/sh /test/hints-uevent.sh > /dev/null 2>&1 &
uevent_pid=$!
check "agent: set agent_timeout_ms=30000" sh -c 'echo 30000 > /sys/module/virtio_vssd/parameters/agent_timeout_ms'
agent() {
	wait_for 60 grep -q '^shrink ' "$P/pending" || { echo "agent: no shrink pending"; return 1; }
	echo "agent: pending '$(cat "$P/pending")'"
	cat "$P/pending" > /tmp/agent.saw
	# Late on purpose: the driver must wait for "ready", not pick blocks now.
	sleep 2
	echo "3000-3009 4000 4002 4004" > "$H" && echo ready > "$P/pending" && echo "agent: ready"
}
agent > /tmp/agent.log 2>&1 &
agent_pid=$!
step "shrink agent 13"
wait "$agent_pid"
check "agent: the agent ran" test $? = 0
cat /tmp/agent.log
check "agent: pending showed 'shrink 13'" same "$(cat /tmp/agent.saw)" "shrink 13"
check "agent: shrunk by 13 blocks" shrunk_by 13
check "agent: the evicted blocks are the agent's hints" same "$(unplugged)" "3000-3009 4000 4002 4004"
sleep 1
kill "$uevent_pid" 2>/dev/null
cat /tmp/uevents
check "agent: a change uevent said VSSD_PENDING=shrink VSSD_BLOCKS=13" \
	grep -q 'VSSD_PENDING=shrink VSSD_BLOCKS=13 VSSD_GENERATION=[0-9]' /tmp/uevents
echo "vssd.unplugged agent $(unplugged)"
echo 0 > /sys/module/virtio_vssd/parameters/agent_timeout_ms
grown_back agent

# --- shrink during a data-verifying workload on kept blocks -------------
workload() {
	i=0
	while [ ! -e /tmp/wl.stop ]; do
		i=$((i + 1))
		pattern write /dev/vssd0 $((SEED + i)) --length 16M --bs 64K > /dev/null &&
			pattern verify /dev/vssd0 $((SEED + i)) --length 16M --bs 64K > /dev/null ||
			{ echo "workload: iteration $i failed"; echo "$i" > /tmp/wl.fail; return 1; }
		echo "$i" > /tmp/wl.done
	done
	echo "workload: $i iterations"
}
rm -f /tmp/wl.stop /tmp/wl.fail /tmp/wl.done
check "io: write hints 12000-12999" sh -c "echo 12000-12999 > $H"
workload &
wl_pid=$!
sleep 1
step "shrink io 1000"
check "io: shrunk by 1000 blocks" shrunk_by 1000
done_at_shrink=$(cat /tmp/wl.done 2>/dev/null || echo 0)
wait_for 60 sh -c "test \$(cat /tmp/wl.done 2>/dev/null || echo 0) -ge $((done_at_shrink + 2))"
touch /tmp/wl.stop
wait "$wl_pid"
check "io: the workload lost nothing (write+verify loop)" test $? = 0 -a ! -e /tmp/wl.fail
check "io: it went on after the shrink (rounds: $done_at_shrink at the shrink, $(cat /tmp/wl.done 2>/dev/null) in all)" \
	test "$(cat /tmp/wl.done 2>/dev/null || echo 0)" -ge $((done_at_shrink + 2))
check "io: exactly the hinted blocks are gone" same "$(unplugged)" "12000-12999"
echo "vssd.unplugged io $(unplugged)"
grown_back io

# --- a new target replaces one in progress ------------------------------
# The agent timeout holds the first target in "pending" while the host
# sets the second one.
echo 30000 > /sys/module/virtio_vssd/parameters/agent_timeout_ms
step "replace first"
check "replace: pending shows 'shrink 100'" wait_for 60 grep -qx 'shrink 100' "$P/pending"
step "replace second"
check "replace: pending shows the new target 'shrink 40'" wait_for 60 grep -qx 'shrink 40' "$P/pending"
echo ready > "$P/pending"
check "replace: ends at the last target (40 blocks fewer)" shrunk_by 40
check "replace: 40 blocks gone" same "$(unplugged | ranges count)" 40
echo "vssd.unplugged replace $(unplugged)"
step "cancel first"
check "cancel: pending shows 'shrink 20'" wait_for 60 grep -qx 'shrink 20' "$P/pending"
step "cancel second"
check "cancel: pending shows the grow back 'grow 40'" wait_for 60 grep -qx 'grow 40' "$P/pending"
echo ready > "$P/pending"
check "cancel: ends at the maximum" wait_for 120 reached "$max"
check "cancel: the map is whole" map_is_whole
echo 0 > /sys/module/virtio_vssd/parameters/agent_timeout_ms
check "resize_errors stayed 0" same "$(st resize_errors)" 0
cat "$P/status"
check_done
