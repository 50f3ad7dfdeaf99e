# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers for the shell tests: each check prints "PASS: ..." or "FAIL: ...";
# tests/run.sh counts them.  Needs $VSSDCTL and $T (a scratch directory).

failures=0

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
skip() { echo "SKIP: $*"; }

# vs ARGS...: run vssdctl (bounded in time); sets RC, output in $T/out, $T/err.
vs() {
	timeout 60 "$VSSDCTL" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}

# one_error_line FILE: the contract's error form, exactly one line
# "vssdctl: ..." in FILE (what vssdctl wrote to stderr).
one_error_line() {
	[ "$(wc -l <"$1")" -eq 1 ] && grep -q '^vssdctl: ' "$1"
}

# fail_output NAME: a failed check, with the exit status and output of vs.
fail_output() {
	fail "$1 (exit $RC, stdout: $(head -c 300 "$T/out" | tr '\n' '|') stderr: $(head -c 300 "$T/err" | tr '\n' '|'))"
}

# expect_error NAME RC PATTERN -- ARGS...: exit status RC (or "nonzero"),
# one error line on stderr matching the grep -E PATTERN.
expect_error() {
	name=$1 want=$2 pattern=$3
	shift 4
	vs "$@"
	if { [ "$want" = nonzero ] && [ "$RC" -ne 0 ]; } || [ "$RC" = "$want" ]; then
		if one_error_line "$T/err" && grep -Eq -- "$pattern" "$T/err"; then
			pass "$name"
			return 0
		fi
	fi
	fail "$name (exit $RC, stderr: $(head -c 300 "$T/err" | tr '\n' '|'))"
	return 1
}

# expect_ok NAME PATTERN -- ARGS...: exit 0, stdout matching PATTERN.
expect_ok() {
	name=$1 pattern=$2
	shift 3
	vs "$@"
	if [ "$RC" -eq 0 ] && [ ! -s "$T/err" ] && grep -Eq -- "$pattern" "$T/out"; then
		pass "$name"
		return 0
	fi
	fail_output "$name"
	return 1
}

# expect_quiet NAME -- ARGS...: exit 0, nothing on stdout or stderr.
expect_quiet() {
	name=$1
	shift 2
	vs "$@"
	if [ "$RC" -eq 0 ] && [ ! -s "$T/out" ] && [ ! -s "$T/err" ]; then
		pass "$name"
		return 0
	fi
	fail_output "$name"
	return 1
}

# start_clock, then took_at_most SECONDS NAME: check that no more than
# SECONDS passed since start_clock ("NAME: gave up in time").
start_clock() {
	clock_start=$(date +%s)
}
took_at_most() {
	took=$(($(date +%s) - clock_start))
	if [ "$took" -le "$1" ]; then
		pass "$2: gave up in time"
	else
		fail "$2: took $took s"
	fi
}

# watch_start SECONDS ARGS...: run vssdctl ARGS in the background for at
# most SECONDS, stdout in $T/watch, stderr in $T/watch.err.
# watch_end: wait for it; its exit status in WRC.
watch_start() {
	limit=$1
	shift
	timeout "$limit" "$VSSDCTL" "$@" >"$T/watch" 2>"$T/watch.err" &
	WPID=$!
}
watch_end() {
	wait "$WPID"
	WRC=$?
}

# watch_printed PATTERN...: $T/watch has one line per grep -E PATTERN, in order.
watch_printed() {
	[ "$(wc -l <"$T/watch")" -eq $# ] || return 1
	n=1
	for pattern; do
		sed -n "${n}p" "$T/watch" | grep -Eq -- "$pattern" || return 1
		n=$((n + 1))
	done
}

# make_scratch NAME: a new scratch directory $T.  On exit, the background
# processes listed in $PIDS are killed and $T is removed.
make_scratch() {
	T=$(mktemp -d "/tmp/vssdctl-$1.XXXXXX")
	PIDS=""
	trap cleanup_scratch EXIT
}
cleanup_scratch() {
	for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$T"
}

# wait_socket PATH: wait up to 10 s for a unix socket to appear.
wait_socket() {
	i=0
	while [ ! -S "$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S "$1" ]
}

# stale_socket PATH: a socket file nobody listens on (ECONNREFUSED).
stale_socket() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])' "$1"
}
