#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Shrink a vSSD's block region over QMP and wait until it is done.

    shrink.py SOCKET DEVICE SIZE POLICY [--step BLOCKS] [--timeout S]

Sends ssd-balloon (size SIZE bytes, policy guest or host), polls
query-ssd-balloon every 10 ms until the region is idle at SIZE, and
prints one JSON object: policy, steps, ms (polled, from the first
command), device_ms (the device's last-resize-ms, of the last step) and
blocks_evicted. With --step, the shrink goes in steps of at most BLOCKS
blocks, each waited for. Exit status 1 on a QMP error or timeout.
Standard library only (and tests/lib/qmp.py).
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "lib"))
from qmp import QMP, QMPError  # noqa: E402


def block_region(q, device):
    return [i for i in q.command("query-ssd-balloon", device=device)
            if i["region"] == "block"][0]


def shrink_to(q, device, size, policy, deadline):
    """One ssd-balloon, polled until idle at size; the final info or None."""
    q.command("ssd-balloon", device=device, size=size, policy=policy)
    while True:
        info = block_region(q, device)
        if info["size"] == size and info["status"] == "idle":
            return info
        if time.monotonic() > deadline:
            print(f"shrink: still {info['size']} bytes, not {size}",
                  file=sys.stderr)
            return None
        time.sleep(0.01)


def targets(start, size, step_bytes):
    """The sizes to ask for in turn, ending at size."""
    if not step_bytes:
        return [size]
    return list(range(start - step_bytes, size, -step_bytes)) + [size]


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("socket")
    p.add_argument("device")
    p.add_argument("size", type=int)
    p.add_argument("policy", choices=("guest", "host"))
    p.add_argument("--step", type=int, default=0)
    p.add_argument("--timeout", type=float, default=300.0)
    args = p.parse_args(argv)
    with QMP(args.socket, timeout=30.0) as q:
        first = block_region(q, args.device)
        steps = targets(first["size"], args.size, args.step * first["block-size"])
        start = time.monotonic()
        deadline = start + args.timeout
        try:
            for size in steps:
                info = shrink_to(q, args.device, size, args.policy, deadline)
                if info is None:
                    return 1
        except QMPError as e:
            print(f"shrink: {e}", file=sys.stderr)
            return 1
        elapsed = time.monotonic() - start
    print(json.dumps({
        "policy": args.policy,
        "steps": len(steps),
        "ms": round(elapsed * 1000.0, 1),
        "device_ms": info.get("last-resize-ms"),
        "blocks_evicted": info["blocks-evicted"] - first["blocks-evicted"],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
