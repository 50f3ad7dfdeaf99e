/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vssdctl: sizes on the command line and in output.
 */
#ifndef VSSD_SIZE_H
#define VSSD_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* Largest size we accept: QMP integers are signed 64-bit. */
#define SIZE_MAX_BYTES ((uint64_t)INT64_MAX)

/*
 * Parse "4096", "768M", "1G", "2t", "512KiB": decimal digits, then at most
 * one binary suffix K, M, G or T (either case, optionally followed by "iB"
 * or "B").  Rejects empty input, signs, spaces, fractions, other suffixes
 * and values above SIZE_MAX_BYTES.  On failure returns -1 and points
 * @why at a short reason ("negative", "too large", ...).
 */
int size_parse(const char *s, uint64_t *bytes, const char **why);

/*
 * Format @bytes exactly: with the largest suffix that divides it ("768M",
 * "1G", "3K") or as plain bytes ("4097").  Returns @buf.
 */
char *size_format(uint64_t bytes, char *buf, size_t len);

/* Buffer size that always fits size_format()'s output. */
#define SIZE_BUF 24

#endif /* VSSD_SIZE_H */
