/* SPDX-License-Identifier: GPL-2.0-or-later */
/* placeholder, replaced below */
#include "qemu/osdep.h"
