#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Host-side helpers of tests/e2e/migrate.sh (standard library only).

    migrate.py migrate SRC-SOCKET DST-SOCKET URI [--caps C,...] [--timeout S]
            [--downtime-limit MS] [--max-bandwidth BYTES] [--tell FILE WORD]
            [--refuse-during SSD-BALLOON-JSON]
        Set the same capabilities on both sides (none by default) and a
        high bandwidth limit on the source, start "migrate" to URI and
        wait until query-migrate says "completed" on the source and the
        destination runs. Prints query-migrate's final answer as JSON
        ("downtime", "total-time", "ram"...). Exit 1 when the migration
        failed or was cancelled (the answer is printed too), 2 on a
        timeout or a connection error. With --refuse-during, the source
        pauses before the switch-over (pause-before-switchover), sends
        ssd-balloon with those arguments there, then goes on; the answer
        gets "refused": the error's message, or "accepted". With --tell,
        WORD goes into the mailbox disk FILE (tests/lib/scm.sh scm_tell)
        once the source reports the migration "active".
            [--postcopy SSD-BALLOON-JSON]
        Postcopy instead: postcopy-ram on both sides, migrate-start-postcopy
        at once, a postcopy bandwidth of 32 MiB/s; while the destination
        reports "postcopy-active" it gets ssd-balloon with those arguments
        ("refused" as above, "dest-status" what it reported then).
    migrate.py caps SOCKET C,...
        migrate-set-capabilities C (each true); exit 1 on a QMP error
        (its message on stderr).
    migrate.py regions SOCKET DEVICE
        query-ssd-balloon of DEVICE: one line per region, "REGION size
        requested-size status policy generation" (what source and
        destination must agree on).
    migrate.py entry SOCKET DEVICE REGION
        That region's whole query-ssd-balloon entry as JSON.
    migrate.py statemap STATE-FILE
        The plugged maps of a device's state-file, "REGION RANGES" per
        region (format: qemu/hw/block/vssd/vssd-state.h).
    migrate.py wait-size SOCKET DEVICE REGION SIZE [--timeout S]
        Wait until that region's size and requested size are SIZE and it
        is idle; prints the entry as JSON. Exit 2 on a timeout.
    migrate.py runstate SOCKET
        query-status's "status".

One QMP connection per call: QEMU serves one client per socket.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp import QMP, QMPError, QMPTimeout  # noqa: E402
from hostfile import ranges_text, state_maps  # noqa: E402

REGION_NAMES = {0: "block", 1: "pmem"}


def opt(argv, name, default):
    if name in argv:
        i = argv.index(name)
        value = argv[i + 1]
        del argv[i:i + 2]
        return value
    return default


def set_caps(q, caps):
    if caps:
        q.command("migrate-set-capabilities",
                  capabilities=[{"capability": c, "state": True}
                                for c in caps])


