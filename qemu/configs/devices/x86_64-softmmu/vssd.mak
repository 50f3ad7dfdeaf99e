# SPDX-License-Identifier: GPL-2.0-or-later
# Devices of the vssd QEMU build (configure --without-default-devices
# --with-devices-x86_64=vssd): what the demo VM and the tests need.

# Boards
CONFIG_I440FX=y
CONFIG_Q35=y

# Default devices of the PC boards (the boards select the ISA serial port),
# so that plain command lines (and libqos's "-M pc") work: VGA, parallel
# port, and the default NICs (pc: e1000, q35: e1000e; option ROMs from
# Debian's ipxe-qemu). There is no network backend (no slirp).
CONFIG_VGA_PCI=y
CONFIG_PARALLEL=y
CONFIG_E1000_PCI=y
CONFIG_E1000E_PCI_EXPRESS=y

CONFIG_VIRTIO_PCI=y

# virtio devices used next to the vSSD and by the qtests
CONFIG_VIRTIO_BLK=y
CONFIG_VIRTIO_BALLOON=y
CONFIG_VIRTIO_MEM=y

# the device itself
CONFIG_VIRTIO_VSSD=y
