#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The device through a real libvirt daemon: a transient domain runs our QEMU
# with the vSSD (added with <qemu:commandline>) and our guest with its
# driver bound; `virsh qemu-monitor-command` (QMP and --hmp) and `vssdctl
# --domain` report the same state and get the same errors, and each of
# them resizes the device: the guest driver follows (its console reports
# every change of its plugged size, tests/guest/resize-follow.sh).
. "$(dirname "$0")/../lib/vm.sh"
t_plan 32

vm_have_device || t_bail "QEMU with virtio-vssd, or the image with virtio_vssd.ko, is not built"
for need in libvirtd virsh; do
	command -v $need >/dev/null || t_bail "$need missing (scripts/deps.sh installs it)"
done
VSSDCTL=$VSSD_ROOT/build/bin/vssdctl
[ -x "$VSSDCTL" ] || t_bail "no $VSSDCTL (make vssdctl)"
[ "$(id -u)" = 0 ] || t_bail "needs root to start libvirtd"

# every call of virsh ends: a wedged daemon fails the test, it does not hang it
virsh() {
	timeout --kill-after=10 120 virsh "$@"
}

vm_tmpdir
chmod 755 "$VM_TMP"
export LIBVIRT_DEFAULT_URI=qemu:///system
DOM=vssd-e2e-$$
daemon_pid=
made_conf=no

