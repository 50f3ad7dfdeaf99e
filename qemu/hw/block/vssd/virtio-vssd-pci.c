/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vssd over PCI: modern only (device ID 0x1040 + VIRTIO_ID_VSSD).
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/qdev-properties.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/block/vssd/virtio-vssd.h"
#include "qom/object.h"

typedef struct VirtIOVSSDPCI VirtIOVSSDPCI;

#define TYPE_VIRTIO_VSSD_PCI "virtio-vssd-pci-base"
DECLARE_INSTANCE_CHECKER(VirtIOVSSDPCI, VIRTIO_VSSD_PCI, TYPE_VIRTIO_VSSD_PCI)

struct VirtIOVSSDPCI {
    VirtIOPCIProxy parent_obj;
    VirtIOVSSD vdev;
};

static Property virtio_vssd_pci_properties[] = {
    /*
     * Kicks through an eventfd are served by the main loop (or the
     * IOThread) instead of stalling the vCPU that wrote the notify register.
     */
    DEFINE_PROP_BIT("ioeventfd", VirtIOPCIProxy, flags,
                    VIRTIO_PCI_FLAG_USE_IOEVENTFD_BIT, true),
    DEFINE_PROP_UINT32("vectors", VirtIOPCIProxy, nvectors,
                       DEV_NVECTORS_UNSPECIFIED),
    DEFINE_PROP_END_OF_LIST(),
};

static void virtio_vssd_pci_realize(VirtIOPCIProxy *vpci_dev, Error **errp)
{
    VirtIOVSSDPCI *dev = VIRTIO_VSSD_PCI(vpci_dev);
    DeviceState *vdev = DEVICE(&dev->vdev);

    if (vpci_dev->nvectors == DEV_NVECTORS_UNSPECIFIED) {
        const uint64_t num_queues =
            object_property_get_uint(OBJECT(vdev), VIRTIO_VSSD_NUM_QUEUES_PROP,
                                     &error_abort);

        /* request queues, the control queue, config changes */
        vpci_dev->nvectors = MIN(num_queues, VIRTIO_VSSD_MAX_NUM_QUEUES) + 2;
    }
    virtio_pci_force_virtio_1(vpci_dev);
    qdev_realize(vdev, BUS(&vpci_dev->bus), errp);
}

static void virtio_vssd_pci_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioPCIClass *k = VIRTIO_PCI_CLASS(klass);
    PCIDeviceClass *pcidev_k = PCI_DEVICE_CLASS(klass);

    k->realize = virtio_vssd_pci_realize;
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
}

static const VirtioPCIDeviceTypeInfo virtio_vssd_pci_info = {
    .base_name = TYPE_VIRTIO_VSSD_PCI,
    .generic_name = "virtio-vssd-pci",
    .instance_size = sizeof(VirtIOVSSDPCI),
    .instance_init = virtio_vssd_pci_instance_init,
    .class_init = virtio_vssd_pci_class_init,
};

static void virtio_vssd_pci_register_types(void)
{
    virtio_pci_types_register(&virtio_vssd_pci_info);
}

type_init(virtio_vssd_pci_register_types)
