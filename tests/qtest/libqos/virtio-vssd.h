/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libqos node for the virtio-vssd device.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#ifndef TESTS_LIBQOS_VIRTIO_VSSD_H
#define TESTS_LIBQOS_VIRTIO_VSSD_H

#include "qgraph.h"
#include "virtio.h"
#include "virtio-pci.h"

/* Names the device is started with (see virtio_vssd_register_nodes()). */
#define QVIRTIO_VSSD_ID         "vssd0"      /* -device id= */
#define QVIRTIO_VSSD_NODE_NAME  "vssd-disk"  /* -blockdev node-name= */
#define QVIRTIO_VSSD_SERIAL     "vssd-qtest-serial"

typedef struct QVirtioVssd QVirtioVssd;
typedef struct QVirtioVssdPCI QVirtioVssdPCI;

/* The "virtio-vssd" interface: virtqueues are set up by each test. */
struct QVirtioVssd {
    QVirtioDevice *vdev;    /* transport-independent virtio device */
    QTestState *qts;        /* the QEMU the device lives in */
    QPCIDevice *pdev;       /* its PCI function (pmem BAR, capabilities) */
};

/* The "virtio-vssd-pci" driver, producing "virtio-vssd". */
struct QVirtioVssdPCI {
    QVirtioPCIDevice pci_vdev;  /* must stay first: the QOSGraphObject */
    QVirtioVssd vssd;           /* the interface handed to tests */
};

#endif