def cmd_migrate(argv):
    caps = [c for c in opt(argv, "--caps", "").split(",") if c]
    timeout = float(opt(argv, "--timeout", "120"))
    refuse = opt(argv, "--refuse-during", None)
    limit = opt(argv, "--downtime-limit", None)
    bandwidth = int(opt(argv, "--max-bandwidth", str(4 << 30)))
    tell = None
    if "--tell" in argv:
        i = argv.index("--tell")
        tell = argv[i + 1:i + 3]
        del argv[i:i + 3]
    postcopy = opt(argv, "--postcopy", None)
    if postcopy:
        caps.append("postcopy-ram")
    src, dst, uri = argv
    refused = None
    seen = ""
    with QMP(dst, timeout=30) as qd, QMP(src, timeout=30) as qs:
        set_caps(qd, caps)
        set_caps(qs, caps + (["pause-before-switchover"] if refuse else []))
        if not postcopy:
            # a QEMU that came in by postcopy keeps the capability
            qs.command("migrate-set-capabilities",
                       capabilities=[{"capability": "postcopy-ram",
                                      "state": False}])
        # the default limit (128 MiB/s) would make RAM the whole story
        qs.command("migrate-set-parameters", **{"max-bandwidth": bandwidth})
        if limit:
            qs.command("migrate-set-parameters",
                       **{"downtime-limit": int(limit)})
        if postcopy:
            qs.command("migrate-set-parameters",
                       **{"max-postcopy-bandwidth": 32 << 20})
        qs.command("migrate", uri=uri)
        if postcopy:
            qs.command("migrate-start-postcopy")
        deadline = time.monotonic() + timeout
        while True:
            info = qs.command("query-migrate")
            status = info.get("status")
            if status == "completed":
                break
            if tell and status == "active":
                with open(tell[0], "r+b") as f:
                    f.write(f"{tell[1]:<63}\n".encode())
                tell = None
            if postcopy and refused is None:
                dstatus = qd.command("query-migrate").get("status")
                if dstatus == "postcopy-active":
                    try:
                        qd.command("ssd-balloon", **json.loads(postcopy))
                        refused = "accepted"
                    except QMPError as e:
                        refused = e.desc
                    seen = dstatus
            if status == "pre-switchover" and refuse and refused is None:
                try:
                    qs.command("ssd-balloon", **json.loads(refuse))
                    refused = "accepted"
                except QMPError as e:
                    refused = e.desc
                qs.command("migrate-continue", state="pre-switchover")
                continue
            if status in ("failed", "cancelled"):
                print(json.dumps(info))
                return 1
            if time.monotonic() >= deadline:
                qs.command("migrate_cancel")
                raise QMPTimeout(f"migration not completed within {timeout} "
                                 f"s (status {status})")
            time.sleep(0.05)
        if tell:
            # never seen active: say it anyway, the guest's checks tell
            with open(tell[0], "r+b") as f:
                f.write(f"{tell[1]:<63}\n".encode())
            info["told-late"] = True
        if refused is not None:
            info["refused"] = refused
            info["dest-status"] = seen
        while qd.command("query-status")["status"] != "running":
            if time.monotonic() >= deadline:
                raise QMPTimeout("the destination does not run")
            time.sleep(0.1)
        print(json.dumps(info))
    return 0


def cmd_caps(argv):
    with QMP(argv[0], timeout=30) as q:
        set_caps(q, argv[1].split(","))
    return 0


def query(q, device):
    return q.command("query-ssd-balloon", device=device)


def cmd_regions(argv):
    with QMP(argv[0], timeout=30) as q:
        for e in query(q, argv[1]):
            print(e["region"], e["size"], e["requested-size"], e["status"],
                  e["policy"], e["generation"])
    return 0


def cmd_entry(argv):
    with QMP(argv[0], timeout=30) as q:
        for e in query(q, argv[1]):
            if e["region"] == argv[2]:
                print(json.dumps(e))
                return 0
    raise SystemExit(f"migrate.py: {argv[1]} has no {argv[2]} region")


def cmd_statemap(argv):
    for region, _, plugged in state_maps(argv[0]):
        print(REGION_NAMES.get(region, region), ranges_text(sorted(plugged)))
    return 0


def cmd_wait_size(argv):
    timeout = float(opt(argv, "--timeout", "120"))
    sock, device, region, size = argv[0], argv[1], argv[2], int(argv[3])
    deadline = time.monotonic() + timeout
    with QMP(sock, timeout=30) as q:
        while True:
            e = [e for e in query(q, device) if e["region"] == region][0]
            if (e["size"] == size and e["requested-size"] == size and
                    e["status"] == "idle"):
                print(json.dumps(e))
                return 0
            if time.monotonic() >= deadline:
                raise QMPTimeout(f"{region} region not at {size} within "
                                 f"{timeout} s: {e}")
            time.sleep(0.2)


def cmd_runstate(argv):
    with QMP(argv[0], timeout=30) as q:
        print(q.command("query-status")["status"])
    return 0


def main(argv):
    cmds = {"migrate": cmd_migrate, "caps": cmd_caps, "regions": cmd_regions,
            "entry": cmd_entry, "statemap": cmd_statemap,
            "wait-size": cmd_wait_size, "runstate": cmd_runstate}
    if len(argv) < 2 or argv[1] not in cmds:
        sys.stderr.write(__doc__)
        return 2
    try:
        return cmds[argv[1]](argv[2:])
    except QMPError as e:
        print(f"migrate.py: {e}", file=sys.stderr)
        return 1
    except (OSError, QMPTimeout, ValueError) as e:
        print(f"migrate.py: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
