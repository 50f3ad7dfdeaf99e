// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: fault injection for the tests.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * Built only with VSSD_TESTING=1. The knobs are in debugfs, root only:
 *
 *   /sys/kernel/debug/virtio_vssd/scm_table_tear
 *       Y tears the next update of the /dev/scm region table after its
 *       entries, as if the guest died there: the update fails with -EIO
 *       and the knob goes back to N (tests/e2e/scm-crash.sh).
 */

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/module.h>
#include "vssd_testing.h"

static struct dentry *vssd_testing_dir;
static bool vssd_tear_table;

/**
 * vssd_testing_init - create the knobs (module init)
 *
 * debugfs failures are not the module's: without the knobs the tests
 * that need them fail, nothing else changes.
 */
void vssd_testing_init(void)
{
	vssd_testing_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_bool("scm_table_tear", 0600, vssd_testing_dir,
			    &vssd_tear_table);
	pr_info("test build: fault injection in debugfs %s/\n", KBUILD_MODNAME);
}

/**
 * vssd_testing_exit - remove the knobs (module exit)
 */
void vssd_testing_exit(void)
{
	debugfs_remove(vssd_testing_dir);
	vssd_testing_dir = NULL;
}

/**
 * vssd_testing_tear_table - whether to tear this region table update
 *
 * Return: true once per write of Y to scm_table_tear (the knob resets).
 */
bool vssd_testing_tear_table(void)
{
	return xchg(&vssd_tear_table, false);
}
