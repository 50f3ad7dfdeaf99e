#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# libscm on the host: a warning-free build of libscm.a and libscm.so, its
# unit tests (guest-driver/libscm/tests, regions in regular files: alloc,
# free and reuse, alignment, ENOMEM, persistence across reopen, crashes in
# the middle of updates, 8 threads, scmsync ranges, the lock between
# processes, scmalloc_into/scmfree_from, transactions under kill -9 and
# simulated host crashes), that no test hook is in the libraries that are
# installed, and the install target. One TAP-like line per unit test
# (tests/run.sh counts them).
set -u -o pipefail
. "$(dirname "$0")/../lib/vm.sh"
t_plan 35
lib=$VSSD_ROOT/guest-driver/libscm
vm_tmpdir
out=$VM_TMP/libscm

# build: no warnings (the Makefile also has -Werror)
if make -C "$lib" OUT="$out" all > "$VM_TMP/build.log" 2>&1; then
	if grep -i 'warning' "$VM_TMP/build.log" >/dev/null; then
		grep -i 'warning' "$VM_TMP/build.log" | head -n 5 | sed 's/^/# /'
		t_fail "libscm: builds with -Wall -Wextra without warnings"
	else
		t_ok "libscm: builds with -Wall -Wextra without warnings"
	fi
else
	sed 's/^/# /' "$VM_TMP/build.log" | tail -n 20
	t_bail "libscm does not build" "libscm: builds with -Wall -Wextra without warnings"
fi

# the test hooks live in libscm-test.a only (built with -DSCM_TESTING)
if nm "$out/libscm.a" > "$VM_TMP/nm.txt" 2>&1 &&
	! grep -E ' scm_test_' "$VM_TMP/nm.txt" >/dev/null &&
	nm -D "$out/libscm.so" | grep -w scm_tx_begin >/dev/null &&
	! nm "$out/libscm.so" | grep -E ' scm_test_' >/dev/null; then
	t_ok "libscm: libscm.a and libscm.so hold no test hook (scm_test_*)"
else
	grep -E ' scm_test_' "$VM_TMP/nm.txt" | head -n 5 | sed 's/^/# /'
	t_fail "libscm: libscm.a and libscm.so hold no test hook (scm_test_*)"
fi

# the unit tests, one result each
make -s -C "$lib" OUT="$out" check > "$VM_TMP/check.log" 2>&1
rc=$?
pass=0
fail=0
while IFS= read -r line; do
	case "$line" in
	PASS:*) pass=$((pass + 1)); t_ok "libscm: ${line#PASS: }" ;;
	FAIL:*) fail=$((fail + 1)); t_fail "libscm: ${line#FAIL: }" ;;
	*) echo "# $line" ;;
	esac
done < "$VM_TMP/check.log"
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$VM_TMP/check.log" | tail -n 1)
if [ "$summary" = "$pass passed, $fail failed" ] && [ $pass -gt 0 ] &&
	{ [ $fail -gt 0 ] || [ $rc -eq 0 ]; }; then
	t_ok "libscm: make check ran every test and summed them up ($summary)"
else
	t_fail "libscm: make check ran every test and summed them up" \
		"summary '$summary', $pass PASS and $fail FAIL lines, exit $rc"
fi

# install honours DESTDIR and PREFIX
dest=$VM_TMP/dest
if make -s -C "$lib" OUT="$out" install DESTDIR="$dest" PREFIX=/opt/scm \
	> "$VM_TMP/install.log" 2>&1 &&
	[ -f "$dest/opt/scm/include/scm.h" ] &&
	[ -f "$dest/opt/scm/lib/libscm.a" ] &&
	[ -L "$dest/opt/scm/lib/libscm.so" ] &&
	[ -f "$dest/opt/scm/lib/libscm.so.1.0.0" ] &&
	readelf -d "$dest/opt/scm/lib/libscm.so.1.0.0" | grep 'SONAME.*libscm\.so\.1' >/dev/null &&
	grep '^prefix=/opt/scm$' "$dest/opt/scm/lib/pkgconfig/libscm.pc" >/dev/null; then
	t_ok "libscm: make install DESTDIR= PREFIX= puts scm.h, libscm.a, libscm.so(.1) and libscm.pc in place"
else
	sed 's/^/# /' "$VM_TMP/install.log"
	(cd "$dest" 2>/dev/null && find . | sed 's/^/# /')
	t_fail "libscm: make install DESTDIR= PREFIX= puts scm.h, libscm.a, libscm.so(.1) and libscm.pc in place"
fi

# a program built against the installed files, both ways
printf '#include <scm.h>\nint main(void) { return scm_open(0) == -1 ? 0 : 1; }\n' > "$VM_TMP/user.c"
if gcc -Wall -Wextra -Werror -I"$dest/opt/scm/include" -o "$VM_TMP/user-dyn" \
	"$VM_TMP/user.c" -L"$dest/opt/scm/lib" -lscm 2>&1 | sed 's/^/# /' &&
	gcc -static -I"$dest/opt/scm/include" -o "$VM_TMP/user-static" \
		"$VM_TMP/user.c" -L"$dest/opt/scm/lib" -lscm -pthread 2>&1 | sed 's/^/# /' &&
	SCM_DEVICE=$VM_TMP/none LD_LIBRARY_PATH=$dest/opt/scm/lib "$VM_TMP/user-dyn" &&
	SCM_DEVICE=$VM_TMP/none "$VM_TMP/user-static"; then
	t_ok "libscm: programs link with -lscm (shared and static) against the installed files"
else
	t_fail "libscm: programs link with -lscm (shared and static) against the installed files"
fi
t_done