lv_cleanup() {
	virsh destroy "$DOM" >/dev/null 2>&1
	virsh undefine "$DOM" >/dev/null 2>&1
	if [ -n "$daemon_pid" ]; then
		kill "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
		rm -rf /run/libvirt
		rmdir /sys/fs/cgroup/machine.slice/* /sys/fs/cgroup/machine.slice \
			2>/dev/null
	fi
	[ $made_conf = yes ] && rm -f /etc/libvirt/qemu.conf
	vm__cleanup
}
trap lv_cleanup EXIT

# A libvirtd of our own unless one already answers (ENVIRONMENT.md).
if ! virsh list >/dev/null 2>&1; then
	getent passwd libvirt-qemu >/dev/null ||
		useradd -r -U -M -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
	mkdir -p /var/log/libvirt
	if [ ! -e /etc/libvirt/qemu.conf ]; then
		printf 'user = "root"\ngroup = "root"\nstdio_handler = "file"\n' \
			> /etc/libvirt/qemu.conf
		made_conf=yes
	fi
	libvirtd --pid-file="$VM_TMP/libvirtd.pid" > "$VM_TMP/libvirtd.log" 2>&1 &
	daemon_pid=$!
	for _ in $(seq 300); do
		virsh list >/dev/null 2>&1 && break
		sleep 0.1
	done
fi
t_check "libvirtd answers" virsh list

# Guest: the image plus a script that stays up; QEMU through a wrapper that
# adds the firmware paths libvirt does not pass.
img=$VM_TMP/vssd.img
truncate -s 64M "$img"
mkdir -p "$VM_TMP/extra/test"
install -m 0755 "$VSSD_ROOT/tests/guest/resize-follow.sh" "$VM_TMP/extra/test/run.sh"
vm_append_cpio "$VSSD_INITRD" "$VM_TMP/extra" "$VM_TMP/initrd" || t_bail "initrd"
printf '#!/bin/sh\nexec "%s" -L /usr/share/seabios -L /usr/share/qemu "$@"\n' \
	"$VSSD_QEMU" > "$VM_TMP/qemu"
chmod 755 "$VM_TMP/qemu"
console=$VM_TMP/console.log
# The domain is the README's (between its domain-xml markers), with only
# what this machine needs changed: the name, kvm -> qemu (TCG),
# the emulator, the vSSD's backing files, the test kernel booted instead of
# the disk (an empty raw file stands in for the qcow2), the serial console
# in a file. The vSSD's <qemu:commandline> is used as it stands.
pmem=$VM_TMP/vssd.pmem
truncate -s 256M "$pmem"
truncate -s 64M "$VM_TMP/root.img"
# TCG like every other test here (a /dev/kvm node may exist without
# working virtualization behind it)
domtype=qemu
sed -n '/<!-- domain-xml begin -->/,/<!-- domain-xml end -->/p' "$VSSD_ROOT/README.md" |
	sed '/^<!--/d; /^```/d' > "$VM_TMP/readme.xml"
grep -q "<qemu:arg value='virtio-vssd-pci,id=vssd0,drive=vssd-disk,memdev=vssd-pm,bus=pci.0,addr=0x10'/>" "$VM_TMP/readme.xml" ||
	t_bail "README.md has no domain XML with the vSSD between its domain-xml markers"
sed -e "s|<domain type='kvm'|<domain type='$domtype'|" \
	-e "s|<name>vm1</name>|<name>$DOM</name>|" \
	-e "s|/usr/local/bin/qemu-system-x86_64|$VM_TMP/qemu|" \
	-e "s|/var/lib/libvirt/images/vm1-vssd.img|$img|" \
	-e "s|/var/lib/libvirt/images/vm1-vssd.pmem|$pmem|" \
	-e "s|<driver name='qemu' type='qcow2'/>|<driver name='qemu' type='raw'/>|" \
	-e "s|/var/lib/libvirt/images/vm1.qcow2|$VM_TMP/root.img|" \
	-e "s|<boot dev='hd'/>|<kernel>$VSSD_KERNEL</kernel><initrd>$VM_TMP/initrd</initrd><cmdline>console=ttyS0 panic=-1 loglevel=5 no_timer_check softlockup_all_cpu_backtrace=1 vssd.run=/test/run.sh</cmdline>|" \
	-e "s|<serial type='pty'/>|<serial type='file'><source path='$console'/></serial>|" \
	-e "/<console type='pty'\/>/d" \
	"$VM_TMP/readme.xml" > "$VM_TMP/dom.xml"
sed 's/^/# /' "$VM_TMP/dom.xml"
virsh define "$VM_TMP/dom.xml" > "$VM_TMP/create.log" 2>&1 ||
	t_bail "virsh define of the README's domain: $(cat "$VM_TMP/create.log")"
virsh start "$DOM" > "$VM_TMP/start.log" 2>&1 ||
	t_bail "virsh start: $(cat "$VM_TMP/start.log")"
t_ok "the README's domain with the vSSD defined and started"

VM_LOG=$console
VM_PID=
vm_wait_log 'vssd.idle: ready' 120 && t_ok "guest driver bound /dev/vssd0" ||
	t_bail "the guest did not come up: $(tail -c 800 "$console")"

mon() { virsh qemu-monitor-command "$DOM" --return-value "$1"; }
# qmp JSON: the plain form prints QMP's whole answer, errors included.
qmp() { virsh qemu-monitor-command "$DOM" "$1" 2>&1; }
hmp() { virsh qemu-monitor-command "$DOM" --hmp "$1" 2>&1; }
# field NAME: NAME of the block region as libvirt's QMP path reports it.
field() {
	mon '{"execute":"query-ssd-balloon"}' | python3 -c '
import json, sys
r = json.load(sys.stdin)
print([e for e in r if e["region"] == "block"][0][sys.argv[1]])' "$1"
}
balloon() {
	printf '{"execute":"ssd-balloon","arguments":{"device":"%s","size":%s}}' "$1" "$2"
}

t_check "query-ssd-balloon through virsh: max-size 64 MiB" test "$(field max-size)" = 67108864
t_check "query-ssd-balloon through virsh: all plugged" test "$(field size)" = 67108864
"$VSSDCTL" --domain "$DOM" status --json > "$VM_TMP/status.json"
t_check "vssdctl --domain status reports the same sizes" python3 -c '
import json, sys
s = json.dumps(json.load(open(sys.argv[1])))
sys.exit(0 if "67108864" in s and "vssd0" in s else 1)' "$VM_TMP/status.json"
t_check "HMP info ssd_balloon through virsh lists vssd0" grep -q vssd0 <(hmp 'info ssd_balloon')

# Argument errors come back through libvirt with QMP's message.
t_check "above the maximum: refused, message says so" \
	grep -qi 'above' <(qmp "$(balloon vssd0 134217728)")
t_check "unknown device: message names it" grep -q "nosuch" <(qmp "$(balloon nosuch 0)")
t_check "not a multiple of the block size: refused" \
	grep -qi 'multiple' <(qmp "$(balloon vssd0 1000)")
t_check "negative size: refused" grep -qi 'negative' <(qmp "$(balloon vssd0 -1048576)")
t_check "--return-value form exits non-zero on a QMP error" \
	sh -c "! virsh qemu-monitor-command '$DOM' --return-value '$(balloon vssd0 134217728)' >/dev/null 2>&1"
t_check "vssdctl --domain: bad size is one error line, non-zero exit" \
	sh -c "! '$VSSDCTL' --domain '$DOM' resize vssd0 12Q 2>&1 | grep -qv '^vssdctl: '"

t_check "refused requests changed nothing" test "$(field requested-size)" = 67108864

# size_is BYTES: libvirt's QMP path reports BYTES plugged and requested,
# idle, within a minute.
size_is() {
	local i
	for i in $(seq 300); do
		[ "$(field size) $(field requested-size) $(field status)" = "$1 $1 idle" ] && return 0
		sleep 0.2
	done
	return 1
}
# guest_has BYTES: the guest console reported BYTES plugged.
guest_has() { vm_wait_log "vssd\.plugged $1 " 60; }

# The three ways to resize through libvirt; the guest driver gives back
# (or takes) the blocks each time.
t_check "QMP ssd-balloon through virsh (no id): accepted" \
	grep -q '"return":{}' <(qmp "$(balloon vssd0 50331648)")
t_check "... the device reaches 48 MiB" size_is 50331648
t_check "... the guest driver has 48 MiB plugged" guest_has 50331648
t_check "HMP ssd_balloon vssd0 40M through virsh: no error" \
	test -z "$(hmp 'ssd_balloon vssd0 40M' | tr -d '[:space:]')"
t_check "... the device reaches 40 MiB" size_is 41943040
t_check "... the guest driver has 40 MiB plugged" guest_has 41943040
"$VSSDCTL" --domain "$DOM" resize vssd0 32M --wait > "$VM_TMP/vs.out" 2> "$VM_TMP/vs.err"
rc=$?
t_check "vssdctl --domain resize vssd0 32M --wait: exit 0" test $rc = 0
t_check "... prints one line '40M -> 32M'" \
	sh -c "test \$(wc -l < '$VM_TMP/vs.out') = 1 && grep -q '^vssd0 block: 40M -> 32M in ' '$VM_TMP/vs.out'"
t_check "... the device is at 32 MiB when it returns" \
	test "$(field size) $(field requested-size) $(field status)" = "33554432 33554432 idle"
t_check "... the guest driver has 32 MiB plugged" guest_has 33554432

# The same state on every path.
mon '{"execute":"query-ssd-balloon"}' > "$VM_TMP/virsh.json"
hmp 'info ssd_balloon' > "$VM_TMP/hmp.txt"
"$VSSDCTL" --domain "$DOM" status --json > "$VM_TMP/status.json"
sed "s/^/# /" "$VM_TMP/hmp.txt"
t_check "virsh QMP: size 32 MiB, 32 blocks evicted, none granted, no refusal" python3 -c '
import json, sys
e = [e for e in json.load(open(sys.argv[1])) if e["region"] == "block"][0]
sys.exit(0 if (e["size"], e["requested-size"], e["blocks-evicted"],
               e["blocks-granted"], e["replies-refused"]) == (33554432, 33554432, 32, 0, 0) else 1)' \
	"$VM_TMP/virsh.json"
t_check "HMP info ssd_balloon reports the same" grep -qE \
	'vssd0 .*size 33554432 requested-size 33554432 max-size 67108864 .*status idle' "$VM_TMP/hmp.txt"
t_check "... and the same counters" grep -qE 'blocks-evicted 32 blocks-granted 0 ' "$VM_TMP/hmp.txt"
t_check "vssdctl --domain status --json is query-ssd-balloon's reply" python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
strip = lambda l: [{k: v for k, v in e.items() if k != "last-resize-ms"} for e in l]
sys.exit(0 if strip(a) == strip(b) else 1)' "$VM_TMP/virsh.json" "$VM_TMP/status.json"
t_check "vssdctl --domain status: one row with 32M of 64M, idle" \
	grep -qE '^vssd0 +block +1M +64M +32M +32M +idle' <("$VSSDCTL" --domain "$DOM" status)

# Grow back through vssdctl: the guest takes every block again.
"$VSSDCTL" --domain "$DOM" resize vssd0 64M --wait > "$VM_TMP/vs.out" 2>&1
t_check "vssdctl --domain resize vssd0 64M --wait: exit 0" test $? = 0
sed "s/^/# /" "$VM_TMP/vs.out"
t_check "... the guest driver has all 64 MiB, map 0-63" vm_wait_log 'vssd\.plugged 67108864 0-63$' 60
t_check "... 32 blocks granted" test "$(field blocks-granted)" = 32
t_done
