# SPDX-License-Identifier: GPL-2.0-or-later
#
# vm.sh — boot the vssd test guest from host-side test scripts (bash).
#
#   . "$(dirname "$0")/../lib/vm.sh"
#
# Booting:
#   vm_boot [OPTIONS] [-- QEMU-ARGS...]
#       Boot the guest, run the guest script, wait for power-off and return
#       the script's exit status (parsed from "vssd.run exit=N"). If that
#       line is missing (timeout, crash, panic, QEMU refused to start) it
#       prints why and the tail of the log and returns 255.
#   vm_start [OPTIONS] [-- QEMU-ARGS...]
#       The same in the background, with a QMP socket at $VM_QMP; then
#       vm_qmp, vm_wait_log, and vm_wait (returns like vm_boot).
#   OPTIONS:
#       --script FILE   guest script, placed at /test/run.sh and run by init
#       --files DIR     more files, copied under /test/ in the guest
#       --timeout S     give up after S seconds (default $VSSD_TIMEOUT or 180)
#       --log FILE      serial console log (default: a file in $VM_TMP)
#       --append ARGS   more kernel command line
#       --mem MB        guest memory (default 512)
#       --env NAME=VAL  exported to the guest script (repeatable)
#   Every boot also gets tests/guest/check.sh at /test/check.sh (the
#   guest half of the reporting below).
#   After a boot: $VM_LOG is the log, $VM_STATUS the status.
#
# Results (TAP, counted by tests/run.sh):
#   t_plan N          the number of results this script reports itself
#                     (everything but the guests' checks, which follow the
#                     guest script's own plan); declared first
#   t_ok NAME / t_fail NAME [WHY] / t_check NAME CMD... / t_skip NAME WHY
#                     (a skip is not a pass: tests/run.sh fails on it)
#   t_done            checks the plan (a result that never came is a
#                     failure), prints "1..N" and the totals, exits 1 if
#                     anything failed or was skipped
#   vm_report_checks NAME   one result per guest check (tests/guest/
#                     check.sh) and one for the guest's plan
#   vm_run NAME [vm_boot OPTIONS]   vm_boot, vm_report_checks, then one
#                     result for the exit status and one for a clean
#                     kernel log (both count in the script's plan)
#   vm_finish NAME    the same after vm_start: vm_wait, then the results
#
# Migration:
#   vm_start_incoming URI [QEMU-ARGS...]   a destination QEMU for the guest
#                     of vm_start (-incoming URI); the source's PID, QMP
#                     socket and log move to VM_SRC_PID, VM_SRC_QMP,
#                     VM_SRC_LOG; vm_end_source stops it
#
# Helpers:
#   vm_tmpdir         a scratch folder removed at exit ($VM_TMP)
#   vssd_args FILE [DEVICE-PROPS]   sets the array VSSD_ARGS to the QEMU
#                     arguments of one virtio-vssd-pci device on FILE
#   vm_log_clean [LOG]              fails if the log shows a kernel bug
#   vm_have_device    QEMU and the driver module are built
#   vm_host_pattern   path of the pattern tool built for the host
#   vm_alloc_bytes FILE             bytes the host really allocated to FILE
#
# Environment: VSSD_QEMU (QEMU binary), VSSD_GUEST_KERNEL (6.12 or 6.1:
# the guest kernel), VSSD_KERNEL, VSSD_INITRD (its files, if not those),
# VSSD_TIMEOUT, VSSD_KEEP=1 (keep scratch folders), VSSD_QEMU_ARGS (more
# QEMU arguments for every boot), VSSD_VERBOSE=1 (copy the console to
# stderr while the guest runs).

