/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vssd over PCI: modern only (device ID 0x1040 + VIRTIO_ID_VSSD).
 *
 * BARs: 1 MSI-X, 4+5 the virtio structures (common, ISR, device, notify),
 * and with "memdev" 2+3: the persistent-memory region, a 64-bit
 * prefetchable memory BAR holding the memdev's RAM at offset 0 (the BAR is
 * the region's size rounded up to a power of two). A
 * VIRTIO_PCI_CAP_SHARED_MEMORY_CFG capability (struct virtio_pci_cap64,
 * id VIRTIO_VSSD_SHM_PMEM) describes it, as Linux's
 * virtio_get_shm_region() reads it. BAR 2 is virtio-pci's modern I/O BAR
 * otherwise, so "modern-pio-notify" and "memdev" exclude each other.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "qemu/host-utils.h"
#include "qapi/error.h"
#include "hw/qdev-properties.h"
#include "hw/pci/pci.h"
#include "hw/virtio/virtio-pci.h"
#include "standard-headers/linux/virtio_pci.h"
#include "hw/virtio/virtio-vssd.h"
#include "qom/object.h"

#define TYPE_VIRTIO_VSSD_PCI "virtio-vssd-pci-base"
OBJECT_DECLARE_TYPE(VirtIOVSSDPCI, VirtIOVSSDPCIClass, VIRTIO_VSSD_PCI)

/* The BAR of the persistent-memory region (with BAR 3: 64 bits). */
#define VIRTIO_VSSD_PCI_PMEM_BAR 2

struct VirtIOVSSDPCI {
    VirtIOPCIProxy parent_obj;
    VirtIOVSSD vdev;
    /* BAR VIRTIO_VSSD_PCI_PMEM_BAR: a power of two, holds @pmem_alias */
    MemoryRegion pmem_bar;
    /* the memdev's RAM, at offset 0 of @pmem_bar */
    MemoryRegion pmem_alias;
    /* @pmem_alias is in @pmem_bar */
    bool pmem_mapped;
};

struct VirtIOVSSDPCIClass {
    VirtioPCIClass parent_class;
    /* PCIDevice's unrealize, which we extend */
    DeviceUnrealize parent_unrealize;
};

static const Property virtio_vssd_pci_properties[] = {
    /*
     * Kicks through an eventfd are served by the main loop (or the
     * IOThread) instead of stalling the vCPU that wrote the notify register.
     */
    DEFINE_PROP_BIT("ioeventfd", VirtIOPCIProxy, flags,
                    VIRTIO_PCI_FLAG_USE_IOEVENTFD_BIT, true),
    DEFINE_PROP_UINT32("vectors", VirtIOPCIProxy, nvectors,
                       DEV_NVECTORS_UNSPECIFIED),
};

/*
 * Adds a VIRTIO_PCI_CAP_SHARED_MEMORY_CFG capability: shared memory region
 * @id is @length bytes at @offset of BAR @bar. Like virtio-pci's own
 * capabilities it cannot fail: config space has room for a few more.
 */
static void virtio_vssd_pci_add_shm_cap(VirtIOPCIProxy *vpci_dev, uint8_t bar,
                                        uint8_t id, uint64_t offset,
                                        uint64_t length)
{
    PCIDevice *pci_dev = &vpci_dev->pci_dev;
    struct virtio_pci_cap64 cap = {
        .cap.cap_len = sizeof(cap),
        .cap.cfg_type = VIRTIO_PCI_CAP_SHARED_MEMORY_CFG,
        .cap.bar = bar,
        .cap.id = id,
        .cap.offset = cpu_to_le32(offset),
        .cap.length = cpu_to_le32(length),
        .offset_hi = cpu_to_le32(offset >> 32),
        .length_hi = cpu_to_le32(length >> 32),
    };
    int pos = pci_add_capability(pci_dev, PCI_CAP_ID_VNDR, 0, sizeof(cap),
                                 &error_abort);

    /* pci_add_capability() wrote the ID and the next pointer */
    memcpy(pci_dev->config + pos + PCI_CAP_FLAGS, &cap.cap.cap_len,
           sizeof(cap) - PCI_CAP_FLAGS);
}

/* Maps the pmem region @mr for the guest: BAR and capability. */
static void virtio_vssd_pci_map_pmem(VirtIOVSSDPCI *dev, MemoryRegion *mr)
{
    VirtIOPCIProxy *vpci_dev = VIRTIO_PCI(dev);
    const uint64_t size = memory_region_size(mr);

    memory_region_init(&dev->pmem_bar, OBJECT(dev), "virtio-vssd-pmem-bar",
                       pow2ceil(size));
    memory_region_init_alias(&dev->pmem_alias, OBJECT(dev),
                             "virtio-vssd-pmem", mr, 0, size);
    memory_region_add_subregion(&dev->pmem_bar, 0, &dev->pmem_alias);
    pci_register_bar(&vpci_dev->pci_dev, VIRTIO_VSSD_PCI_PMEM_BAR,
                     PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_PREFETCH |
                     PCI_BASE_ADDRESS_MEM_TYPE_64, &dev->pmem_bar);
    virtio_vssd_pci_add_shm_cap(vpci_dev, VIRTIO_VSSD_PCI_PMEM_BAR,
                                VIRTIO_VSSD_SHM_PMEM, 0, size);
    dev->pmem_mapped = true;
}

