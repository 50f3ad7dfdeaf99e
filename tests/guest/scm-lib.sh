# SPDX-License-Identifier: GPL-2.0-or-later
#
# scm-lib.sh — guest helpers of the /dev/scm tests (busybox sh), sourced
# after /test/check.sh. tests/lib/scm.sh (scm_files) ships it as
# /test/scm-lib.sh together with one OCI config per container,
# /test/ct/NAME.json (generated on the host from `runc spec`).
#
# Containers (runc, OCI bundles over a busybox rootfs):
#   ct_init             build the base rootfs /ctroot/base once: busybox and
#                       its applet links, scmtest, scm-bad, scm-txcrash, and
#                       scm-demo and scmctl when present
#   ct_bundle NAME      the bundle /ctroot/NAME (config + rootfs hard links)
#   ct_run NAME CMDS    start container NAME running the shell commands
#                       CMDS (`runc run --no-pivot`), wait, return their
#                       status; output goes to the console as "[NAME] ..."
#   ct_run_keep NAME CMDS   the same with --keep (the stopped container
#                       stays until ct_delete NAME)
#   ct_delete NAME      runc delete
#   ct_start NAME CMDS  start it in the background; $CT_PID is the runc
#                       process; ct_wait NAME returns the status
#   (the output of the last run of NAME is also in /tmp/ct-NAME.out)
#   ct_unshare NAME CMDS    a plain container: a cgroup v2 group /NAME and
#                       util-linux unshare (mount, pid, uts, ipc, cgroup)
#   ct_unshare_start NAME CMDS / ct_wait NAME   the same in the background
# Inside a container the commands can use /ct/check.sh (check, check_fails,
# check_done; results are printed as "vssd.check ..." lines) and $CT_NAME.
#
# Regions:
#   scm_regions TAG     print /proc/scm/regions between markers the host
#                       reads (tests/lib/scm.py regions LOG TAG)
#   scm_region NAME COL a column of region NAME in /proc/scm/regions
#                       (owner, size, used, offset); empty when missing
#   scm_has_region NAME
#   sst KEY             a value of /proc/vssd/vssd0/status
#   step NAME           print "vssd.step NAME" (the host waits for it)
#   told WORD / wait_told WORD [S]   the host wrote WORD into the mailbox
#                       disk /dev/vda (tests/lib/scm.sh scm_mailbox)
#
# With $SCM_DEFAULT_SIZE set (vm_boot --env), new regions get that size
# (the driver's scm_default_size parameter).

if [ -n "${SCM_DEFAULT_SIZE:-}" ]; then
	echo "$SCM_DEFAULT_SIZE" > /sys/module/virtio_vssd/parameters/scm_default_size ||
		echo "scm-lib: cannot set scm_default_size"
fi

CT_ROOT=/ctroot
CT_SHARE=/ctshare
CT_PID=

ct_init() {
	local b=$CT_ROOT/base a p d
	[ -d "$b" ] && return 0
	mkdir -p "$b/bin" "$b/dev" "$b/proc" "$b/sys" "$b/tmp" "$b/etc" \
		"$b/root" "$b/ct" "$b/run" "$CT_SHARE" || return 1
	chmod 1777 "$b/tmp"
	# same file system as /: hard links cost nothing
	cp -l /bin/busybox "$b/bin/busybox" 2>/dev/null || cp /bin/busybox "$b/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -s busybox "$b/bin/$a"
	done
	cp /usr/bin/scmtest "$b/bin/scmtest" || return 1
	for a in scm-bad scm-txcrash; do
		[ -x "/usr/bin/$a" ] && cp "/usr/bin/$a" "$b/bin/$a"
	done
	for a in scm-demo scmctl; do
		p=$(command -v "$a" 2>/dev/null) || continue
		cp "$p" "$b/bin/$a"
		# a tool that does not run in the bare rootfs (dynamically linked)
		# takes the guest's libraries along
		if ! chroot "$b" "/bin/$a" --help >/dev/null 2>&1 && [ ! -d "$b/lib" ]; then
			for d in /lib /lib64 /usr/lib /usr/local/lib; do
				[ -d "$d" ] || continue
				mkdir -p "$b$(dirname "$d")"
				cp -a "$d" "$b$d"
			done
			rm -rf "$b/lib/modules"
			[ -f /etc/ld.so.conf ] && cp /etc/ld.so.conf "$b/etc/"
		fi
	done
	echo "root:x:0:0:root:/root:/bin/sh" > "$b/etc/passwd"
	echo "root:x:0:" > "$b/etc/group"
	cp /test/check.sh "$CT_SHARE/check.sh"
	: > "$CT_SHARE/env.sh"
}

