#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# vssdctl --domain against a real libvirtd and a transient TCG domain
# (ENVIRONMENT.md, libvirt section).  Opt-in, as it touches the system:
#   make -C qmp-tools check-libvirt      (or VSSD_TEST_LIBVIRT=1 make check)
# Uses a libvirtd that already answers on qemu:///system, else starts one
# (root only) and stops it afterwards; creates /etc/libvirt/qemu.conf
# only when absent, and removes what it created.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"

# every call of virsh ends: a wedged daemon fails the test, it does not hang it
virsh() {
	timeout 120 virsh "$@"
}
QEMU=${VSSD_QEMU:-$ROOT/build/qemu/qemu-system-x86_64}
URI=qemu:///system
export LIBVIRT_DEFAULT_URI=$URI
for need in libvirtd virsh; do
	if ! command -v $need >/dev/null; then
		skip "libvirt tests: $need missing (scripts/deps.sh installs it)"
		exit 0
	fi
done
if [ ! -x "$QEMU" ]; then
	skip "libvirt tests: no $QEMU (build it, or set VSSD_QEMU)"
	exit 0
fi
T=$(mktemp -d /tmp/vssdctl-lv.XXXXXX)
chmod 755 "$T"
DOM=vssdctl-test-$$
started_daemon=no made_conf=no
cleanup() {
	virsh destroy "$DOM" >/dev/null 2>&1
	if [ $started_daemon = yes ]; then
		kill "$(cat "$T/daemon.pid")" 2>/dev/null
		i=0
		while kill -0 "$(cat "$T/daemon.pid")" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		rm -rf /run/libvirt
		rmdir /sys/fs/cgroup/machine.slice/* /sys/fs/cgroup/machine.slice \
			/sys/fs/cgroup/machine 2>/dev/null
	fi
	[ $made_conf = yes ] && rm -f /etc/libvirt/qemu.conf
	rm -rf "$T"
}
trap cleanup EXIT

if ! virsh list >/dev/null 2>&1; then
	if [ "$(id -u)" != 0 ]; then
		skip "libvirt tests: no libvirtd running and not root"
		exit 0
	fi
	getent passwd libvirt-qemu >/dev/null ||
		useradd -r -U -M -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
	mkdir -p /var/log/libvirt
	if [ ! -e /etc/libvirt/qemu.conf ]; then
		printf 'user = "root"\ngroup = "root"\nstdio_handler = "file"\n' \
			>/etc/libvirt/qemu.conf
		made_conf=yes
	fi
	libvirtd --pid-file="$T/libvirtd.pid" >"$T/libvirtd.log" 2>&1 &
	echo $! >"$T/daemon.pid"
	started_daemon=yes
	i=0
	until virsh list >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 300 ]; then
			fail "libvirtd did not come up: $(tail -c 500 "$T/libvirtd.log")"
			exit 1
		fi
		sleep 0.1
	done
fi

# libvirt passes no -L: point QEMU at the firmware packages.
printf '#!/bin/sh\nexec "%s" -L /usr/share/seabios -L /usr/share/qemu "$@"\n' \
	"$QEMU" >"$T/qemu"
chmod 755 "$T/qemu"
cat >"$T/dom.xml" <<XML
<domain type='qemu'>
  <name>$DOM</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/></features>
  <devices>
    <emulator>$T/qemu</emulator>
    <serial type='file'><source path='$T/console.log'/></serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
XML
if ! virsh create "$T/dom.xml" >"$T/create.log" 2>&1; then
	fail "virsh create: $(cat "$T/create.log")"
	exit 1
fi
V="--domain $DOM"

expect_ok "libvirt: qmp query-status" '"running": true' -- $V qmp query-status
vs $V qmp query-commands
if grep -q '"query-ssd-balloon"' "$T/out"; then
	expect_error "libvirt: status without the device" 1 'no vssd devices' -- $V status
else
	expect_error "libvirt: status without ssd-balloon" 1 \
		'query-ssd-balloon has not been found' -- $V status
fi
expect_error "libvirt: QMP error desc" 1 "^vssdctl: Device 'nope' not found$" -- \
	$V qmp device_del '{"id": "nope"}'
expect_error "libvirt: unknown domain" 1 "domain 'no-such-domain' not found" -- \
	--domain no-such-domain status

watch_start 60 $V watch --all --count 2 --timeout 30
sleep 1
virsh suspend "$DOM" >/dev/null
virsh resume "$DOM" >/dev/null
watch_end
if [ $WRC -eq 0 ] && watch_printed ' STOP$' ' RESUME$'; then
	pass "libvirt: watch --all sees STOP then RESUME"
else
	fail "libvirt: watch (exit $WRC): $(cat "$T/watch" "$T/watch.err")"
fi
expect_quiet "libvirt: watch --timeout ends quietly" -- $V watch --timeout 1

# A QEMU that stops answering: the command gives up after --reply-timeout.
qpid=$(cat "/run/libvirt/qemu/$DOM.pid" 2>/dev/null)
if [ -n "$qpid" ] && kill -STOP "$qpid"; then
	start_clock
	expect_error "libvirt: a hung monitor times out" 1 "no reply to 'query-status' from libvirt within 2 s" -- \
		$V --reply-timeout 2 qmp query-status
	took_at_most 6 "libvirt: hung monitor"
	kill -CONT "$qpid"
	sleep 1
else
	skip "libvirt: hung monitor: no QEMU pid file for $DOM"
fi

watch_start 60 $V watch --all
sleep 1
virsh destroy "$DOM" >/dev/null
watch_end
if [ $WRC -eq 1 ] && one_error_line "$T/watch.err" &&
   grep -q '^vssdctl: the domain stopped' "$T/watch.err"; then
	pass "libvirt: watch ends with one error line when the domain stops"
else
	fail "libvirt: watch across destroy (exit $WRC): $(cat "$T/watch" "$T/watch.err")"
fi
expect_error "libvirt: domain not running any more" 1 "domain '$DOM' not found|not running" -- $V status
exit "$failures"
