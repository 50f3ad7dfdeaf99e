#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The guest tools on the host: scmctl's command line (sizes, names, usage
# errors, list over a sample /proc/scm/regions, ioctl errors), scm-demo's
# persistent counter in a regular file, and the OCI hook's choices (with a
# stand-in scmctl that records its calls), under busybox sh when the host
# has it. The kernel side of scmctl is tested in the guest.
# SCM_TOOLS_SANITIZE=1 builds them with AddressSanitizer and UBSan
# (dynamically linked, as the sanitizers need) and checks that instead of
# the static link (tests/host/sanitizers.sh).
set -u -o pipefail
. "$(dirname "$0")/../lib/vm.sh"
t_plan 16
tools=$VSSD_ROOT/guest-driver/tools
vm_tmpdir
out=$VM_TMP/tools

san=()
if [ "${SCM_TOOLS_SANITIZE:-0}" = 1 ]; then
	flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
	san=(CFLAGS="$flags" LDFLAGS="$flags" STATIC=)
fi
if ! make -C "$tools" OUT="$out" LIBSCM_OUT="$VM_TMP/libscm" "${san[@]}" all \
	> "$VM_TMP/build.log" 2>&1; then
	sed 's/^/# /' "$VM_TMP/build.log" | tail -n 20
	t_bail "the tools do not build" "tools: build"
fi
if grep -i warning "$VM_TMP/build.log" >/dev/null; then
	t_fail "tools: build without warnings"
else
	t_ok "tools: build without warnings"
