#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Which /dev/scm region a process gets (include/uapi/linux/vssd_scm.h),
# with the cgroup layouts that real runtimes make, under real runc in the
# guest: Docker's cgroupfs and systemd layouts, podman, Kubernetes
# (cgroupfs and systemd; two containers of one pod, two pods), rootless
# podman under user@1000.service, a privileged container named host, LXC's
# layout, a container the OCI hook binds; and plain cgroups for what no
# runtime starts (a login session, the user manager, names the old rule
# folded). Every pair is checked by data (each writes its pattern, each
# still reads only its own after all wrote) and by error codes
# (descriptors carried into another cgroup, admin ioctls, bindings,
# images, hostile OCI annotations, quotas, cgroup v1). The guest half is
# tests/guest/scm-identity.sh.
. "$(dirname "$0")/../lib/vm.sh"
. "$VSSD_ROOT/tests/lib/scm.sh"
t_plan 5

hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
ID1=$(hex 32) ID2=$(hex 32) ID3=$(hex 32) ID4=$(hex 32) ID5=$(hex 32)
POD1=$(hex 8) POD2=$(hex 8) POD3=$(hex 8)
C1=$(hex 32) C2=$(hex 32) C3=$(hex 32) C4=$(hex 32) C5=$(hex 32)
SEED0=$(( (RANDOM << 15 | RANDOM) + 1 ))

scm_need
vm_tmpdir
scm_files web kc@img || t_bail "cannot make the OCI bundles"
nb=--no-bind
scm_bundle d1 $nb --cgroups-path "/docker/$ID1" &&
	scm_bundle d2 $nb --cgroups-path "/docker/$ID2" &&
	scm_bundle ds $nb --cgroups-path "/system.slice/docker-$ID3.scope" &&
	scm_bundle pm $nb --cgroups-path "/machine.slice/libpod-$ID4.scope" &&
	scm_bundle k1a $nb --cgroups-path "/kubepods/burstable/pod$POD1/$C1" &&
	scm_bundle k1b $nb --cgroups-path "/kubepods/burstable/pod$POD1/$C2" &&
	scm_bundle k2 $nb --cgroups-path "/kubepods/besteffort/pod$POD2/$C3" &&
	scm_bundle ks1 $nb --cgroups-path "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod$POD3.slice/cri-containerd-$C4.scope" &&
	scm_bundle ks2 $nb --cgroups-path "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod$POD3.slice/cri-containerd-$C5.scope" &&
	scm_bundle rl $nb --uid 1000 --cgroups-path "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-$ID5.scope" &&
	scm_bundle hn $nb --admin-caps --cgroups-path /host &&
	scm_bundle lx $nb --cgroups-path /lxc.payload.host &&
	scm_bundle evil2 --image-hook img "--annotation=org.vssd.scm.region=/docker/$ID1" ||
	t_bail "cannot make the OCI bundles"
# hostile source: d1's region by the name the kernel gives it (hashed path)
d1_name="#$(printf '/docker/%s' "$ID1" | sha256sum | cut -c 1-32)"
scm_bundle evil --image-hook "$d1_name" || t_bail "cannot make the OCI bundles"
pmem=$VM_TMP/pmem.img
scm_args "$VM_TMP/disk.img" "$pmem"

vm_run "guest" --append "$SCM_APPEND" --script "$VSSD_ROOT/tests/guest/scm-identity.sh" \
	--files "$SCM_FILES" --timeout 400 --env SCM_DEFAULT_SIZE=$((1 << 20)) --env SEED0="$SEED0" \
	--env IDS="$ID1 $ID2 $ID3 $ID4 $ID5 $POD1 $POD2 $POD3 $C1 $C2 $C3 $C4 $C5" -- "${VSSD_ARGS[@]}"
t_check "the guest named d1's region by the hash of its path" \
	eval "vm_log_grep 'identity d1 -> region .$d1_name.'"

# The host file: the two docker containers' regions hold their own patterns.
for n in d1:1 d2:2; do
	name=$(tr -d '\r' < "$VM_LOG" | sed -n "s/^scm: identity ${n%%:*} -> region '\(.*\)'$/\1/p" | tail -n1)
	scm_host_pattern final "$name" $((SEED0 + ${n#*:})) "$pmem" "${n%%:*}'s region ($name)"
done
t_done
