# SPDX-License-Identifier: GPL-2.0-or-later
#
# check.sh — guest half of the test reporting (busybox sh). tests/lib/vm.sh
# puts it at /test/check.sh in every boot; a guest script starts with
#
#   . /test/check.sh
#
# and then
#
#   plan N                   N checks will follow (in this boot); the host
#                            fails the test when another number ran
#   check NAME CMD...        passes when CMD succeeds
#   check_fails NAME CMD...  passes when CMD fails (negative controls)
#   check_done               exits 0 if every check passed, 1 otherwise
#
# Each check prints "vssd.check ok NAME" or "vssd.check fail NAME" on the
# console; the host turns them into TAP lines (vm_report_checks). The
# output of CMD goes to the console as well, for the log.
#
# Variables given with vm_boot --env are in /test/env.sh, read here.

[ -f /test/env.sh ] && . /test/env.sh

CHECK_FAILED=0

plan() {
	echo "vssd.plan $1"
}

check__verdict() {
	if [ "$1" = ok ]; then
		echo "vssd.check ok $2"
	else
		echo "vssd.check fail $2"
		CHECK_FAILED=$((CHECK_FAILED + 1))
	fi
}

check() {
	_name=$1
	shift
	if "$@"; then
		check__verdict ok "$_name"
	else
		check__verdict fail "$_name"
	fi
}

check_fails() {
	_name=$1
	shift
	if "$@"; then
		check__verdict fail "$_name"
	else
		check__verdict ok "$_name"
	fi
}

# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds.
wait_for() {
	_n=$(($1 * 10))
	shift
	while [ "$_n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	"$@"
}

check_done() {
	echo "check: $CHECK_FAILED check(s) failed"
	[ "$CHECK_FAILED" -eq 0 ] && exit 0
	exit 1
}
