# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/lib.sh — what every bench/*/run.sh starts with. Sourced (bash):
#
#   . "$(dirname "$0")/../lib.sh" NAME "$@"
#
# Sets here (the benchmark's folder), top (the checkout) and out (OUTDIR,
# the first argument, default build/bench; created), puts the VMs'
# scratch folders under OUTDIR (TMPDIR: disks must sit on a real file
# system, which /tmp may not be; O_DIRECT fails on tmpfs), sources
# tests/lib/vm.sh and stops with a clear message unless QEMU, the kernel
# and an image with virtio_vssd.ko are there. Then VM_TMP is the scratch
# folder (removed at exit).

bench_name=$1
here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$(mkdir -p "${2:-$top/build/bench}" && cd "${2:-$top/build/bench}" && pwd)

export TMPDIR=$out
# shellcheck source-path=SCRIPTDIR source=../tests/lib/vm.sh
. "$top/tests/lib/vm.sh"

# vm_have_device's `... | grep -q` pipelines fail under pipefail (SIGPIPE).
bench__pipefail=$(set -o | awk '$1 == "pipefail" { print $2 }')
set +o pipefail
if ! vm_have_device; then
	echo "bench/$bench_name: QEMU, kernel or an image with virtio_vssd.ko missing (run: make qemu image)" >&2
	exit 1
fi
[ "$bench__pipefail" = on ] && set -o pipefail
vm_tmpdir
