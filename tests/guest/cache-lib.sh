# SPDX-License-Identifier: GPL-2.0-or-later
#
# cache-lib.sh — guest helpers of the vssd-cache tests (busybox sh),
# sourced after /test/check.sh and /test/resize-lib.sh (st, reached, step).
#
#   cst KEY               a value of `vssd-cache status $C`
#   layout KEY            a line of the cache's state file (/run/vssd-cache/$C)
#   cache_blocks_plugged  every vSSD block the cache uses (metadata and
#                         data) is plugged, and it uses every plugged one
#   cache_follows_map     the same by count only (cheap, for timing)
#   now_cs                uptime in centiseconds
#   nothing_changed FILE  the devices and state files are as `snapshot FILE`
#                         recorded them
#   bad NAME ARGS...      one check: vssd-cache ARGS fails (non-zero exit)
#                         with exactly one "vssd-cache: " line on stderr and
#                         nothing changed

C=${C:-c1}

cst() {
	vssd-cache status "$C" | sed -n "s/^$1: *//p"
}

layout() {
	sed -n "s/^$1 //p" "/run/vssd-cache/$C"
}

cache_blocks_plugged() {
	_used=$(echo "$(layout pinned) $(layout slots)" | tr ' ' '\n' | sed '/^$/d' | sort -n | uniq)
	_plugged=$(ranges norm < "$P/map" | tr ' ' '\n' | awk -F- '
		{ lo = $1; hi = ($2 == "" ? $1 : $2); for (b = lo; b <= hi; b++) print b }')
	if [ "$_used" != "$_plugged" ]; then
		echo "cache blocks: $(echo "$_used" | wc -l) used, $(echo "$_plugged" | wc -l) plugged"
		echo "used, not plugged: $(echo "$_used" | grep -vxF "$_plugged" | head -5 | tr '\n' ' ')"
		return 1
	fi
	[ "$(cst cache_bytes)" = $(($(layout slots | wc -w) * $(st block_size))) ]
}

# cheap (for timing): the cache's layout has as many blocks as the map
cache_follows_map() {
	[ $(($(layout slots | wc -w) + $(layout pinned | wc -w))) = "$(st map_plugged_blocks)" ]
}

now_cs() {
	awk '{ printf "%d\n", $1 * 100 }' /proc/uptime
}

snapshot() {
	{ ls /dev/mapper; ls /run/vssd-cache 2>/dev/null; cat /run/vssd-cache/* 2>/dev/null; } > "$1"
}

nothing_changed() {
	snapshot /tmp/snap.now
	cmp -s "$1" /tmp/snap.now
}

bad() {
	_name=$1
	shift
	snapshot /tmp/snap.before
	vssd-cache "$@" > /tmp/bad.out 2> /tmp/bad.err
	_rc=$?
	cat /tmp/bad.err
	check "$_name: fails with one line" sh -c "[ $_rc -ne 0 ] && [ \$(wc -l < /tmp/bad.err) = 1 ] &&
		grep -q '^vssd-cache: ' /tmp/bad.err && [ ! -s /tmp/bad.out ]"
	check "$_name: nothing changed" nothing_changed /tmp/snap.before
}
