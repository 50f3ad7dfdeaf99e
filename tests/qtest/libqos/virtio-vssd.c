/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libqos node for the virtio-vssd device.
 *
 * "virtio-vssd-pci" sits on a PCI bus and produces the "virtio-vssd"
 * interface that the tests in virtio-vssd-test.c consume. The device needs a
 * block backend named QVIRTIO_VSSD_NODE_NAME, which each test provides with
 * its own -blockdev (a fresh image per test), so the node does not produce
 * the generic "virtio" or "pci-device" interfaces: tests written for those
 * would start QEMU without the backend. Tests of the persistent-memory
 * region add a memory backend and "-global virtio-vssd.memdev=..." (or
 * start a QEMU of their own for a device without a block region).
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "../libqtest.h"
#include "qemu/module.h"
#include "standard-headers/linux/virtio_vssd.h"
#include "qgraph.h"
#include "virtio-vssd.h"

#define VSSD_PCI_SLOT   0x04
#define VSSD_PCI_FN     0x00

static void *qvirtio_vssd_get_driver(QVirtioVssd *vssd, const char *interface)
{
    if (!g_strcmp0(interface, "virtio-vssd")) {
        return vssd;
    }
    if (!g_strcmp0(interface, "virtio")) {
        return vssd->vdev;
    }

    fprintf(stderr, "%s not present in virtio-vssd\n", interface);
    g_assert_not_reached();
}

static void *qvirtio_vssd_pci_get_driver(void *object, const char *interface)
{
    QVirtioVssdPCI *v = object;

    if (!g_strcmp0(interface, "pci-device")) {
        return v->pci_vdev.pdev;
    }
    return qvirtio_vssd_get_driver(&v->vssd, interface);
}

static void *virtio_vssd_pci_create(void *pci_bus, QGuestAllocator *alloc,
                                    void *addr)
{
    QVirtioVssdPCI *v = g_new0(QVirtioVssdPCI, 1);
    QPCIBus *bus = pci_bus;

    virtio_pci_init(&v->pci_vdev, bus, addr);
    v->vssd.vdev = &v->pci_vdev.vdev;
    v->vssd.qts = bus->qts;
    v->vssd.pdev = v->pci_vdev.pdev;

    g_assert_cmphex(v->vssd.vdev->device_type, ==, VIRTIO_ID_VSSD);

    v->pci_vdev.obj.get_driver = qvirtio_vssd_pci_get_driver;
    return &v->pci_vdev.obj;
}

static void virtio_vssd_register_nodes(void)
{
    QPCIAddress addr = {
        .devfn = QPCI_DEVFN(VSSD_PCI_SLOT, VSSD_PCI_FN),
    };
    QOSGraphEdgeOptions opts = { };
    g_autofree char *dev_opts =
        g_strdup_printf("id=%s,drive=%s,serial=%s,addr=%x.%x",
                        QVIRTIO_VSSD_ID, QVIRTIO_VSSD_NODE_NAME,
                        QVIRTIO_VSSD_SERIAL, VSSD_PCI_SLOT, VSSD_PCI_FN);

    opts.extra_device_opts = dev_opts;
    add_qpci_address(&opts, &addr);
    qos_node_create_driver("virtio-vssd-pci", virtio_vssd_pci_create);
    qos_node_consumes("virtio-vssd-pci", "pci-bus", &opts);
    qos_node_produces("virtio-vssd-pci", "virtio-vssd");
}

libqos_init(virtio_vssd_register_nodes);
