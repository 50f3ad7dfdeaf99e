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

# The contract's error form: exactly one line "vssdctl: ..." on stderr.
one_error_line() {
	[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q '^vssdctl: ' "$T/err"
}

# expect_error NAME RC PATTERN -- ARGS...: exit status RC (or "nonzero"),
# one error line on stderr matching the grep -E PATTERN.
expect_error() {
	name=$1 want=$2 pattern=$3
	shift 4
	vs "$@"
	if { [ "$want" = nonzero ] && [ "$RC" -ne 0 ]; } || [ "$RC" = "$want" ]; then
		if one_error_line && grep -Eq -- "$pattern" "$T/err"; then
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
	fail "$name (exit $RC, stdout: $(head -c 300 "$T/out" | tr '\n' '|') stderr: $(head -c 300 "$T/err" | tr '\n' '|'))"
	return 1
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
