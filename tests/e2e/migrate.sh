#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Live migration of a guest with a vSSD, end to end: one guest runs
# tests/guest/migrate-run.sh while its QEMU is migrated (precopy, over a
# unix socket) three times, each time to a new QEMU started with
# -incoming whose pmem memdev is a NEW, empty file (the pmem contents can
# only arrive in the migration stream) and whose state-file is new; the
# block region's backing file is shared storage, as for virtio-blk.
#   A -> B  idle, after a completed shrink of both regions, with runc A
#           and the host region holding live /dev/scm mappings
#   B -> C  while a loop writes and verifies the disk and U's region
#   C -> D  with a shrink of both regions in flight (the guest's agent
#           holds it): ssd-balloon is refused with a clear error while
#           the migration runs; the target, generation and start time
#           arrive and D finishes the resize
# After each: query-ssd-balloon agrees on both sides, the destination's
# state file (written by post_load) holds the source's maps and the
# guest's, the new pmem file holds every region's pattern at its offset,
# and the guest verifies every byte. A destination whose pmem file is on
# a disk file system refuses postcopy; on tmpfs a postcopy migration
# (D -> E) runs, and while it is incoming the device is busy (ssd-balloon
# refused); E -> F is idle again, with a 30 ms downtime limit; F -> G runs
# at 32 MiB/s while the guest answers a new shrink: the device says BUSY,
# the driver retries, G takes the blocks. Then the
# downtimes are compared with a guest with only virtio-blk, migrated the
# same ways (QEMU's default limit, 300 ms, and 30 ms); all go to
# build/test-logs/migrate-downtime.tsv.
. "$(dirname "$0")/../lib/vm.sh"
. "$VSSD_ROOT/tests/lib/scm.sh"
. "$VSSD_ROOT/tests/lib/resize.sh"
t_plan 53

rnd() { echo $(( (RANDOM << 15 | RANDOM) + 1 )); }
SEED1=$(rnd) SEED_A=$(rnd) SEED_H=$(rnd) SEED2=$(rnd) SEED_U=$(rnd)
HOLD=${MIGRATE_HOLD:-90}
MB=$((1 << 20))
MIG_PY=$VSSD_ROOT/tests/lib/migrate.py
TSV=$VSSD_ROOT/build/test-logs/migrate-downtime.tsv

scm_need
vm_tmpdir
scm_files A || t_bail "cannot make the OCI bundle"
install -m 0644 "$VSSD_ROOT/tests/guest/resize-lib.sh" "$SCM_FILES/resize-lib.sh"
scm_mailbox
img=$VM_TMP/disk.img
truncate -s 64M "$img"

mig() { python3 "$MIG_PY" "$@"; }

# qemu_args N [DIR]: the vSSD of QEMU N: the shared disk, a new pmem file
# $pm_N and a new state file $st_N (in DIR, default the scratch folder).
qemu_args() {
	local dir=${2:-$VM_TMP}
	eval "pm_$1=$dir/pmem-$1.img st_$1=$VM_TMP/state-$1"
	rm -f "$dir/pmem-$1.img"
	truncate -s 64M "$dir/pmem-$1.img"
	QARGS=(-blockdev "driver=file,filename=$img,node-name=vssd-disk,discard=unmap"
		-object "memory-backend-file,id=vssd-pm,mem-path=$dir/pmem-$1.img,size=64M,share=on"
		-device "virtio-vssd-pci,id=vssd0,drive=vssd-disk,memdev=vssd-pm,state-file=$VM_TMP/state-$1"
		"${SCM_MAILBOX_ARGS[@]}")
}

LOGS=()
# migrate_to N [OPTIONS]: start QEMU N (-incoming) and migrate the guest
# there (precopy; OPTIONS for migrate.py migrate); $MIG_OUT gets
# query-migrate's final answer.
migrate_to() {
	local n=$1
	shift
	MIG_OUT=$VM_TMP/mig-$n.json
	qemu_args "$n"
	vm_start_incoming "unix:$VM_TMP/mig-$n.sock" "${QARGS[@]}" || return 1
	LOGS+=("$VM_LOG")
	mig migrate "$VM_SRC_QMP" "$VM_QMP" "unix:$VM_TMP/mig-$n.sock" "$@" > "$MIG_OUT"
}