fi
if [ ${#san[@]} -gt 0 ]; then
	# (grep -c reads everything: no SIGPIPE under pipefail)
	t_check "tools: scmctl and scm-demo carry AddressSanitizer" eval "
		[ \$(readelf -d '$out/scmctl' '$out/scm-demo' | grep -c 'NEEDED.*libasan') = 2 ]"
else
	static=1
	for b in scmctl scm-demo; do
		readelf -d "$out/$b" 2>/dev/null | grep NEEDED >/dev/null && static=0
	done
	t_check "tools: scmctl and scm-demo are static" test $static = 1
fi
dest=$VM_TMP/dest
t_check "tools: make install DESTDIR= puts scmctl, scm-demo and the hook in place" \
	sh -c "make -s -C '$tools' OUT='$out' LIBSCM_OUT='$VM_TMP/libscm' ${san[*]:+$(printf "'%s' " "${san[@]}")}install DESTDIR='$dest' >/dev/null &&
		test -x '$dest/usr/sbin/scmctl' && test -x '$dest/usr/bin/scm-demo' &&
		test -x '$dest/usr/libexec/vssd/oci-hook-scm-copy'"

scmctl=$out/scmctl

# --- scmctl ---

# expect STATUS CMD...: CMD exits with STATUS; with STATUS != 0 it prints
# exactly one line, starting "scmctl: ", on stderr.
expect() {
	local want=$1 rc err
	shift
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" != "$want" ]; then
		echo "# $*: exit $rc, want $want; stderr: $err"
		return 1
	fi
	if [ "$want" != 0 ]; then
		if [ "$(printf '%s\n' "$err" | wc -l)" != 1 ] ||
			[ "${err#scmctl: }" = "$err" ]; then
			echo "# $*: stderr is not one 'scmctl: ' line: $err"
			return 1
		fi
	fi
}

ok=1
"$scmctl" --help | grep 'create NAME' >/dev/null || ok=0
expect 0 "$scmctl" --help || ok=0
expect 0 "$scmctl" help || ok=0
expect 2 "$scmctl" || ok=0
expect 2 "$scmctl" frob || ok=0
expect 2 "$scmctl" --frob list || ok=0
expect 2 "$scmctl" list extra || ok=0
expect 2 "$scmctl" create || ok=0
expect 2 "$scmctl" resize ctA || ok=0
expect 2 "$scmctl" copy a || ok=0
expect 2 "$scmctl" copy a a || ok=0
expect 2 "$scmctl" delete a b || ok=0
expect 2 "$scmctl" info --bytes || ok=0
t_check "scmctl: --help, and usage errors exit 2 with one line" test $ok = 1

ok=1
while read -r arg bytes; do
	got=$("$scmctl" -n create ctA "$arg") || { ok=0; continue; }
	if [ "$got" != "create ctA $bytes" ]; then
		echo "# size $arg: '$got', want $bytes"
		ok=0
	fi
done <<'SIZES'
4096 4096
1 1
64K 65536
64k 65536
16M 16777216
16MiB 16777216
16MB 16777216
1G 1073741824
2T 2199023255552
18446744073709551615 18446744073709551615
SIZES
for bad in 0 0K 1.5G 16Q -1 "" M 16MiBs " 16M" 18446744073709551616 17179869184T 16777216T; do
	expect 2 "$scmctl" -n create ctA "$bad" || ok=0
done
t_check "scmctl: sizes with K/M/G/T suffixes; zero, fractions, junk and overflow refused" test $ok = 1

ok=1
long=$(printf 'a%.0s' $(seq 63))
for good in ctA a a.b_c-D9 "$long" /docker/x /user.slice/user@1000.service "#0123456789abcdef0123456789abcdef"; do
	[ "$("$scmctl" -n delete -- "$good")" = "delete $good" ] || { echo "# name $good refused"; ok=0; }
done
for bad in "" a/b "a b" "${long}b" 'é' 'a*' -x .a / "#0123" "#0123456789ABCDEF0123456789abcdef" "/a b"; do
	expect 2 "$scmctl" -n delete -- "$bad" || ok=0
done
# names to bind: an administrator's only (no path or hash form, not host)
for bad in /x "#0123456789abcdef0123456789abcdef" host -x; do
	expect 2 "$scmctl" -n bind -- "$bad" /c || ok=0
done
[ "$("$scmctl" -n bind web /sys/fs/cgroup/docker/x 2M)" = "bind web /docker/x" ] || ok=0
expect 2 "$scmctl" -n bind web / || ok=0
expect 2 "$scmctl" -n bind web relative/path || ok=0
[ "$("$scmctl" -n copy --image-only --if-missing img --cgroup /docker/x)" = "copy img --cgroup /docker/x" ] || ok=0
expect 2 "$scmctl" -n copy img || ok=0
expect 2 "$scmctl" -n delete --cgroup /x ctA || ok=0
expect 2 "$scmctl" -n image img maybe || ok=0
[ "$("$scmctl" -n image img on)" = "image img on" ] || ok=0
[ "$("$scmctl" -n copy img ctA)" = "copy img ctA" ] || ok=0
[ "$("$scmctl" -n create ctA)" = "create ctA" ] || ok=0
[ "$("$scmctl" -n resize ctA 2M)" = "resize ctA 2097152" ] || ok=0
t_check "scmctl: region names as the kernel takes them; requests as given" test $ok = 1

ok=1
cat > "$VM_TMP/regions" <<'REGIONS'
name owner size used offset flags
host host 16777216 4352 2097152 -
ctA /ctA 16777216 12288 18874368 implicit
img scmctl 1610612736 0 35651584 image
REGIONS
list=$(SCM_PROC_REGIONS=$VM_TMP/regions "$scmctl" list) || ok=0
echo "$list" | sed 's/^/# /'
echo "$list" | head -n 1 | grep -E '^NAME +OWNER +SIZE +USED +USE% +OFFSET +FLAGS$' >/dev/null || ok=0
echo "$list" | grep -E '^host +host +16M +4\.2K +0% +2M +-$' >/dev/null || ok=0
echo "$list" | grep -E '^ctA +/ctA +16M +12K +0% +18M +implicit$' >/dev/null || ok=0
echo "$list" | grep -E '^img +scmctl +1\.5G +0 +0% +34M +image$' >/dev/null || ok=0
[ "$(echo "$list" | wc -l)" = 4 ] || ok=0
SCM_PROC_REGIONS=$VM_TMP/regions "$scmctl" list --bytes |
	grep -E '^img +scmctl +1610612736 +0 +0% +35651584 +image$' >/dev/null || ok=0
printf 'name owner size used offset\n' > "$VM_TMP/empty"
[ "$(SCM_PROC_REGIONS=$VM_TMP/empty "$scmctl" list | wc -l)" = 1 ] || ok=0
printf 'name owner size used offset\nbroken line\n' > "$VM_TMP/broken"
SCM_PROC_REGIONS=$VM_TMP/broken expect 1 "$scmctl" list || ok=0
SCM_PROC_REGIONS=$VM_TMP/missing expect 1 "$scmctl" list || ok=0
t_check "scmctl: list prints /proc/scm/regions as a table; malformed or missing file is an error" test $ok = 1

ok=1
for c in "info" "create ctA 1M" "resize ctA 1M" "copy img ctA" "delete ctA"; do
	# shellcheck disable=SC2086 # words wanted
	expect 1 "$scmctl" -d /dev/null $c || ok=0
	# shellcheck disable=SC2086
	msg=$("$scmctl" -d /dev/null $c 2>&1)
	case $msg in
	*"not a vssd /dev/scm"*) ;;
	*) echo "# $c on /dev/null: $msg"; ok=0 ;;
	esac
	# shellcheck disable=SC2086
	expect 1 "$scmctl" -d "$VM_TMP/no-such-device" $c || ok=0
done
t_check "scmctl: a missing or wrong device is a one-line error, exit 1" test $ok = 1

# --- scm-demo ---

