# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of tests/e2e/scm-identity.sh (busybox sh): which /dev/scm
# region a process gets, with the cgroup layouts real runtimes make.
# Containers of a runtime run under real runc (OCI configs made on the host:
# docker cgroupfs and systemd layouts, podman, Kubernetes cgroupfs and
# systemd, rootless podman, a privileged container named host, LXC's
# layout, a bound container); processes that no runtime starts (login
# sessions, the user manager, cgroups whose names the old rule folded) are
# placed in plain cgroups by hand. Every one writes its own pattern; at the
# end every one still reads its own, so no two share a region, and their
# names differ. Then descriptors carried into another cgroup, the admin
# ioctls, bindings, images and the OCI hook against hostile annotations,
# the quotas, and a guest with cgroup v1 controllers.
# Environment: IDS (docker-style ids, pod uids), SEED0.
. /test/check.sh
. /test/scm-lib.sh
plan 105

CG=/sys/fs/cgroup
set -- $IDS
ID1=$1 ID2=$2 ID3=$3 ID4=$4 ID5=$5 POD1=$6 POD2=$7 POD3=$8 C1=$9
shift 9
C2=$1 C3=$2 C4=$3 C5=$4
LONG=$(printf 'l%.0s' $(seq 70))

# Every identity: NAME KIND WHERE. KIND runc (WHERE unused: the bundle has
# the cgroup path) or plain (WHERE: the cgroup, the process runs as root in
# new PID and mount namespaces: a container without a cgroup namespace) or
# user (WHERE: the cgroup, uid 1000 without capabilities, no namespaces).
IDENTS="
d1 runc -
d2 runc -
ds runc -
pm runc -
k1a runc -
k1b runc -
k2 runc -
ks1 runc -
ks2 runc -
rl runc -
hn runc -
lx runc -
web runc -
sess user /user.slice/user-1000.slice/session-3.scope
usvc user /user.slice/user-1000.slice/user@1000.service/init.scope
fa plain /ct_a
fb plain /ct+a
fc plain /docker-x.scope
fd plain /x
fe plain /lxc.payload.q
ff plain /q
fg plain /${LONG}1
fh plain /${LONG}2
"

seed_of() {
	echo $((SEED0 + $(echo "$IDENTS" | awk -v n="$1" 'NF { i++ } $1 == n { print i }')))
}

# as NAME CMDS: run the shell commands CMDS as identity NAME.
as() {
	local name=$1 cmds=$2 kind where
	kind=$(echo "$IDENTS" | awk -v n="$name" '$1 == n { print $2 }')
	where=$(echo "$IDENTS" | awk -v n="$name" '$1 == n { print $3 }')
	case $kind in
	runc)
		ct_run "$name" "$cmds"
		;;
	plain)
		mkdir -p "$CG$where" || return 1
		sh -c 'echo $$ > "$1/cgroup.procs" && exec /usr/bin/unshare --pid --fork --mount --mount-proc sh -c "$2"' \
			sh "$CG$where" "$cmds"
		;;
	user)
		mkdir -p "$CG$where" || return 1
		sh -c 'echo $$ > "$1/cgroup.procs" && exec /usr/bin/setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all sh -c "$2"' \
			sh "$CG$where" "$cmds"
		;;
	*)
		echo "scm-identity: no identity $name"
		return 1
		;;
	esac
}

# write_own NAME: NAME writes its pattern; its region name goes to
# /tmp/name.NAME.
write_own() {
	local seed
	seed=$(seed_of "$1")
	as "$1" "scmtest info && scmtest write $seed && scmtest verify $seed" > "/tmp/out.$1" 2>&1
	set -- "$1" $?
	cat "/tmp/out.$1"
	sed -n 's/.*scmtest: info name=\([^ ]*\) .*/\1/p' "/tmp/out.$1" | tail -n 1 > "/tmp/name.$1"
	return "$2"
}

name_of() {
	cat "/tmp/name.$1"
}

SEED_HOST=$((SEED0 + 999))
check "the host writes its own pattern" scmtest write "$SEED_HOST"

# --- every identity: its own region, its own pattern --------------------------
: > /tmp/names
for n in $(echo "$IDENTS" | awk 'NF { print $1 }'); do
	check "$n: writes its own pattern" write_own "$n"
	echo "scm: identity $n -> region '$(name_of "$n")'"
	name_of "$n" >> /tmp/names