VSSD_ROOT=${VSSD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
VSSD_QEMU=${VSSD_QEMU:-$VSSD_ROOT/build/qemu/qemu-system-x86_64}
# VSSD_GUEST_KERNEL=SERIES (6.12 or 6.1) boots that series' guest: the
# default image build/guest when it is that series, else build/guest-SERIES
# (make image GUEST_KERNEL=SERIES).
VSSD_GUEST_DIR=$VSSD_ROOT/build/guest
if [ -n "${VSSD_GUEST_KERNEL:-}" ] &&
	[ "$VSSD_GUEST_KERNEL" != "$(cat "$VSSD_GUEST_DIR/series" 2>/dev/null)" ]; then
	VSSD_GUEST_DIR=$VSSD_ROOT/build/guest-$VSSD_GUEST_KERNEL
fi
VSSD_KERNEL=${VSSD_KERNEL:-$VSSD_GUEST_DIR/vmlinuz}
VSSD_INITRD=${VSSD_INITRD:-$VSSD_GUEST_DIR/initramfs.cpio.gz}
VSSD_TIMEOUT=${VSSD_TIMEOUT:-180}
VSSD_QMP_PY=$VSSD_ROOT/tests/lib/qmp.py

VM_TMP=
VM_LOG=
VM_STATUS=
VM_PID=
VM_QMP=
VM_TIMEOUT=
VM_SRC_PID=
VM_SRC_QMP=
VM_SRC_LOG=
T_NUM=0
T_FAILED=0
T_SKIPPED=0
T_PLAN=
# results that came from guest checks (not in the script's plan)
T_GUEST=0

# ---------------------------------------------------------------------------
# Reporting

t_ok() {
	T_NUM=$((T_NUM + 1))
	echo "ok $T_NUM - $1"
}

t_fail() {
	T_NUM=$((T_NUM + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_NUM - $1${2:+ # $2}"
}

t_skip() {
	T_NUM=$((T_NUM + 1))
	T_SKIPPED=$((T_SKIPPED + 1))
	echo "ok $T_NUM - $1 # SKIP ${2:-no reason given}"
}

t_plan() {
	T_PLAN=$1
	echo "# plan: $1 results of $(basename "$0") itself, plus its guests' checks"
}

# t_check NAME CMD...: ok when CMD succeeds.
t_check() {
	local name=$1
	shift
	if "$@"; then
		t_ok "$name"
	else
		t_fail "$name" "failed: $*"
	fi
}

t_done() {
	local own=$((T_NUM - T_GUEST))
	if [ -z "$T_PLAN" ]; then
		t_fail "$(basename "$0"): plan" "the script declared no plan (t_plan; it reported $own)"
	elif [ "$own" != "$T_PLAN" ]; then
		t_fail "$(basename "$0"): plan" "$T_PLAN results planned, $own reported"
	fi
	echo "1..$T_NUM"
	echo "# $(basename "$0"): $((T_NUM - T_FAILED - T_SKIPPED)) of $T_NUM passed, $T_SKIPPED skipped"
	[ "$T_FAILED" -eq 0 ] && [ "$T_SKIPPED" -eq 0 ]
	exit $?
}

# Print a message and end the test script as one failure.
t_bail() {
	t_fail "${2:-$(basename "$0")}" "$1"
	t_done
}

# ---------------------------------------------------------------------------
# Scratch space and clean-up

vm__cleanup() {
	vm_end_source
	if [ -n "$VM_PID" ] && kill -0 "$VM_PID" 2>/dev/null; then
		kill "$VM_PID" 2>/dev/null
		wait "$VM_PID" 2>/dev/null
	fi
	# Keep the consoles of a failed test where a person can find them.
	if [ "$T_FAILED" -gt 0 ] && [ -n "$VM_TMP" ] && [ -d "$VM_TMP" ]; then
		local keep
		keep=$VSSD_ROOT/build/test-logs/$(basename "$0" .sh)${VSSD_GUEST_KERNEL:+@$VSSD_GUEST_KERNEL}
		rm -rf "$keep"
		mkdir -p "$keep"
		cp "$VM_TMP"/*.log "$VM_TMP"/*.cmd "$keep/" 2>/dev/null
		echo "# consoles of $(basename "$0") kept in $keep" >&2
	fi
	if [ -n "$VM_TMP" ] && [ "${VSSD_KEEP:-0}" != 1 ]; then
		rm -rf "$VM_TMP"
	elif [ -n "$VM_TMP" ]; then
		echo "# kept $VM_TMP" >&2
	fi
}
trap vm__cleanup EXIT
trap 'exit 130' INT TERM

vm_tmpdir() {
	if [ -z "$VM_TMP" ]; then
		VM_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vssd-test.XXXXXX")
	fi
}

# ---------------------------------------------------------------------------
# Prerequisites

vm_have_device() {
	local f
	for f in "$VSSD_QEMU" "$VSSD_KERNEL" "$VSSD_INITRD"; do
		[ -f "$f" ] || { echo "vm.sh: $f is missing" >&2; return 1; }
	done
	# grep without -q reads all its input: with pipefail, -q would make
	# the writer die of SIGPIPE and the pipeline fail.
	if ! "$VSSD_QEMU" -device help 2>/dev/null | grep '"virtio-vssd-pci"' >/dev/null; then
		echo "vm.sh: $VSSD_QEMU has no virtio-vssd-pci device" >&2
		return 1
	fi
	if ! zcat "$VSSD_INITRD" 2>/dev/null | cpio -t --quiet 2>/dev/null |
		grep 'extra/virtio_vssd.ko$' >/dev/null; then
		echo "vm.sh: $VSSD_INITRD has no virtio_vssd.ko" >&2
		return 1
	fi
}

# vssd_args FILE [PROPS]: QEMU arguments for one device on FILE, in the
# array VSSD_ARGS. PROPS are appended to -device (e.g. "block-size=1M").
vssd_args() {
	local file=$1 props=${2:-}
	VSSD_ARGS=(-blockdev "driver=file,filename=$file,node-name=vssd-disk,discard=unmap"
		-device "virtio-vssd-pci,id=vssd0,drive=vssd-disk${props:+,$props}")
}

# ---------------------------------------------------------------------------
# Booting

# Parse the options common to vm_boot and vm_start. Sets vm__script,
# vm__files, vm__append, vm__mem, VM_TIMEOUT, VM_LOG and vm__qemu_args.
vm__parse() {
	vm__script=
	vm__files=
	vm__append=
	vm__mem=512
	VM_TIMEOUT=$VSSD_TIMEOUT
	VM_LOG=
	vm__qemu_args=()
	vm__env=()
	while [ $# -gt 0 ]; do
		case "$1" in
		--script) vm__script=$2; shift 2 ;;
		--files) vm__files=$2; shift 2 ;;
		--timeout) VM_TIMEOUT=$2; shift 2 ;;
		--log) VM_LOG=$2; shift 2 ;;
		--append) vm__append=$2; shift 2 ;;
		--mem) vm__mem=$2; shift 2 ;;
		--env) vm__env+=("$2"); shift 2 ;;
		--) shift; vm__qemu_args=("$@"); break ;;
		*) echo "vm.sh: unknown option $1" >&2; return 2 ;;
		esac
	done
	vm_tmpdir
	vm__seq=$((${vm__seq:-0} + 1))
	[ -n "$VM_LOG" ] || VM_LOG=$VM_TMP/boot$vm__seq.log
	: > "$VM_LOG"
}

# Build $VM_TMP/initrdN: the base image plus a cpio with /test.
vm__initrd() {
	local extra=$VM_TMP/extra$vm__seq
	local initrd=$VM_TMP/initrd$vm__seq
	for f in "$VSSD_KERNEL" "$VSSD_INITRD"; do
		[ -f "$f" ] || { echo "vm.sh: $f missing (run: make image)" >&2; return 1; }
	done
	rm -rf "$extra"
	mkdir -p "$extra/test"
	if [ -n "$vm__files" ]; then
		cp -a "$vm__files"/. "$extra/test/" || return 1
	fi
	if [ -n "$vm__script" ]; then
		install -m 0755 "$vm__script" "$extra/test/run.sh" || return 1
	fi
	install -m 0644 "$VSSD_ROOT/tests/guest/check.sh" "$extra/test/check.sh" || return 1
	local kv
	for kv in "${vm__env[@]}"; do
		printf "export %s='%s'\n" "${kv%%=*}" "${kv#*=}"
	done > "$extra/test/env.sh"
	vm_append_cpio "$VSSD_INITRD" "$extra" "$initrd" || return 1
	rm -rf "$extra"
	vm__initrd_path=$initrd
}

# vm_append_cpio BASE DIR OUT: OUT = BASE followed by a gzip'd cpio of DIR
# (the kernel unpacks concatenated archives; later files win).
vm_append_cpio() {
	local base=$1 dir=$2 out=$3
	cp "$base" "$out" || return 1
	(cd "$dir" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) | gzip -1 >> "$out"
}

vm__cmdline() {
	# no_timer_check: under a loaded host TCG can miss the IO-APIC timer check
	# at boot and panic ("IO-APIC + timer doesn't work").
	# loglevel=5 (not quiet): WARNINGs, soft lockups, hung tasks and their
	# stacks reach the console, and vm_log_clean fails on them.
	local c="console=ttyS0 panic=-1 loglevel=5 no_timer_check"
	c="$c softlockup_all_cpu_backtrace=1 sysctl.kernel.hung_task_timeout_secs=60"
	[ -n "$vm__script" ] && c="$c vssd.run=/test/run.sh"
	echo "$c${vm__append:+ $vm__append}"
}

vm__qemu_cmd() {
	vm__cmd=("$VSSD_QEMU" -M pc -m "$vm__mem" -smp 2 -nodefaults -display none
		-vga none -no-reboot -serial stdio -monitor none
		-kernel "$VSSD_KERNEL" -initrd "$vm__initrd_path"
		-append "$(vm__cmdline)")
	local d
	for d in /usr/share/seabios /usr/share/qemu; do
		[ -d "$d" ] && vm__cmd+=(-L "$d")
	done
	# shellcheck disable=SC2206 # word splitting wanted
	[ -n "${VSSD_QEMU_ARGS:-}" ] && vm__cmd+=($VSSD_QEMU_ARGS)
	vm__cmd+=("$@")
}

# vm__status LOG: print N of the last "vssd.run exit=N", or nothing.
vm__status() {
	tr -d '\r' < "$1" | sed -n 's/^.*vssd\.run exit=\([0-9][0-9]*\).*$/\1/p' | tail -n1
}

# Explain a boot that ended without the exit line.
vm__explain() {
	local why=$1
	{
		echo "vm.sh: $why; no 'vssd.run exit=' line in $VM_LOG"
		if grep -aq 'Kernel panic' "$VM_LOG"; then
			echo "vm.sh: the guest kernel panicked"
		fi
		echo "vm.sh: ---- last lines of the console ----"
		tail -n 40 "$VM_LOG" | tr -d '\r' | sed 's/^/vm.sh: | /'
		echo "vm.sh: -------------------------------------"
	} >&2
}

# Wait for the QEMU process $1 (our child); kill it after the deadline.
# Sets vm__timed_out and vm__qemu_rc.
vm__reap() {
	local pid=$1 deadline=$((SECONDS + VM_TIMEOUT))
	vm__timed_out=0
	while kill -0 "$pid" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			vm__timed_out=1
			kill "$pid" 2>/dev/null
			sleep 1
			kill -9 "$pid" 2>/dev/null
			break
		fi
		sleep 0.2
	done
	wait "$pid" 2>/dev/null
	vm__qemu_rc=$?
}

vm__finish() {
	local status
	status=$(vm__status "$VM_LOG")
	if [ -n "$status" ]; then
		VM_STATUS=$status
	elif [ "$vm__timed_out" = 1 ]; then
		vm__explain "timed out after $VM_TIMEOUT s"
		VM_STATUS=255
	else
		vm__explain "QEMU exited with status $vm__qemu_rc"
		VM_STATUS=255
	fi
	return "$VM_STATUS"
}

vm_boot() {
	vm__parse "$@" || return 2
	vm__initrd || return 255
	vm__qemu_cmd "${vm__qemu_args[@]}"
	echo "${vm__cmd[*]}" > "$VM_LOG.cmd"
	if [ "${VSSD_VERBOSE:-0}" = 1 ]; then
		"${vm__cmd[@]}" < /dev/null > >(tee "$VM_LOG" >&2) 2>&1 &
	else
		"${vm__cmd[@]}" < /dev/null > "$VM_LOG" 2>&1 &
	fi
	VM_PID=$!
	vm__reap "$VM_PID"
	VM_PID=
	vm__finish
}

vm_start() {
	vm__parse "$@" || return 2
	vm__initrd || return 255
	VM_QMP=$VM_TMP/qmp$vm__seq.sock
	rm -f "$VM_QMP"
	vm__qemu_cmd -qmp "unix:$VM_QMP,server=on,wait=off" "${vm__qemu_args[@]}"
	echo "${vm__cmd[*]}" > "$VM_LOG.cmd"
	"${vm__cmd[@]}" < /dev/null > "$VM_LOG" 2>&1 &
	VM_PID=$!
	vm__start_time=$SECONDS
	local i
	for i in $(seq 100); do
		[ -S "$VM_QMP" ] && return 0
		kill -0 "$VM_PID" 2>/dev/null || break
		sleep 0.1
	done
	vm__explain "QEMU did not open its QMP socket"
	return 1
}

# vm_wait: wait for the guest started by vm_start to power off.
vm_wait() {
	[ -n "$VM_PID" ] || { echo "vm.sh: no VM running" >&2; return 255; }
	local left=$((VM_TIMEOUT - (SECONDS - vm__start_time)))
	[ $left -gt 0 ] || left=1
	local saved=$VM_TIMEOUT
	VM_TIMEOUT=$left
	vm__reap "$VM_PID"
	VM_TIMEOUT=$saved
	VM_PID=
	vm__finish
}

# vm_kill: stop the guest started by vm_start at once.
vm_kill() {
	if [ -n "$VM_PID" ]; then
		kill "$VM_PID" 2>/dev/null
		wait "$VM_PID" 2>/dev/null
		VM_PID=
	fi
}

# vm_start_incoming URI [QEMU-ARGS...]: start a destination for the guest
# of the last vm_start: the same kernel, image, command line and memory,
# QEMU-ARGS instead of that start's own arguments (fresh files where the
# state must travel in the stream), -incoming URI. VM_PID, VM_QMP and
# VM_LOG (a new console log) become the destination's; the source's are
# kept in VM_SRC_PID, VM_SRC_QMP and VM_SRC_LOG (an earlier source is
# stopped first). vm_wait's time limit still counts from vm_start.
vm_start_incoming() {
	local uri=$1 i
	shift
	vm_end_source
	VM_SRC_PID=$VM_PID VM_SRC_QMP=$VM_QMP VM_SRC_LOG=$VM_LOG
	vm__seq=$((vm__seq + 1))
	VM_LOG=$VM_TMP/boot$vm__seq.log
	VM_QMP=$VM_TMP/qmp$vm__seq.sock
	: > "$VM_LOG"
	rm -f "$VM_QMP"
	vm__qemu_cmd -qmp "unix:$VM_QMP,server=on,wait=off" -incoming "$uri" "$@"
	echo "${vm__cmd[*]}" > "$VM_LOG.cmd"
	"${vm__cmd[@]}" < /dev/null > "$VM_LOG" 2>&1 &
	VM_PID=$!
	for i in $(seq 100); do
		[ -S "$VM_QMP" ] && return 0
		kill -0 "$VM_PID" 2>/dev/null || break
		sleep 0.1
	done
	vm__explain "the destination QEMU did not open its QMP socket"
	return 1
}

# vm_end_source: stop the source QEMU of the last vm_start_incoming.
vm_end_source() {
	if [ -n "$VM_SRC_PID" ]; then
		kill "$VM_SRC_PID" 2>/dev/null
		wait "$VM_SRC_PID" 2>/dev/null
		VM_SRC_PID=
	fi
}

# vm_qmp COMMAND [JSON-ARGS]: print the command's return value; status 1
# on a QMP error (message on stderr).
vm_qmp() {
	python3 "$VSSD_QMP_PY" "$VM_QMP" "$@"
}

# vm_wait_log PATTERN [TIMEOUT]: wait until the console log matches the
# extended regular expression PATTERN (a guest script can print markers).
vm_wait_log() {
	local pattern=$1 deadline=$((SECONDS + ${2:-60}))
	while ! tr -d '\r' < "$VM_LOG" | grep -aE "$pattern" >/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			echo "vm.sh: '$pattern' not seen on the console" >&2
			return 1
		fi
		if [ -n "$VM_PID" ] && ! kill -0 "$VM_PID" 2>/dev/null; then
			echo "vm.sh: the VM ended before '$pattern'" >&2
			return 1
		fi
		sleep 0.2
	done
}

# vm_host_pattern: print the path of tests/guest/pattern.c built for the
# host (to check backing files directly).
vm_host_pattern() {
	local src=$VSSD_ROOT/tests/guest/pattern.c
	local bin=$VSSD_ROOT/build/guest/image-bin/pattern
	if [ -x "$bin" ] && [ ! "$src" -nt "$bin" ]; then
		echo "$bin"
		return 0
	fi
	vm_tmpdir
	gcc -O2 -o "$VM_TMP/pattern-host" "$src" >&2 || return 1
	echo "$VM_TMP/pattern-host"
}

# vm_log_clean [LOG]: fail (and show the lines) if the console shows a
# kernel bug: init's "vssd.dmesg:" report or an oops printed directly.
vm_log_clean() {
	local log=${1:-$VM_LOG} bad
	bad=$(tr -d '\r' < "$log" | grep -aE 'vssd\.dmesg:|BUG:|Oops|WARNING:|Kernel panic|general protection|soft lockup|blocked for more than|rcu_.*detected stall')
	if [ -n "$bad" ]; then
		echo "$bad" | head -n 20 | sed 's/^/vm.sh: kernel: /' >&2
		return 1
	fi
}

# vm_report_checks NAME: one result per "vssd.check ok|fail CHECK" line
# the guest printed (tests/guest/check.sh), named "NAME: CHECK".
vm_report_checks() {
	local name=$1 verdict check plan ran=0
	while read -r verdict check; do
		ran=$((ran + 1))
		if [ "$verdict" = ok ]; then
			t_ok "$name: $check"
		else
			t_fail "$name: $check"
		fi
	done < <(tr -d '\r' < "$VM_LOG" | sed -n 's/^.*vssd\.check \(ok\|fail\) \(.*\)$/\1 \2/p')
	plan=$(tr -d '\r' < "$VM_LOG" | sed -n 's/^.*vssd\.plan \([0-9]*\)$/\1/p' |
		awk '{ n += $1 } END { if (NR) print n }')
	if [ -z "$plan" ]; then
		t_fail "$name: the guest's plan" "the guest script declared no plan (plan; $ran checks ran)"
	elif [ "$plan" != "$ran" ]; then
		t_fail "$name: the guest's plan" "$plan checks planned, $ran ran"
	else
		t_ok "$name: the guest ran its plan of $plan checks"
	fi
	T_GUEST=$((T_GUEST + ran + 1))
}

# vm__results NAME RC: the guest's checks, then one result for its exit
# status RC and one for a clean kernel log; returns RC.
vm__results() {
	local name=$1 rc=$2
	vm_report_checks "$name"
	if [ "$rc" = 0 ]; then
		t_ok "$name: guest script succeeded"
	else
		t_fail "$name: guest script succeeded" "exit $rc, log $VM_LOG"
	fi
	if vm_log_clean; then
		t_ok "$name: no kernel bug reported"
	else
		t_fail "$name: no kernel bug reported"
	fi
	return "$rc"
}

vm_run() {
	local name=$1 rc
	shift
	vm_boot "$@"
	rc=$?
	vm__results "$name" "$rc"
}

# vm_finish NAME: after vm_start, wait for the guest, then the results
# vm_run reports.
vm_finish() {
	local rc
	vm_wait
	rc=$?
	vm__results "$1" "$rc"
}

# vm_alloc_bytes FILE: bytes of host storage allocated to FILE.
vm_alloc_bytes() {
	echo $(( $(stat -c '%b' "$1") * $(stat -c '%B' "$1") ))
}

# vm_log_grep PATTERN [LOG]: the console (without CRs) matches PATTERN.
vm_log_grep() {
	tr -d '\r' < "${2:-$VM_LOG}" | grep -aE "$1" >/dev/null
}
