# SPDX-License-Identifier: GPL-2.0-or-later
"""Block ranges and the host files behind a vSSD (standard library only).

    ranges_text(blocks)       sorted block numbers as "3 7-9"
    parse_ranges(text)        "3 7-9" back to a set of block numbers
    hole_blocks(path, bs)     the blocks of a file that hold no storage
    region_entry(q, dev, r)   query-ssd-balloon's entry of region r

Shared by balloon.py (the block region) and scm.py (the pmem region).
"""

import os


def ranges_text(blocks):
    out, first, last = [], None, None
    for b in blocks:
        if first is not None and b == last + 1:
            last = b
            continue
        if first is not None:
            out.append(str(first) if first == last else f"{first}-{last}")
        first = last = b
    if first is not None:
        out.append(str(first) if first == last else f"{first}-{last}")
    return " ".join(out)


def parse_ranges(text):
    blocks = set()
    for r in text.split():
        lo, _, hi = r.partition("-")
        blocks.update(range(int(lo), int(hi or lo) + 1))
    return blocks


def hole_blocks(path, bs):
    """Blocks of bs bytes of the file at path without any data (holes)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        nr = size // bs
        has_data = bytearray(nr)
        off = 0
        while off < size:
            try:
                start = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:  # ENXIO: no data after off
                break
            end = os.lseek(fd, start, os.SEEK_HOLE)
            for b in range(start // bs, min((end - 1) // bs, nr - 1) + 1):
                has_data[b] = 1
            off = end
    finally:
        os.close(fd)
    return [b for b in range(nr) if not has_data[b]]


def region_entry(q, device, region):
    """The query-ssd-balloon entry of device's region, or None."""
    for e in q.command("query-ssd-balloon", device=device):
        if e.get("region") == region:
            return e
    return None


def state_maps(path):
    """The plugged maps of a device state file (QEMU property state-file,
    format in qemu/hw/block/vssd/vssd-state.h): a list of (region id,
    number of blocks, set of plugged blocks), in the file's order."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"VSSDMAP\0":
        raise ValueError(f"{path}: not a vssd state file")
    nr_regions = int.from_bytes(data[12:16], "little")
    off = 24
    maps = []
    for _ in range(nr_regions):
        region = int.from_bytes(data[off:off + 2], "little")
        nb = int.from_bytes(data[off + 16:off + 24], "little")
        bitmap = data[off + 32:off + 32 + 8 * ((nb + 63) // 64)]
        maps.append((region, nb, {b for b in range(nb)
                                  if bitmap[b // 8] >> (b % 8) & 1}))
        off += 32 + len(bitmap)
    return maps
