# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest half of the virtio-blk comparison in tests/e2e/migrate.sh: a guest
# with only a virtio-blk disk writes the same amount as the vSSD guest
# before its idle migration (QEMU flushes the disk image in the downtime),
# then waits for the host to migrate it and kill it.
test -b /dev/vda || { echo "migrate-blk: no /dev/vda"; exit 1; }
pattern write /dev/vda "${SEED:-1}" --bs 1M || exit 1
echo "vssd.step ready"
sleep 600