field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$1" "$2"; }

# same_regions TAG: one result, query-ssd-balloon agrees on both sides.
same_regions() {
	local src dst
	src=$(mig regions "$VM_SRC_QMP" vssd0) dst=$(mig regions "$VM_QMP" vssd0)
	echo "# $1: source: $(echo "$src" | tr '\n' ';') destination: $(echo "$dst" | tr '\n' ';')"
	if [ -n "$src" ] && [ "$src" = "$dst" ]; then
		t_ok "$1: query-ssd-balloon agrees on both sides"
	else
		t_fail "$1: query-ssd-balloon agrees on both sides" "source '$src', destination '$dst'"
	fi
}

# guest_map TAG: the block map the guest printed at TAG, in all its logs.
guest_map() {
	cat "${LOGS[@]}" | tr -d '\r' | sed -n "s/^vssd\.map $1 //p" | tail -n1
}

# same_maps TAG N M: the state files of QEMU N and M (source and
# destination) hold the same maps, and N's block map is the guest's.
same_maps() {
	local a b g
	a=$(mig statemap "$(eval echo "\$st_$2")") b=$(mig statemap "$(eval echo "\$st_$3")")
	g=$(guest_map "$1")
	rz_same "$1: the destination's state file holds the source's maps" "$b" "$a"
	rz_same "$1: the block map is the guest's" "$(echo "$b" | sed -n 's/^block //p')" "$g"
}

# pmem_holds TAG N LOGTAG NAME SEED: QEMU N's pmem file holds region
# NAME's pattern (as listed by the guest at LOGTAG).
pmem_holds() {
	local all off size
	all=$VM_TMP/all.log
	cat "${LOGS[@]}" > "$all"
	off=$(scm_region_col "$3" "$4" offset "$all") size=$(scm_region_col "$3" "$4" size "$all")
	if [ -z "$off" ] || [ -z "$size" ]; then
		t_fail "$1: the new pmem file holds region $4's pattern" "region not listed"
		return
	fi
	t_check "$1: the new pmem file holds region $4's pattern (offset $off)" \
		scm_py pattern "$(eval echo "\$pm_$2")" "$off" "$5" "$size"
}

# downtime_row GUEST CASE LIMIT JSON: one line of the downtime table.
downtime_row() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(field "$4" downtime)" \
		"$(field "$4" total-time)" "$(date -u +%FT%TZ)" >> "$TSV"
}

# --- A: boot, shrink, live mappings ---------------------------------------
qemu_args A
vm_start --mem 256 --timeout 400 --append "$SCM_APPEND" --script "$VSSD_ROOT/tests/guest/migrate-run.sh" \
	--files "$SCM_FILES" --env SCM_DEFAULT_SIZE=$((4 << 20)) --env SEED1="$SEED1" \
	--env SEED_A="$SEED_A" --env SEED_H="$SEED_H" --env SEED2="$SEED2" --env SEED_U="$SEED_U" \
	--env HOLD="$HOLD" -- "${QARGS[@]}" || t_bail "QEMU did not start"
LOGS+=("$VM_LOG")
t0=$SECONDS
rz_step hinted 120 || t_bail "the guest did not get to its hints"
vm_qmp ssd-balloon "{\"device\":\"vssd0\",\"size\":$((58 * MB))}" >/dev/null &&
	mig wait-size "$VM_QMP" vssd0 block $((58 * MB)) --timeout 60 >/dev/null &&
	vm_qmp ssd-balloon "{\"device\":\"vssd0\",\"size\":$((60 * MB)),\"region\":\"pmem\"}" >/dev/null &&
	mig wait-size "$VM_QMP" vssd0 pmem $((60 * MB)) --timeout 60 > /dev/null
t_check "A: block region shrunk to 58 MiB and pmem region to 60 MiB" test $? = 0
scm_tell shrunk
rz_step ready 120 || t_bail "the guest did not get ready"
echo "# A ready after $((SECONDS - t0)) s"

