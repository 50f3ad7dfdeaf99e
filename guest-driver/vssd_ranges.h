/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-vssd guest driver: block range lists (vssd_ranges.c).
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * Pure helpers, no device state: the wire encoding of block sets
 * (struct virtio_vssd_range) and the text syntax of /proc ("12 40-47 90").
 */
#ifndef _VSSD_RANGES_H
#define _VSSD_RANGES_H

#include <linux/types.h>
#include <linux/virtio_vssd.h>

struct seq_file;

/* Longest token of a range list: two 20-digit numbers and a dash. */
#define VSSD_TOKEN_MAX		42

unsigned int vssd_ranges_from_bitmap(struct virtio_vssd_range *ranges,
				     unsigned int max,
				     const unsigned long *map, u64 nbits,
				     u64 *from);
unsigned int vssd_ranges_check(const struct virtio_vssd_range *ranges,
			       unsigned int nr, u64 nr_blocks, u64 *total);
void vssd_ranges_to_bitmap(const struct virtio_vssd_range *ranges,
			   unsigned int nr, unsigned long *map);

int vssd_parse_range(const char *tok, u64 nr_blocks, u64 *first, u64 *last);
char *vssd_next_token(char **pos);
bool vssd_ranges_has_token(const char *buf);
char *vssd_ranges_unfinished(char *buf);
void vssd_seq_ranges(struct seq_file *m, const u32 *blocks, u32 nr);
void vssd_seq_bitmap_ranges(struct seq_file *m, const unsigned long *map,
			    u64 nr_bits);

#endif /* _VSSD_RANGES_H */
