// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: block range lists.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * The lowest layer of the driver: it knows no device. Block sets travel
 * on the control queue as lists of (first, count) ranges and are shown
 * and written in /proc as inclusive ranges ("12 40-47 90"); what is read
 * can be written back.
 */

#include <linux/bitmap.h>
#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include "vssd_ranges.h"

/**
 * vssd_ranges_from_bitmap - encode set bits of a bitmap as wire ranges
 * @ranges: receives the ranges
 * @max: room in @ranges
 * @map: the bitmap
 * @nbits: bits in @map
 * @from: first bit to look at; moved past the last range encoded
 *
 * Return: the number of ranges written, 0 when no bit is set from *@from.
 */
unsigned int vssd_ranges_from_bitmap(struct virtio_vssd_range *ranges,
				     unsigned int max,
				     const unsigned long *map, u64 nbits,
				     u64 *from)
{
	unsigned int nr = 0;
	u64 start, end = *from;

	while (nr < max) {
		start = find_next_bit(map, nbits, end);
		if (start >= nbits)
			break;
		end = find_next_zero_bit(map, nbits, start);
		ranges[nr].first = cpu_to_le64(start);
		ranges[nr].count = cpu_to_le64(end - start);
		nr++;
	}
	*from = end;
	return nr;
}

/**
 * vssd_ranges_check - check wire ranges received from the device
 * @ranges: the ranges
 * @nr: how many
 * @nr_blocks: blocks in the region; every range must lie below it
 * @total: receives the blocks the valid ranges hold
 *
 * Return: the index of the first empty or out-of-range range, or @nr when
 * all are valid.
 */
unsigned int vssd_ranges_check(const struct virtio_vssd_range *ranges,
			       unsigned int nr, u64 nr_blocks, u64 *total)
{
	unsigned int i;

	*total = 0;
	for (i = 0; i < nr; i++) {
		u64 first = le64_to_cpu(ranges[i].first);
		u64 count = le64_to_cpu(ranges[i].count);

		if (!count || first >= nr_blocks || count > nr_blocks - first)
			break;
		*total += count;
	}
	return i;
}

/**
 * vssd_ranges_to_bitmap - set the bits of checked wire ranges
 * @ranges: ranges that passed vssd_ranges_check()
 * @nr: how many
 * @map: the bitmap to set them in
 */
void vssd_ranges_to_bitmap(const struct virtio_vssd_range *ranges,
			   unsigned int nr, unsigned long *map)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		bitmap_set(map, le64_to_cpu(ranges[i].first),
			   le64_to_cpu(ranges[i].count));
}

/* A decimal number and nothing else (no sign, no space, no base prefix). */
static int vssd_parse_block(const char *s, u64 *block)
{
	if (!isdigit(*s))
		return -EINVAL;
	return kstrtou64(s, 10, block);
}

/**
 * vssd_parse_range - parse "N" or "A-B" into an inclusive block range
 * @tok: the token, NUL-terminated, without white space
 * @nr_blocks: blocks in the region; every block must be below it
 * @first: receives the first block
 * @last: receives the last block (>= @first)
 *
 * Return: 0, or -EINVAL for anything else.
 */
int vssd_parse_range(const char *tok, u64 nr_blocks, u64 *first, u64 *last)
{
	char buf[VSSD_TOKEN_MAX + 1];
	char *dash;

	if (strscpy(buf, tok, sizeof(buf)) < 0)
		return -EINVAL;
	dash = strchr(buf, '-');
	if (dash)
		*dash++ = '\0';
	if (vssd_parse_block(buf, first))
		return -EINVAL;
	if (!dash)
		*last = *first;
	else if (vssd_parse_block(dash, last))
		return -EINVAL;
	if (*first > *last || *last >= nr_blocks)
		return -EINVAL;
	return 0;
}

/**
 * vssd_next_token - cut the next white-space separated token out of a buffer
 * @pos: the position in the buffer; moved past the token
 *
 * The token is NUL-terminated in place.
 *
 * Return: the token, or NULL at the end of the buffer.
 */
char *vssd_next_token(char **pos)
{
	char *s = skip_spaces(*pos), *end;

	if (!*s)
		return NULL;
	for (end = s; *end && !isspace(*end); end++)
		;
	if (*end)
		*end++ = '\0';
	*pos = end;
	return s;
}

/**
 * vssd_ranges_has_token - whether a buffer holds at least one token
 * @buf: NUL-terminated text
 *
 * Return: true when @buf is not only white space.
 */
bool vssd_ranges_has_token(const char *buf)
{
	return *skip_spaces(buf) != '\0';
}

/**
 * vssd_ranges_unfinished - the last token of a write, if it may go on
 * @buf: NUL-terminated text
 *
 * A token may continue in a next write when @buf does not end in white
 * space and the token is digits with at most one dash (a number or range
 * cut short).
 *
 * Return: that token (inside @buf), or NULL.
 */
char *vssd_ranges_unfinished(char *buf)
{
	size_t len = strlen(buf);
	char *tok;

	if (!len || isspace(buf[len - 1]))
		return NULL;
	for (tok = buf + len; tok > buf && !isspace(tok[-1]); tok--)
		;
	if (strspn(tok, "0123456789-") != strlen(tok) ||
	    strchr(tok, '-') != strrchr(tok, '-'))
		return NULL;
	return tok;
}

/* Print one inclusive range, space-separated from the previous one. */
static void vssd_seq_range(struct seq_file *m, bool *first_out, u64 first,
			   u64 last)
{
	seq_printf(m, first == last ? "%s%llu" : "%s%llu-%llu",
		   *first_out ? "" : " ", first, last);
	*first_out = false;
}

/**
 * vssd_seq_ranges - print block numbers as ranges, one line
 * @m: the seq_file
 * @blocks: block numbers; consecutive ascending runs become ranges
 * @nr: how many
 */
void vssd_seq_ranges(struct seq_file *m, const u32 *blocks, u32 nr)
{
	bool first_out = true;
	u32 i, start = 0;

	for (i = 1; i <= nr; i++) {
		if (i < nr && blocks[i] == blocks[i - 1] + 1)
			continue;
		vssd_seq_range(m, &first_out, blocks[start], blocks[i - 1]);
		start = i;
	}
	seq_putc(m, '\n');
}

/**
 * vssd_seq_bitmap_ranges - print the set bits of a bitmap as ranges, one line
 * @m: the seq_file
 * @map: the bitmap
 * @nr_bits: bits in @map
 */
void vssd_seq_bitmap_ranges(struct seq_file *m, const unsigned long *map,
			    u64 nr_bits)
{
	bool first_out = true;
	u64 start, end = 0;

	for (;;) {
		start = find_next_bit(map, nr_bits, end);
		if (start >= nr_bits)
			break;
		end = find_next_zero_bit(map, nr_bits, start);
		vssd_seq_range(m, &first_out, start, end - 1);
	}
	seq_putc(m, '\n');
}
