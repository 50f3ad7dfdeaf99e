# SPDX-License-Identifier: GPL-2.0-or-later
"""logwrites.py - what a write log says reached stable storage.

    python3 logwrites.py durable LOG BASE OUT
        OUT := BASE with every write of LOG that a flush made durable
        applied in order (the writes logged before the last FLUSH entry).
        Prints "entries N flushes F durable D".
    python3 logwrites.py summary LOG
        One line per entry: index, kind, sector, sectors.

LOG is the log of QEMU's blklogwrites block driver, the on-disk format of
Linux's dm-log-writes (the technique of the Linux file-system test suite):
sector 0 is the super block (magic, version, nr_entries, sectorsize; only
the first nr_entries entries are committed, and it is rewritten at every
flush); the entries follow from sector 1, each a header sector (sector,
nr_sectors, flags, data_len) and, for a write or a write of zeroes, its
nr_sectors sectors of data. A FLUSH entry says that every write logged
before it was on stable storage when the flush completed; QEMU turns a FUA
write into a write and a flush, so FUA needs no case of its own. What a
host crash would keep is BASE plus the writes before the last flush.
"""
import shutil
import struct
import sys

MAGIC = 0x6a736677736872
FLUSH, FUA, DISCARD, MARK = 1, 2, 4, 8
SUPER = struct.Struct("<QQQI")
ENTRY = struct.Struct("<QQQQ")


def entries(log):
    """The committed entries of LOG: (index, flags, sector, sectors, data)."""
    with open(log, "rb") as f:
        magic, version, nr, ss = SUPER.unpack(f.read(SUPER.size))
        if (magic, version, nr, ss) == (0, 0, 0, 0):
            return      # written at the first flush: nothing committed yet
        if magic != MAGIC or version != 1 or ss < 512 or ss & (ss - 1):
            raise SystemExit("logwrites: %s is not a write log" % log)
        pos = ss
        for i in range(nr):
            f.seek(pos)
            sector, sectors, flags, _ = ENTRY.unpack(f.read(ENTRY.size))
            pos += ss
            data = b""
            if not flags & (FLUSH | DISCARD | MARK):
                f.seek(pos)
                data = f.read(sectors * ss)
                if len(data) != sectors * ss:
                    raise SystemExit("logwrites: entry %d is cut short" % i)
                pos += sectors * ss
            yield i, flags, sector, sectors, ss, data


def durable(log, base, out):
    ents = list(entries(log))
    flushes = [e[0] for e in ents if e[1] & FLUSH]
    last = flushes[-1] if flushes else -1
    shutil.copyfile(base, out)
    applied = 0
    with open(out, "r+b") as f:
        for i, flags, sector, sectors, ss, data in ents:
            if i >= last:
                break
            if flags & DISCARD:
                # the content is not defined after a discard: zeroes
                data = bytes(sectors * ss)
            elif flags & (FLUSH | MARK):
                continue
            f.seek(sector * ss)
            f.write(data)
            applied += 1
    print("entries %d flushes %d durable %d" % (len(ents), len(flushes),
                                                applied))


def summary(log):
    for i, flags, sector, sectors, _, _ in entries(log):
        kind = ("flush" if flags & FLUSH else "discard" if flags & DISCARD
                else "mark" if flags & MARK else "write")
        print(i, kind, sector, sectors)


def main(argv):
    if len(argv) == 5 and argv[1] == "durable":
        durable(argv[2], argv[3], argv[4])
    elif len(argv) == 3 and argv[1] == "summary":
        summary(argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
