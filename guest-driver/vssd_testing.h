/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-vssd guest driver: fault injection for the tests (vssd_testing.c).
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * Only a test build (make VSSD_TESTING=1, which the guest image of the
 * tests uses) has the knobs; in any other build the hooks are constant
 * and the code behind them is compiled out.
 */
#ifndef _VSSD_TESTING_H
#define _VSSD_TESTING_H

#include <linux/types.h>

#ifdef VSSD_TESTING
void vssd_testing_init(void);
void vssd_testing_exit(void);
bool vssd_testing_tear_table(void);
#else
static inline void vssd_testing_init(void)
{
}

static inline void vssd_testing_exit(void)
{
}

static inline bool vssd_testing_tear_table(void)
{
	return false;
}
#endif

#endif /* _VSSD_TESTING_H */