# --- A -> B: idle ------------------------------------------------------------
t_check "A -> B (idle): migration completed" migrate_to B
dt_idle=$(field "$MIG_OUT" downtime)
same_regions "A -> B"
same_maps before A B
pmem_holds "A -> B" B before A "$SEED_A"
pmem_holds "A -> B" B before host "$SEED_H"
t_check "A -> B: the pmem files are two files" test "$(stat -c %i "$pm_A")" != "$(stat -c %i "$pm_B")"
t_check "A -> B: the source is paused (postmigrate)" test "$(mig runstate "$VM_SRC_QMP")" = postmigrate
vm_end_source
scm_tell m1
echo "# A -> B done after $((SECONDS - t0)) s"

# --- B -> C: during I/O --------------------------------------------------------
rz_step io 120 || t_bail "the guest's I/O loop did not start"
# a pass in progress on the source's console
passes_before=$(tr -d '\r' < "$VM_LOG" | grep -c '^io pass [0-9]* start')
t_check "B -> C (I/O running): migration completed" migrate_to C
dt_io=$(field "$MIG_OUT" downtime)
same_regions "B -> C"
scm_tell m2
echo "# B -> C done after $((SECONDS - t0)) s"
rz_step agent 180 || t_bail "the guest did not finish its I/O step"
passes_after=$(tr -d '\r' < "$VM_LOG" | grep -c '^io pass [0-9]* done')
t_check "B -> C: I/O passes ran on both sides ($passes_before started on B, $passes_after finished on C)" \
	test "$passes_before" -ge 1 -a "$passes_after" -ge 1
same_maps m2 B C
last=$(cat "${LOGS[@]}" | tr -d '\r' | sed -n 's/^vssd\.io last //p' | tail -n1)
pmem_holds "B -> C" C m2 /U $((SEED_U + ${last:-0}))
pmem_holds "B -> C" C m2 A "$SEED_A"
vm_end_source
t_check "B -> C: the shared disk holds the last pass's pattern outside the unplugged blocks" \
	"$(vm_host_pattern)" verify "$img" $((SEED2 + ${last:-0})) --buffered --length $((5 * MB))

# --- C -> D: a resize in flight -----------------------------------------------
tr0=$(date +%s%3N)
vm_qmp ssd-balloon "{\"device\":\"vssd0\",\"size\":$((50 * MB))}" >/dev/null &&
	vm_qmp ssd-balloon "{\"device\":\"vssd0\",\"size\":$((56 * MB)),\"region\":\"pmem\"}" >/dev/null
t_check "C: ssd-balloon block 50 MiB and pmem 56 MiB accepted" test $? = 0
sleep 1
mig regions "$VM_QMP" vssd0 > "$VM_TMP/c-regions"
t_check "C: both regions shrinking (the guest's agent holds them)" \
	test "$(grep -c ' shrinking ' "$VM_TMP/c-regions")" = 2
qemu_args D
MIG_OUT=$VM_TMP/mig-D.json
vm_start_incoming "unix:$VM_TMP/mig-D.sock" "${QARGS[@]}" || t_bail "QEMU D did not start"
LOGS+=("$VM_LOG")
err=$(mig caps "$VM_QMP" postcopy-ram 2>&1)
echo "# D: $err"
case "$err" in
*TMPFS*) t_ok "D: postcopy-ram refused with a pmem file on $(stat -f -c %T "$VM_TMP")" ;;
*) t_fail "D: postcopy-ram refused with a pmem file on $(stat -f -c %T "$VM_TMP")" "got '$err'" ;;
esac
mig migrate "$VM_SRC_QMP" "$VM_QMP" "unix:$VM_TMP/mig-D.sock" \
	--refuse-during '{"device":"vssd0","size":4194304}' > "$MIG_OUT"