ct_bundle() {
	local d=$CT_ROOT/$1
	ct_init || return 1
	[ -f "/test/ct/$1.json" ] || { echo "scm-lib: no /test/ct/$1.json"; return 1; }
	mkdir -p "$d"
	cp "/test/ct/$1.json" "$d/config.json"
	[ -d "$d/rootfs" ] || cp -al "$CT_ROOT/base" "$d/rootfs" 2>/dev/null ||
		cp -a "$CT_ROOT/base" "$d/rootfs"
}

# The job of container $1: /ctshare/$1.sh (its /ct/$1.sh); $CT_DIR is
# where the job finds check.sh and env.sh (/ct in a runc container, the
# guest's /ctshare in a plain one).
ct__job() {
	{
		echo "if [ -f /ct/check.sh ]; then CT_DIR=/ct; else CT_DIR=$CT_SHARE; fi"
		echo 'CT_NAME=${CT_NAME:-$1}; export CT_NAME CT_DIR; cd /'
		echo '. "$CT_DIR/env.sh"'
		echo "$2"
	} > "$CT_SHARE/$1.sh"
}

# ct__runc NAME [RUNC-RUN-OPTIONS]: run, prefix the output, keep the status.
ct__runc() {
	local name=$1
	shift
	{
		runc run --no-pivot "$@" --bundle "$CT_ROOT/$name" "$name" </dev/null 2>&1
		echo "$?" > "/tmp/ct-$name.rc"
	} | tee "/tmp/ct-$name.out" | sed "s/^/[$name] /"
	return "$(cat "/tmp/ct-$name.rc")"
}

ct_run() {
	ct_bundle "$1" || return 1
	ct__job "$1" "$2"
	ct__runc "$1"
}

ct_run_keep() {
	ct_bundle "$1" || return 1
	ct__job "$1" "$2"
	ct__runc "$1" --keep
}

ct_delete() {
	runc delete "$1"
}

ct_start() {
	ct_bundle "$1" || return 1
	ct__job "$1" "$2"
	rm -f "/tmp/ct-$1.rc"
	ct__runc "$1" &
	CT_PID=$!
	eval "CT_PID_$1=$CT_PID"
}

# ct_wait NAME: the status of a container started in the background.
ct_wait() {
	local pid
	eval "pid=\$CT_PID_$1"
	[ -n "$pid" ] && wait "$pid"
	[ -f "/tmp/ct-$1.rc" ] || return 255
	return "$(cat "/tmp/ct-$1.rc")"
}

# ct__unshare NAME: run the job of NAME in a cgroup /NAME and new
# namespaces (util-linux unshare, by full path: busybox's has no --cgroup).
ct__unshare() {
	local name=$1 cg=/sys/fs/cgroup/$1
	mkdir -p "$cg" || return 1
	{
		/bin/sh -c 'echo $$ > "$1/cgroup.procs" && exec /usr/bin/unshare --mount --pid --uts --ipc --cgroup \
			--fork --mount-proc /bin/sh "$3" "$2"' \
			sh "$cg" "$name" "$CT_SHARE/$name.sh" </dev/null 2>&1
		echo "$?" > "/tmp/ct-$name.rc"
	} | sed "s/^/[$name] /"
	rmdir "$cg" 2>/dev/null
	return "$(cat "/tmp/ct-$name.rc")"
}

ct_unshare() {
	ct_init || return 1
	ct__job "$1" "$2"
	ct__unshare "$1"
}

ct_unshare_start() {
	ct_init || return 1
	ct__job "$1" "$2"
	rm -f "/tmp/ct-$1.rc"
	ct__unshare "$1" &
	CT_PID=$!
	eval "CT_PID_$1=$CT_PID"
}

scm_regions() {
	echo "scm.regions $1 begin"
	cat /proc/scm/regions
	echo "scm.regions $1 end"
}

scm_region() {
	awk -v n="$1" -v c="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == n { print $col[c]; exit }' /proc/scm/regions
}

scm_has_region() {
	[ -n "$(scm_region "$1" size)" ]
}

sst() {
	sed -n "s/^$1: *//p" /proc/vssd/vssd0/status
}

step() {
	echo "vssd.step $1"
}

told() {
	[ "$(dd if=/dev/vda bs=4096 count=1 iflag=direct 2>/dev/null | tr -d '\000' |
		head -n1 | sed 's/ *$//')" = "$1" ]
}

wait_told() {
	wait_for "${2:-120}" told "$1"
}