done
check "no identity got the host region" sh -c '! grep -qx host /tmp/names'
check "no identity got no region" sh -c '! grep -qx "" /tmp/names'
check "all $(grep -c . /tmp/names) identities got different regions" \
	sh -c '[ -z "$(sort /tmp/names | uniq -d)" ]'
scm_regions identities

check "docker cgroupfs: /docker/<id> is keyed by its whole path (hashed)" \
	sh -c "grep -q '^#[0-9a-f]\{32\}$' /tmp/names && [ \"$(name_of d1)\" != \"$(name_of d2)\" ]"
check "a container named host is not the host: /host" test "$(name_of hn)" = /host
check "LXC's host container: /lxc.payload.host" test "$(name_of lx)" = /lxc.payload.host
check "a login session's shell: its own session scope" \
	test "$(name_of sess)" = /user.slice/user-1000.slice/session-3.scope
check "the bound container web: region web" test "$(name_of web)" = web
check "names the old rule folded stay apart: /ct_a, /ct+a (hashed)" \
	sh -c "[ \"$(name_of fa)\" = /ct_a ] && [ \"$(name_of fb)\" != /ct_a ]"
check "names the old rule folded stay apart: /docker-x.scope, /x" \
	sh -c "[ \"$(name_of fc)\" = /docker-x.scope ] && [ \"$(name_of fd)\" = /x ]"

# --- pairwise: after all the writes, each still reads only its own ----------
for n in $(echo "$IDENTS" | awk 'NF { print $1 }'); do
	check "$n: its own pattern intact after every other identity wrote" \
		as "$n" "scmtest verify $(seed_of "$n")"
done
check "negative control: d1 does not read d2's pattern (exit 1)" \
	as d1 "scmtest verify $(seed_of d2); test \$? = 1"
check "negative control: the session does not read the user manager's pattern" \
	as sess "scmtest verify $(seed_of usvc); test \$? = 1"

# --- nested cgroups ---------------------------------------------------------
# with the cgroup namespace a runtime gives: the container's region
mkdir -p "$CG/docker/$ID1/sub"
check "nested: a process moved to /docker/<id1>/sub inside d1's cgroup namespace reads d1's pattern" \
	sh -c 'echo $$ > "$1/cgroup.procs" && exec /usr/bin/unshare --cgroup --pid --fork sh -c "
		echo \$\$ > $1/sub/cgroup.procs && grep -x 0::/sub /proc/self/cgroup && scmtest verify $2"' \
	sh "$CG/docker/$ID1" "$(seed_of d1)"
rmdir "$CG/docker/$ID1/sub"
# below a bound cgroup (runc removed /web when web stopped: bind a live one)
mkdir -p "$CG/webn/sub"
check "nested: bind webn to /webn" scmctl bind webn /webn
check "nested: below the bound cgroup /webn, in /webn/sub: region webn" \
	sh -c 'echo $$ > "$1/cgroup.procs" && exec /usr/bin/unshare --pid --fork scmtest info' \
	sh "$CG/webn/sub" | grep "name=webn "

# --- who gets nothing ---------------------------------------------------------
check "an unprivileged process in the root cgroup: open fails with EPERM" \
	/usr/bin/setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all scmtest open-fails 1
check "rootless container (uid 1000): admin ioctls refused" as rl "scmtest refusals"
check "privileged container named host: admin ioctls refused" as hn "scmtest refusals"
check "privileged container named host: scmctl delete of d1 refused" \
	as hn "scmctl delete '$(name_of d1)'; rc=\$?; [ \$rc -ne 0 ] && [ \$rc -ne 127 ]"
check "session shell: admin ioctls refused" as sess "scmtest refusals"

# --- a descriptor carried into another cgroup is useless there -------------
# (runc removed the containers' cgroups when they stopped: make them again)
mkdir -p "$CG/docker/$ID1" "$CG/docker/$ID2" "$CG/kubepods/burstable/pod$POD1/$C1" \
	"$CG/kubepods/burstable/pod$POD1/$C2"
check "d1's descriptor moved into d2's cgroup: EPERM for mmap, info, sync, fsync" \
	sh -c 'echo $$ > "$1/cgroup.procs" && exec /usr/bin/unshare --pid --fork scmtest foreign "$2"' \
	sh "$CG/docker/$ID1" "$CG/docker/$ID2"