t_check "C -> D (resize in flight): migration completed" test $? = 0
refused=$(field "$MIG_OUT" refused)
echo "# C -> D: ssd-balloon during the migration: $refused"
case "$refused" in
*"cannot be resized during migration"*) t_ok "C -> D: ssd-balloon refused during the migration, with a clear error" ;;
*) t_fail "C -> D: ssd-balloon refused during the migration, with a clear error" "got '$refused'" ;;
esac
tmig=$(date +%s%3N)
same_regions "C -> D"
same_maps m2 C D
mig regions "$VM_QMP" vssd0 > "$VM_TMP/d-regions"
t_check "D: the targets arrived (block 50 MiB, pmem 56 MiB, shrinking)" \
	grep -q "^block $((58 * MB)) $((50 * MB)) shrinking" "$VM_TMP/d-regions"
t_check "D: the pmem target arrived" grep -q "^pmem $((60 * MB)) $((56 * MB)) shrinking" "$VM_TMP/d-regions"
vm_end_source
scm_tell m3
echo "# C -> D done after $((SECONDS - t0)) s"
mig wait-size "$VM_QMP" vssd0 block $((50 * MB)) --timeout 120 > "$VM_TMP/d-block.json" &&
	mig wait-size "$VM_QMP" vssd0 pmem $((56 * MB)) --timeout 120 > "$VM_TMP/d-pmem.json"
t_check "D: the destination finished both resizes" test $? = 0
lr=$(field "$VM_TMP/d-block.json" last-resize-ms)
t_check "D: the block resize's duration counts from its start on C (${lr:-none} ms >= $((tmig - tr0)) ms)" \
	test "${lr:-0}" -ge $((tmig - tr0))
lr=$(field "$VM_TMP/d-pmem.json" last-resize-ms)
t_check "D: the pmem resize's duration counts from its start on C (${lr:-none} ms >= $((tmig - tr0)) ms)" \
	test "${lr:-0}" -ge $((tmig - tr0))
rz_step final 120
same_maps final D D
pmem_holds "C -> D" D m2 A "$SEED_A"
pmem_holds "C -> D" D m2 host "$SEED_H"

# --- D -> E: postcopy, the destination's pmem file on tmpfs -------------------
shm=$(mktemp -d /dev/shm/vssd-test.XXXXXX)
trap 'rm -rf "$shm"; vm__cleanup' EXIT
qemu_args E "$shm"
MIG_OUT=$VM_TMP/mig-E.json
if vm_start_incoming "unix:$VM_TMP/mig-E.sock" "${QARGS[@]}"; then
	LOGS+=("$VM_LOG")
	mig migrate "$VM_SRC_QMP" "$VM_QMP" "unix:$VM_TMP/mig-E.sock" \
		--postcopy '{"device":"vssd0","size":4194304}' > "$MIG_OUT"
	t_check "D -> E (postcopy, pmem file on tmpfs): migration completed" test $? = 0
else
	t_fail "D -> E (postcopy, pmem file on tmpfs): migration completed" "QEMU E did not start"
fi
refused=$(field "$MIG_OUT" refused)
echo "# D -> E: ssd-balloon on E while it reported '$(field "$MIG_OUT" dest-status)': $refused"
case "$refused" in
*"cannot be resized during migration"*) t_ok "E: ssd-balloon refused during incoming postcopy" ;;
*) t_fail "E: ssd-balloon refused during incoming postcopy" "got '$refused'" ;;
esac
same_regions "D -> E"
pmem_holds "D -> E" E m2 A "$SEED_A"
pmem_holds "D -> E" E m2 host "$SEED_H"
echo "# D -> E done after $((SECONDS - t0)) s"

# --- E -> F: idle again, with a 30 ms downtime limit (QEMU's default: 300) ----
t_check "E -> F (idle, downtime-limit 30 ms): migration completed" migrate_to F --downtime-limit 30
dt_idle30=$(field "$MIG_OUT" downtime)
same_regions "E -> F"
pmem_holds "E -> F" F m2 /U $((SEED_U + ${last:-0}))
vm_end_source

# --- F -> G: the guest's agent answers a shrink while a slow migration runs ---
vm_qmp ssd-balloon "{\"device\":\"vssd0\",\"size\":$((46 * MB))}" >/dev/null
t_check "F: ssd-balloon block 46 MiB accepted (the guest's agent holds it)" test $? = 0
t_check "F -> G (32 MiB/s; the agent says go while it runs): migration completed" \
	migrate_to G --max-bandwidth $((32 * MB)) --tell "$SCM_MAILBOX" go
