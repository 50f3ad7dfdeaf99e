# SPDX-License-Identifier: GPL-2.0-or-later
#
# resize-lib.sh — guest helpers of the resize tests (busybox sh), sourced
# after /test/check.sh. The host half copies it to /test/resize-lib.sh.
#
#   st KEY              a value of /proc/vssd/vssd0/status
#   ranges norm         block ranges on stdin ("7-9 3") -> sorted, merged
#   ranges compl NR     -> the complement within blocks 0..NR-1
#   ranges count        -> the number of blocks
#   ranges nranges      -> the number of ranges after merging
#   unplugged           the unplugged blocks (complement of the map)
#   reached BYTES       plugged_size and requested_size are BYTES, idle,
#                       nothing pending
#   step NAME           print the marker the host waits for
#   eio_of FILE         the "eio=" ranges of a pattern verify summary, or
#                       the "eio-ranges:" line of read-blocks
#   each_range CMD...   for every range on stdin: CMD OFFSET LENGTH
#                       (bytes, using $BS)
#   wait_told WORD [S]  wait until the host wrote WORD into the mailbox
#                       disk /dev/vda (tests/lib/resize.sh rz_tell)

P=/proc/vssd/vssd0

st() {
	sed -n "s/^$1: *//p" "$P/status"
}

ranges() {
	awk -v mode="$1" -v nr="${2:-0}" '
	{
		for (i = 1; i <= NF; i++) {
			n = split($i, a, "-")
			lo = a[1] + 0
			hi = (n > 1 ? a[2] : a[1]) + 0
			for (b = lo; b <= hi; b++) {
				if (!(b in set))
					cnt++
				set[b] = 1
				if (b > max)
					max = b
			}
		}
	}
	function out(lo, hi) {
		s = s (s == "" ? "" : " ") (lo == hi ? lo : lo "-" hi)
		runs++
	}
	END {
		if (mode == "count") { print cnt + 0; exit }
		top = (mode == "compl") ? nr - 1 : (cnt ? max : -1)
		s = ""
		runs = 0
		lo = -1
		for (b = 0; b <= top; b++) {
			want = (mode == "compl") ? !(b in set) : (b in set)
			if (want && lo < 0)
				lo = b
			if (!want && lo >= 0) {
				out(lo, b - 1)
				lo = -1
			}
		}
		if (lo >= 0)
			out(lo, top)
		if (mode == "nranges")
			print runs
		else
			print s
	}'
}

nr_blocks() {
	echo $(($(st max_size) / $(st block_size)))
}

unplugged() {
	ranges compl "$(nr_blocks)" < "$P/map"
}

reached() {
	[ "$(st plugged_size)" = "$1" ] && [ "$(st requested_size)" = "$1" ] &&
		[ "$(st state)" = idle ] && [ "$(cat "$P/pending")" = none ]
}

step() {
	echo "vssd.step $*"
}

eio_of() {
	sed -n 's/^pattern: verify.* eio=\(.*\)$/\1/p; s/^eio-ranges: //p' "$1"
}

each_range() {
	for r in $(cat); do
		lo=${r%-*}
		hi=${r#*-}
		"$@" $((lo * BS)) $(((hi - lo + 1) * BS)) || return 1
	done
}

told() {
	[ "$(dd if=/dev/vda bs=4096 count=1 iflag=direct 2>/dev/null | tr -d '\000' |
		head -n1 | sed 's/ *$//')" = "$1" ]
}

wait_told() {
	wait_for "${2:-180}" told "$1"
}