check "k1a's descriptor moved into k1b's (same pod): EPERM" \
	sh -c 'echo $$ > "$1/cgroup.procs" && exec /usr/bin/unshare --pid --fork scmtest foreign "$2"' \
	sh "$CG/kubepods/burstable/pod$POD1/$C1" "$CG/kubepods/burstable/pod$POD1/$C2"
check "d1's descriptor carried into the root cgroup (no identity there): EPERM" \
	sh -c 'echo $$ > "$1/cgroup.procs" && exec /usr/bin/unshare --pid --fork scmtest foreign "$2"' \
	sh "$CG/docker/$ID1" "$CG"

# --- bindings ------------------------------------------------------------------
mkdir -p "$CG/web2"
check "bind: a name bound to a live cgroup is refused (EBUSY)" \
	sh -c "scmctl bind webn /web2; [ \$? = 1 ]"
check "bind: a cgroup bound already is refused (EBUSY)" \
	sh -c "scmctl bind other /webn; [ \$? = 1 ]"
check "bind: the root cgroup is refused" sh -c "scmctl bind r2 /; [ \$? -ne 0 ]"
check "bind: the name host is refused" sh -c "scmctl bind host /web2; [ \$? = 2 ]"
check "bind: a missing cgroup is refused" sh -c "scmctl bind r3 /no/such/cgroup; [ \$? = 1 ]"
check "unbind: a name that is not bound is refused" sh -c "scmctl unbind nobody; [ \$? = 1 ]"
check "bind: web2 to /web2, listed" sh -c "scmctl bind web2 /web2 2M && scmctl bindings | grep -q '^web2 2097152 /web2$'"
check "bind: a process of /web2 gets web2 with the bound size" sh -c '
	echo $$ > /sys/fs/cgroup/web2/cgroup.procs && exec /usr/bin/unshare --pid --fork scmtest info' |
	grep -q "name=web2 size=2097152 "
check "unbind web2" scmctl unbind web2
check "after unbind: /web2 gets its path-keyed region again" sh -c '
	echo $$ > /sys/fs/cgroup/web2/cgroup.procs && exec /usr/bin/unshare --pid --fork scmtest info' |
	grep -q "name=/web2 "
rmdir "$CG/web2"
check "unbind webn" scmctl unbind webn
rmdir "$CG/webn/sub" "$CG/webn"
check "/proc/scm/bindings is not readable by an unprivileged process" \
	/usr/bin/setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all sh -c '! cat /proc/scm/bindings'

# --- images and the OCI hook under runc ----------------------------------------
SEED_IMG=$((SEED0 + 1000)) SEED_KC=$((SEED0 + 1001))
mkdir -p "$CG/imgfill"
check "image img: created, filled through a binding, marked image" sh -c "
	scmctl create img 1M && scmctl bind img /imgfill &&
	sh -c 'echo \$\$ > /sys/fs/cgroup/imgfill/cgroup.procs && exec /usr/bin/unshare --pid --fork scmtest write $SEED_IMG' &&
	scmctl unbind img && scmctl image img on && scmctl list | grep -q '^img .* image$'"
rmdir "$CG/imgfill"
check "image: binding an image is refused" sh -c "mkdir -p $CG/i2 && scmctl bind img /i2; rc=\$?; rmdir $CG/i2; [ \$rc = 1 ]"
check "image: marking a bound region as image is refused" sh -c "scmctl image web on; [ \$? = 1 ]"
check "runc kc with the hook: starts with a copy of img" ct_run kc "
	scmtest info | grep -q 'name=kc ' && scmtest verify $SEED_IMG && scmtest write $SEED_KC"
check "runc kc restarted: keeps its own data (if-missing)" ct_run kc "scmtest verify $SEED_KC"
check "img untouched" sh -c "scmctl copy img imgcheck && scmctl image imgcheck on &&
	mkdir -p $CG/ic && scmctl image imgcheck off && scmctl bind imgcheck /ic &&
	sh -c 'echo \$\$ > $CG/ic/cgroup.procs && exec /usr/bin/unshare --pid --fork scmtest verify $SEED_IMG'; rc=\$?
	scmctl unbind imgcheck; rmdir $CG/ic; scmctl delete imgcheck; exit \$rc"
check_fails "runc evil: an annotation naming d1's region as the image is refused" \
	ct_run evil "scmtest info"