demo=$out/scm-demo
region=$VM_TMP/demo.img
truncate -s 1M "$region"
ok=1
[ "$("$demo" -d "$region" "hello world")" = "region=$region counter=1 message=\"hello world\"" ] || ok=0
[ "$(SCM_DEVICE=$region "$demo")" = "region=$region counter=2 message=\"hello world\"" ] || ok=0
[ "$("$demo" --show -d "$region")" = "region=$region counter=2 message=\"hello world\"" ] || ok=0
[ "$("$demo" -d "$region" bye)" = "region=$region counter=3 message=\"bye\"" ] || ok=0
[ "$("$demo" -s -d "$region")" = "region=$region counter=3 message=\"bye\"" ] || ok=0
t_check "scm-demo: the counter and message persist from run to run" test $ok = 1

ok=1
head -c 4096 /dev/urandom > "$VM_TMP/junk.img"
truncate -s 1M "$VM_TMP/junk.img"
"$demo" -d "$VM_TMP/junk.img" >/dev/null 2>"$VM_TMP/err" && ok=0
grep '^scm-demo: .*not a libscm heap' "$VM_TMP/err" >/dev/null || ok=0
"$demo" -d "$VM_TMP/missing.img" >/dev/null 2>&1 && ok=0
"$demo" -d "$region" a b >/dev/null 2>&1 && ok=0
"$demo" -d "$region" "$(printf 'x%.0s' $(seq 300))" >/dev/null 2>&1 && ok=0
[ "$("$demo" -s -d "$region")" = "region=$region counter=3 message=\"bye\"" ] || ok=0
t_check "scm-demo: a foreign region, a missing file and bad arguments fail, changing nothing" test $ok = 1

# --- oci-hook-scm-copy ---

hook=$tools/oci-hook-scm-copy
if [ -x /bin/busybox ]; then
	hook_sh="/bin/busybox sh"
else
	hook_sh="sh"
fi
# The hook's refusals, with a scmctl that records its calls first on PATH
# (the copies themselves run under real runc in the guest: scm-isolation).
mkdir -p "$VM_TMP/bin"
cat > "$VM_TMP/bin/scmctl" <<FAKE
#!/bin/sh
echo "\$*" >> "$VM_TMP/calls"
FAKE
chmod +x "$VM_TMP/bin/scmctl"

# hook_case NAME WANT-STATUS WANT-CALL WANT-LOG STATE-JSON
hook_case() {
	local name=$1 want=$2 call=$3 logre=$4 state=$5 rc got
	: > "$VM_TMP/calls"
	printf '%s' "$state" | PATH="$VM_TMP/bin:$PATH" $hook_sh "$hook" 2> "$VM_TMP/hook.err"
	rc=$?
	got=$(cat "$VM_TMP/calls")
	if [ "$rc" = "$want" ] && [ "$got" = "$call" ] &&
		{ [ -z "$logre" ] || grep -q -- "$logre" "$VM_TMP/hook.err"; }; then
		t_ok "oci hook: $name"
	else
		sed 's/^/# /' "$VM_TMP/hook.err"
		t_fail "oci hook: $name" "exit $rc (want $want), scmctl '$got' (want '$call')"
	fi
}

st() {	# st ID PID ANNOTATIONS
	printf '{"ociVersion":"1.0.2","id":"%s","status":"creating","pid":%s,"bundle":"/none","annotations":{%s}}' "$1" "$2" "$3"
}
# a live process in the root cgroup v2 (or none): no container of its own
sleep 60 &
rootpid=$!
hook_case "no image annotation: nothing to do" 0 "" "" "$(st ctA $rootpid '"a":"b"')"
hook_case "a hostile org.vssd.scm.region is refused and logged" 1 "" "refused: annotation org.vssd.scm.region=victim" \
	"$(st ctA $rootpid '"org.vssd.scm.image":"img","org.vssd.scm.region":"victim"')"
hook_case "an unknown copy policy is refused" 1 "" "refused: org.vssd.scm.copy" \
	"$(st ctA $rootpid '"org.vssd.scm.image":"img","org.vssd.scm.copy":"sometimes"')"
hook_case "a state without the container pid is refused" 1 "" "refused: no container pid" \
	"$(printf '{"id":"x","annotations":{"org.vssd.scm.image":"img"}}')"
hook_case "a pid whose process has no cgroup v2 of its own is refused" 1 "" "refused: process" \
	"$(st ctA 999999999 '"org.vssd.scm.image":"img"')"
if [ "$(sed -n 's/^0:://p' /proc/$rootpid/cgroup)" = / ]; then
	hook_case "a process in the root cgroup is refused (no container)" 1 "" "refused: process $rootpid" \
		"$(st ctA $rootpid '"org.vssd.scm.image":"img"')"
fi
kill $rootpid 2>/dev/null
wait $rootpid 2>/dev/null
t_done
