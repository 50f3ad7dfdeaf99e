# SPDX-License-Identifier: GPL-2.0-or-later
# Devices of the vssd QEMU build (configure --without-default-devices
# --with-devices-x86_64=vssd): what the demo VM and the tests need.

# Boards
CONFIG_I440FX=y
CONFIG_Q35=y

# Default devices of the PC boards (the boards select the ISA serial port),
# so that -nographic works without -vga none / -parallel none. There is no
# NIC model: pass -nic none (or -nodefaults).
CONFIG_VGA_PCI=y
CONFIG_PARALLEL=y

CONFIG_VIRTIO_PCI=y

# virtio devices used next to the vSSD and by the qtests
CONFIG_VIRTIO_BLK=y
CONFIG_VIRTIO_BALLOON=y
CONFIG_VIRTIO_MEM=y

# the device itself
CONFIG_VIRTIO_VSSD=y
