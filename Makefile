# SPDX-License-Identifier: GPL-2.0-or-later
#
# vssd: elastic SSD and persistent-memory capacity for virtual machines.
#
#   make demo    boot a VM with a vSSD and show it at work
#   make test    every test (qtest, guest end-to-end, host reclaim)
#   make bench   benchmarks (CSV + PNG under build/bench/, not part of test)
#   make soak    what does not fit make test: the qtests on a QEMU built with
#                ASan and UBSan (a full build of its own), QEMU's generic-fuzz
#                on the device for 10 minutes, then make fuzz
#   make fuzz    the fuzzers of tests/fuzz for 10 minutes each (make test
#                runs 30 s of each)
#   make deb     Debian packages (build/deb/): vssd-host, vssd-guest-tools,
#                libscm1, libscm-dev, virtio-vssd-dkms; lintian clean
#   make install           vssdctl, its manual page and bash completion
#   make install-guest     libscm, scmctl, scm-demo, the OCI hook,
#                          vssd-cache, manual pages (in a guest that
#                          builds from source)
#
# Everything is installed and fetched by the targets themselves; the QEMU
# build tree is cached under $(VSSD_CACHE), keyed on the QEMU overlay, and
# rebuilt from scratch when the cache is missing.

VSSD_CACHE ?= /var/tmp/vssd-cache
QEMU_SRC ?=
export VSSD_CACHE QEMU_SRC

BUILD := $(CURDIR)/build
QEMU_BIN := $(BUILD)/qemu/qemu-system-x86_64
VMLINUZ := $(BUILD)/guest/vmlinuz
INITRAMFS := $(BUILD)/guest/initramfs.cpio.gz

# The guest kernel: Debian 13's 6.12 (the default) or Debian 12's 6.1,
# GUEST_KERNEL=6.1. The default kernel's guest (kernel, headers, module,
# image) is in build/guest, the other one's in build/guest-6.1; make test
# builds both (its smoke set and the DKMS test boot 6.1 too). The tests
# and the demo boot the GUEST_KERNEL one (VSSD_GUEST_KERNEL, tests/lib/vm.sh).
DEFAULT_GUEST_KERNEL := 6.12
GUEST_KERNEL ?= $(DEFAULT_GUEST_KERNEL)
OTHER_GUEST_KERNEL := $(if $(filter 6.1,$(GUEST_KERNEL)),6.12,6.1)
GUEST_DIR := $(if $(filter $(DEFAULT_GUEST_KERNEL),$(GUEST_KERNEL)),$(BUILD)/guest,$(BUILD)/guest-$(GUEST_KERNEL))
export VSSD_GUEST_KERNEL := $(GUEST_KERNEL)

.PHONY: all deps qemu guest module image image-other demo test bench install install-guest clean vssdctl deb fuzz soak

all: qemu image vssdctl

deps:
	sh scripts/deps.sh

# QEMU is always re-checked: the script rebuilds incrementally (or not at all)
# when the overlay is unchanged.
qemu: deps
	bash scripts/build-qemu.sh $(BUILD)/qemu

# The kernel and its headers (6.12's in a trixie build root, see
# scripts/fetch-kernel.sh), the module built for it in GUEST_DIR/module-src
# (scripts/build-module.sh), the image.
guest: deps
	bash scripts/fetch-kernel.sh $(GUEST_DIR) $(GUEST_KERNEL)
	$(MAKE) module

module:
	bash scripts/build-module.sh $(GUEST_DIR) VSSD_TESTING=1

image: guest
	bash scripts/mkimage.sh $(GUEST_DIR)

# The other kernel's guest (build/guest-6.1 for the default 6.12).
image-other:
	$(MAKE) image GUEST_KERNEL=$(OTHER_GUEST_KERNEL)

# The host tool: build/bin/vssdctl (objects under build/qmp-tools).
vssdctl: deps
	$(MAKE) -C qmp-tools OUT=$(BUILD)/qmp-tools
	install -D -m 0755 $(BUILD)/qmp-tools/vssdctl $(BUILD)/bin/vssdctl

demo: qemu image vssdctl
	bash scripts/demo.sh

test: qemu image image-other vssdctl
	bash tests/run.sh

bench: qemu image
	bash bench/run.sh

PREFIX ?= /usr/local
install: vssdctl
	$(MAKE) -C qmp-tools OUT=$(BUILD)/qmp-tools install PREFIX=$(PREFIX)

install-guest:
	$(MAKE) -C guest-driver/libscm OUT=$(BUILD)/libscm install install-man PREFIX=$(PREFIX)
	$(MAKE) -C guest-driver/tools OUT=$(BUILD)/tools LIBSCM_OUT=$(BUILD)/libscm install PREFIX=$(PREFIX)
	$(MAKE) -C guest-driver/tools/vssd-cache OUT=$(BUILD)/vssd-cache install PREFIX=$(PREFIX)

deb: deps
	bash scripts/mkdeb.sh $(BUILD)/deb

# Longer fuzzing than make test's slice (tests/fuzz; crashes in build/fuzz).
soak: deps
	VSSD_SUITE_TIMEOUT=7200 bash tests/run.sh tests/soak/qtest-sanitize.sh \
		tests/soak/fuzz-device.sh
	$(MAKE) fuzz

fuzz: deps
	$(MAKE) -C tests/fuzz OUT=$(BUILD)/fuzz run SECONDS=$${VSSD_FUZZ_SECONDS:-600}

clean:
	rm -rf build
	-$(MAKE) -C guest-driver clean KDIR=$$(cat $(BUILD)/guest/kdir 2>/dev/null || echo /lib/modules/$$(uname -r)/build)
