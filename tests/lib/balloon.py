#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Host-side helpers of the resize tests (standard library only).

    balloon.py resize SOCKET DEVICE SIZE [SIZE...] [--policy P] [--timeout S]
        Send ssd-balloon for each SIZE in turn (a later one replaces the
        earlier targets), then wait until an SSD_BALLOON_CHANGE event
        reports size == requested-size == the last SIZE. Prints one JSON
        object: the block region's query-ssd-balloon entry after that,
        plus "events" (every SSD_BALLOON_CHANGE seen, in order) and
        "seconds" (from the last ssd-balloon to the final event).
        Exit 1 on a QMP error, 2 on a timeout or connection error.
    balloon.py query SOCKET DEVICE
        The block region's query-ssd-balloon entry as JSON.
    balloon.py holes FILE BLOCK-SIZE
        The blocks of FILE that hold no host storage at all (holes), as
        ranges "3 7-9" on one line: the blocks a guest gave back.
    balloon.py statemap STATE-FILE
        The unplugged blocks of the block region as the device's
        state-file records them (format: qemu/hw/block/vssd/vssd-state.h).
    balloon.py union RANGES...
        The union of block ranges, sorted and merged.
    balloon.py field JSON-FILE KEY
        Print one top-level member of a JSON object ("events" as a count).

One QMP connection per call: QEMU serves one client per socket.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp import QMP, QMPError, QMPTimeout  # noqa: E402
from hostfile import (hole_blocks, parse_ranges, ranges_text,  # noqa: E402
                      region_entry, state_maps)


def block_entry(q, device):
    e = region_entry(q, device, "block")
    if e is None:
        raise SystemExit(f"balloon.py: {device} has no block region")
    return e


def cmd_resize(argv):
    sock, device = argv[0], argv[1]
    sizes, policy, timeout = [], None, 120.0
    i = 2
    while i < len(argv):
        if argv[i] == "--policy":
            policy = argv[i + 1]
            i += 2
        elif argv[i] == "--timeout":
            timeout = float(argv[i + 1])
            i += 2
        else:
            sizes.append(int(argv[i]))
            i += 1
    target = sizes[-1]
    with QMP(sock, timeout=30) as q:
        q.clear_events()
        for size in sizes:
            args = {"device": device, "size": size}
            if policy:
                args["policy"] = policy
            q.command("ssd-balloon", **args)
        start = time.monotonic()
        seen = []
        deadline = start + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise QMPTimeout(f"no SSD_BALLOON_CHANGE with size {target} "
                                 f"within {timeout} s; saw {seen}")
            ev = q.wait_event("SSD_BALLOON_CHANGE", timeout=left)
            seen.append(ev["data"])
            d = ev["data"]
            if d["size"] == target and d["requested-size"] == target:
                break
        entry = block_entry(q, device)
        entry["events"] = seen
        entry["seconds"] = round(time.monotonic() - start, 3)
        print(json.dumps(entry))


def cmd_query(argv):
    with QMP(argv[0], timeout=30) as q:
        print(json.dumps(block_entry(q, argv[1])))


def cmd_holes(argv):
    print(ranges_text(hole_blocks(argv[0], int(argv[1]))))


def cmd_statemap(argv):
    for region, nb, plugged in state_maps(argv[0]):
        if region == 0:
            print(ranges_text(b for b in range(nb) if b not in plugged))
            return
    raise ValueError(f"{argv[0]}: no block region")


def cmd_union(argv):
    blocks = set()
    for text in argv:
        blocks |= parse_ranges(text)
    print(ranges_text(sorted(blocks)))


def cmd_field(argv):
    with open(argv[0]) as f:
        obj = json.load(f)
    v = obj[argv[1]]
    print(len(v) if isinstance(v, list) else v)


def main(argv):
    cmds = {"resize": (cmd_resize, 3), "query": (cmd_query, 2),
            "holes": (cmd_holes, 2), "field": (cmd_field, 2),
            "statemap": (cmd_statemap, 1), "union": (cmd_union, 0)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 < cmds[argv[1]][1]:
        sys.stderr.write(__doc__)
        return 2
    try:
        cmds[argv[1]][0](argv[2:])
    except QMPError as e:
        print(f"balloon.py: {e}", file=sys.stderr)
        return 1
    except (OSError, QMPTimeout, ValueError, KeyError) as e:
        print(f"balloon.py: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