check "the refusal was logged by the hook" grep -q 'oci-hook-scm-copy: .*refused' /tmp/ct-evil.out
check "evil got no region" sh -c "! scmctl list | grep -q '^evil '"
check_fails "runc evil2: an annotation naming a target region is refused" \
	ct_run evil2 "scmtest info"
check "the refusal was logged by the hook" grep -q 'refused: annotation org.vssd.scm.region' /tmp/ct-evil2.out
check "scmctl copy --image-only from a container's region is refused" \
	sh -c "scmctl copy --image-only '$(name_of d1)' stolen; [ \$? = 1 ] && ! scmctl list | grep -q '^stolen '"
check "mark the container region /ct_a as an image" scmctl image /ct_a on
check "an image region: the container it was named after gets EACCES (info, mmap)" \
	as fa "scmtest use-fails 13"
check "unmark /ct_a" scmctl image /ct_a off
check "unmarked: /ct_a has its data back" as fa "scmtest verify $(seed_of fa)"

# --- quotas -----------------------------------------------------------------
P=/sys/module/virtio_vssd/parameters
echo 0 > $P/scm_implicit
mkdir -p "$CG/qz"
check "scm_implicit=0: a new unbound container gets ENOENT" sh -c '
	echo $$ > /sys/fs/cgroup/qz/cgroup.procs && exec /usr/bin/unshare --pid --fork scmtest use-fails 2'
echo 1 > $P/scm_implicit
nimp=$(grep -c ' implicit$' /proc/scm/regions)
echo "$nimp" > $P/scm_implicit_max
check "scm_implicit_max=$nimp (reached): a new unbound container gets EDQUOT" sh -c '
	echo $$ > /sys/fs/cgroup/qz/cgroup.procs && exec /usr/bin/unshare --pid --fork scmtest use-fails 122'
echo 32 > $P/scm_implicit_max
check "within the quota again: the container gets its region" sh -c '
	echo $$ > /sys/fs/cgroup/qz/cgroup.procs && exec /usr/bin/unshare --pid --fork scmtest info'
check "no region was made by the refused attempts but the last" test "$(grep -c '^/qz ' /proc/scm/regions)" = 1
rmdir "$CG/qz"
# uid 1000 (sess, usvc, rl) made 3; a user who can make cgroups (a
# delegated subtree) cannot take every implicit region
echo 3 > $P/scm_implicit_per_user
mkdir -p "$CG/user.slice/user-1000.slice/user@1000.service/app.slice/many.scope"
check "scm_implicit_per_user=3: uid 1000's fourth cgroup gets EDQUOT" sh -c '
	echo $$ > "$1/cgroup.procs" &&
	exec /usr/bin/setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all scmtest use-fails 122' \
	sh "$CG/user.slice/user-1000.slice/user@1000.service/app.slice/many.scope"
mkdir -p "$CG/qr"
check "scm_implicit_per_user=3: root's containers are not limited by it" sh -c '
	echo $$ > /sys/fs/cgroup/qr/cgroup.procs && exec /usr/bin/unshare --pid --fork scmtest info'
echo 4 > $P/scm_implicit_per_user
check "scm_implicit_per_user=4: uid 1000's fourth cgroup gets its region" sh -c '
	echo $$ > "$1/cgroup.procs" &&
	exec /usr/bin/setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all scmtest info' \
	sh "$CG/user.slice/user-1000.slice/user@1000.service/app.slice/many.scope"

# --- cgroup v1 controllers: refuse rather than share -------------------------
mkdir -p /tmp/v1 "$CG/v1ct"
if mount -t cgroup -o devices,freezer none /tmp/v1; then
	check "cgroup v1 in use: a container's open fails with EOPNOTSUPP" sh -c '
		echo $$ > /sys/fs/cgroup/v1ct/cgroup.procs && exec /usr/bin/unshare --pid --fork scmtest open-fails 95'
	check "cgroup v1 in use: the host still works" scmtest verify "$SEED_HOST"
	check "cgroup v1 in use: /proc/scm/regions shows a container nothing" sh -c '
		echo $$ > /sys/fs/cgroup/v1ct/cgroup.procs &&
		exec /usr/bin/unshare --pid --fork sh -c "test \$(grep -vc ^name /proc/scm/regions) = 0"'
	umount /tmp/v1
else
	check "mount a cgroup v1 hierarchy (devices, freezer)" false
fi
rmdir "$CG/v1ct"

scm_regions final
check_done