static void virtio_vssd_pci_realize(VirtIOPCIProxy *vpci_dev, Error **errp)
{
    VirtIOVSSDPCI *dev = VIRTIO_VSSD_PCI(vpci_dev);
    DeviceState *vdev = DEVICE(&dev->vdev);
    VirtIOVSSDClass *vc = VIRTIO_VSSD_GET_CLASS(&dev->vdev);
    MemoryRegion *pmem;
    uint64_t num_queues = object_property_get_uint(OBJECT(vdev),
                                                   VIRTIO_VSSD_NUM_QUEUES_PROP,
                                                   &error_abort);

    if (num_queues == VIRTIO_VSSD_AUTO_NUM_QUEUES) {
        /* one per vCPU, as virtio-blk-pci; the control queue is extra */
        num_queues = MIN(virtio_pci_optimal_num_queues(1),
                         VIRTIO_VSSD_MAX_NUM_QUEUES);
        object_property_set_uint(OBJECT(vdev), VIRTIO_VSSD_NUM_QUEUES_PROP,
                                 num_queues, &error_abort);
    }
    if (vpci_dev->nvectors == DEV_NVECTORS_UNSPECIFIED) {
        /* request queues, the control queue, config changes */
        vpci_dev->nvectors = MIN(num_queues, VIRTIO_VSSD_MAX_NUM_QUEUES) + 2;
    }
    if ((vpci_dev->flags & VIRTIO_PCI_FLAG_MODERN_PIO_NOTIFY) &&
        object_property_get_link(OBJECT(vdev), VIRTIO_VSSD_MEMDEV_PROP,
                                 &error_abort)) {
        error_setg(errp, "'modern-pio-notify' property: BAR %d holds the "
                   "persistent-memory region ('%s')",
                   VIRTIO_VSSD_PCI_PMEM_BAR, VIRTIO_VSSD_MEMDEV_PROP);
        return;
    }
    virtio_pci_force_virtio_1(vpci_dev);
    if (!qdev_realize(vdev, BUS(&vpci_dev->bus), errp)) {
        return;
    }
    pmem = vc->get_pmem_region(&dev->vdev);
    if (pmem) {
        virtio_vssd_pci_map_pmem(dev, pmem);
    }
}

/*
 * After the PCI device is gone (BARs unregistered, the virtio-vssd device
 * unrealized): the memdev leaves our BAR, so it can be used again and our
 * regions can be finalized in any order.
 */
static void virtio_vssd_pci_unrealize(DeviceState *qdev)
{
    VirtIOVSSDPCI *dev = VIRTIO_VSSD_PCI(qdev);
    VirtIOVSSDPCIClass *vc = VIRTIO_VSSD_PCI_GET_CLASS(dev);

    vc->parent_unrealize(qdev);
    if (dev->pmem_mapped) {
        memory_region_del_subregion(&dev->pmem_bar, &dev->pmem_alias);
        dev->pmem_mapped = false;
    }
}

static void virtio_vssd_pci_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioPCIClass *k = VIRTIO_PCI_CLASS(klass);
    PCIDeviceClass *pcidev_k = PCI_DEVICE_CLASS(klass);
    VirtIOVSSDPCIClass *vc = VIRTIO_VSSD_PCI_CLASS(klass);

    k->realize = virtio_vssd_pci_realize;
    device_class_set_parent_unrealize(dc, virtio_vssd_pci_unrealize,
                                      &vc->parent_unrealize);
    device_class_set_props(dc, virtio_vssd_pci_properties);
    set_bit(DEVICE_CATEGORY_STORAGE, dc->categories);
    pcidev_k->revision = VIRTIO_PCI_ABI_VERSION;
    pcidev_k->class_id = PCI_CLASS_STORAGE_OTHER;
}

static void virtio_vssd_pci_instance_init(Object *obj)
{
    VirtIOVSSDPCI *dev = VIRTIO_VSSD_PCI(obj);

    /* qdev properties are aliased by virtio_instance_init_common() */
    virtio_instance_init_common(obj, &dev->vdev, sizeof(dev->vdev),
                                TYPE_VIRTIO_VSSD);
    object_property_add_alias(obj, VIRTIO_VSSD_BLOCK_REGION_SIZE_PROP,
                              OBJECT(&dev->vdev),
                              VIRTIO_VSSD_BLOCK_REGION_SIZE_PROP);
    object_property_add_alias(obj, VIRTIO_VSSD_BLOCK_PLUGGED_SIZE_PROP,
                              OBJECT(&dev->vdev),
                              VIRTIO_VSSD_BLOCK_PLUGGED_SIZE_PROP);
    object_property_add_alias(obj, VIRTIO_VSSD_PMEM_REGION_SIZE_PROP,
                              OBJECT(&dev->vdev),
                              VIRTIO_VSSD_PMEM_REGION_SIZE_PROP);
    object_property_add_alias(obj, VIRTIO_VSSD_PMEM_PLUGGED_SIZE_PROP,
                              OBJECT(&dev->vdev),
                              VIRTIO_VSSD_PMEM_PLUGGED_SIZE_PROP);
}

static const VirtioPCIDeviceTypeInfo virtio_vssd_pci_info = {
    .base_name = TYPE_VIRTIO_VSSD_PCI,
    .generic_name = "virtio-vssd-pci",
    .instance_size = sizeof(VirtIOVSSDPCI),
    .class_size = sizeof(VirtIOVSSDPCIClass),
    .instance_init = virtio_vssd_pci_instance_init,
    .class_init = virtio_vssd_pci_class_init,
};

static void virtio_vssd_pci_register_types(void)
{
    virtio_pci_types_register(&virtio_vssd_pci_info);
}

type_init(virtio_vssd_pci_register_types)
