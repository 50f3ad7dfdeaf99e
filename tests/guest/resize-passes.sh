# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/resize.sh: the correctness experiment. The host
# filled the backing file with the pattern of $SEED. For each size in
# $SIZES (MiB) the host shrinks the device by that much and then grows it
# back; here we check after each step that
#   - a sequential O_DIRECT read of every block fails with EIO on exactly
#     the blocks missing from /proc/vssd/vssd0/map, and there are as many
#     as were asked for,
#   - every kept block still holds its data, unplugged_io_errors counts
#     the failed reads,
#   - after the grow nothing fails and the granted blocks read as zeros
#     (then the pattern is written back so the next pass starts whole).
# Markers for the host: "vssd.step ready|shrunk|grown MIB", and the lines
# "vssd.unplugged MIB RANGES" and "vssd.counters MIB evicted=N granted=N".
. /test/check.sh
. /test/resize-lib.sh
# 4 checks first, 15 per size, 1 at the end
plan $((5 + 15 * $(echo $SIZES | wc -w)))

max=$(st max_size)
BS=$(st block_size)
nr=$((max / BS))
whole="0-$((nr - 1))"

map_is_whole() { [ "$(ranges norm < "$P/map")" = "$whole" ]; }
same() { [ "$1" = "$2" ] || { echo "differ: '$1' vs '$2'" | head -c 600; echo; return 1; }; }
no_other_errors() { ! grep -q '^error-ranges:' "$1"; }
zero_at() { pattern verify-zero /dev/vssd0 --offset "$1" --length "$2" --bs "$BS" >/dev/null; }
write_at() { pattern write /dev/vssd0 "$SEED" --offset "$1" --length "$2" --bs "$BS" >/dev/null; }
verify_at() { pattern verify /dev/vssd0 "$SEED" --offset "$1" --length "$2" --bs "$BS" >/dev/null; }
first_range() { echo "${1%% *}"; }
# in_ranges RANGES CMD: CMD OFFSET LENGTH for each range.
in_ranges() { echo "$1" | each_range "$2"; }

cat "$P/status"
check "block size is $EXPECT_BS" same "$BS" "$EXPECT_BS"
check "starts fully plugged: map is $whole" map_is_whole
check "starts with nothing pending" same "$(cat "$P/pending")" none
check "the host's pattern reads back in full" pattern verify /dev/vssd0 "$SEED" --bs "$BS"

for mib in $SIZES; do
	n=$(((mib << 20) / BS))
	target=$((max - (mib << 20)))
	errors_before=$(st unplugged_io_errors)
	step "ready $mib"

	check "shrink $mib MiB: the driver reaches $target bytes" wait_for 120 reached "$target"
	gone=$(unplugged)
	check "shrink $mib MiB: $n blocks left the map" same "$(echo "$gone" | ranges count)" "$n"
	check "shrink $mib MiB: map_plugged_blocks is $((nr - n))" same "$(st map_plugged_blocks)" $((nr - n))

	pattern read-blocks /dev/vssd0 --bs "$BS" > /tmp/rb.out
	cat /tmp/rb.out
	check "shrink $mib MiB: read-blocks fails on exactly the unplugged blocks" \
		same "$(eio_of /tmp/rb.out | ranges norm)" "$gone"
	check "shrink $mib MiB: read-blocks sees no other error" no_other_errors /tmp/rb.out
	check "shrink $mib MiB: unplugged_io_errors rose by at least $n" \
		test "$(st unplugged_io_errors)" -ge $((errors_before + n))

	pattern verify /dev/vssd0 "$SEED" --bs "$BS" --allow-eio > /tmp/v.out
	rc=$?
	cat /tmp/v.out
	check "shrink $mib MiB: every kept block holds its data" test "$rc" = 0
	check "shrink $mib MiB: verify skipped exactly the unplugged blocks" \
		same "$(eio_of /tmp/v.out | ranges norm)" "$gone"
	echo "vssd.unplugged $mib $gone"
	echo "vssd.counters $mib evicted=$(st evicted_blocks) granted=$(st granted_blocks)"
	step "shrunk $mib"

	check "grow $mib MiB: the driver reaches $max bytes" wait_for 120 reached "$max"
	check "grow $mib MiB: map is whole again" map_is_whole
	pattern read-blocks /dev/vssd0 --bs "$BS" > /tmp/rb.out
	rc=$?
	cat /tmp/rb.out
	check "grow $mib MiB: every block reads without error" test "$rc" = 0
	check "grow $mib MiB: the granted blocks read as zeros" in_ranges "$gone" zero_at
	check_fails "grow $mib MiB: negative control: the granted blocks lost the pattern" \
		in_ranges "$(first_range "$gone")" verify_at
	# The host looks at its file before anything is written there again.
	check "grow $mib MiB: the host has checked its file" wait_told "checked $mib"
	check "grow $mib MiB: write the pattern back onto them" in_ranges "$gone" write_at
	echo "vssd.counters-grown $mib evicted=$(st evicted_blocks) granted=$(st granted_blocks)"
	step "grown $mib"
done
check "at the end every block holds the pattern" pattern verify /dev/vssd0 "$SEED" --bs "$BS"
check_done