t_check "F -> G: the go came while the migration was active" test -z "$(field "$MIG_OUT" told-late)"
vm_end_source
t_check "G: the block region got to 46 MiB (the driver retried after BUSY)" \
	mig wait-size "$VM_QMP" vssd0 block $((46 * MB)) --timeout 120
vm_wait_log 'vssd\.map busy' 120
same_maps busy G G
scm_tell end
echo "# F -> G done after $((SECONDS - t0)) s"

vm_wait
rc=$?
echo "# the guest ended after $((SECONDS - t0)) s"
cat "${LOGS[@]}" > "$VM_TMP/all.log"
VM_LOG=$VM_TMP/all.log
vm_report_checks "guest"
t_check "guest script succeeded" test "$rc" = 0
t_check "no kernel bug reported" vm_log_clean

# --- the same idle migrations of a guest with only virtio-blk -----------------
LOGS=()
blk=$VM_TMP/blk.img
truncate -s 64M "$blk"
vm_start --mem 256 --timeout 120 --append "$SCM_APPEND" --script "$VSSD_ROOT/tests/guest/migrate-blk.sh" \
	-- -drive "file=$blk,if=virtio,format=raw" || t_bail "QEMU did not start (virtio-blk guest)"
LOGS+=("$VM_LOG")
if vm_wait_log 'vssd\.step ready' 120 &&
	vm_start_incoming "unix:$VM_TMP/mig-blk.sock" -drive "file=$blk,if=virtio,format=raw" &&
	mig migrate "$VM_SRC_QMP" "$VM_QMP" "unix:$VM_TMP/mig-blk.sock" > "$VM_TMP/mig-blk.json"; then
	t_ok "virtio-blk guest: idle migration completed"
else
	t_fail "virtio-blk guest: idle migration completed"
fi
if vm_start_incoming "unix:$VM_TMP/mig-blk30.sock" -drive "file=$blk,if=virtio,format=raw" &&
	mig migrate "$VM_SRC_QMP" "$VM_QMP" "unix:$VM_TMP/mig-blk30.sock" --downtime-limit 30 \
		> "$VM_TMP/mig-blk30.json"; then
	t_ok "virtio-blk guest: idle migration with a 30 ms downtime limit completed"
else
	t_fail "virtio-blk guest: idle migration with a 30 ms downtime limit completed"
fi
vm_end_source
vm_kill
dt_blk=$(field "$VM_TMP/mig-blk.json" downtime)
dt_blk30=$(field "$VM_TMP/mig-blk30.json" downtime)
head -n1 "$TSV" 2>/dev/null | grep -q downtime_limit_ms ||
	printf 'guest\tcase\tdowntime_limit_ms\tdowntime_ms\ttotal_ms\twhen\n' > "$TSV"
downtime_row virtio-vssd idle 300 "$VM_TMP/mig-B.json"
downtime_row virtio-vssd io 300 "$VM_TMP/mig-C.json"
downtime_row virtio-vssd idle 30 "$VM_TMP/mig-F.json"
downtime_row virtio-blk idle 300 "$VM_TMP/mig-blk.json"
downtime_row virtio-blk idle 30 "$VM_TMP/mig-blk30.json"
echo "# downtime (ms; 256 MiB guests under TCG; downtime-limit 300 ms, QEMU's default):" \
	"virtio-vssd idle $dt_idle, during I/O $dt_io; virtio-blk idle $dt_blk"
echo "# downtime (ms; downtime-limit 30 ms): virtio-vssd idle $dt_idle30; virtio-blk idle $dt_blk30 (all in $TSV)"
t_check "downtimes reported (virtio-vssd ${dt_idle:-none}/${dt_idle30:-none} ms, virtio-blk ${dt_blk:-none}/${dt_blk30:-none} ms)" \
	test -n "$dt_idle" -a -n "$dt_blk" -a -n "$dt_io" -a -n "$dt_idle30" -a -n "$dt_blk30"
t_done
