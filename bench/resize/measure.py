#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Time resizes of vssd, virtio-mem and virtio-balloon over one QMP socket.

    measure.py SOCKET OUT.csv [options]

Every measurement is the same loop for every mechanism: note the time,
send the resize command, then poll the mechanism's state with one query
every --poll-ms milliseconds on the same QMP connection until it shows
the target; the time is that of the first poll that shows it. So all
mechanisms pay the same polling cost and the same QMP round trip.

    vssd            ssd-balloon size=T          poll query-ssd-balloon until
                                                size = requested-size = T and
                                                status idle (also records the
                                                device's last-resize-ms)
    virtio-mem      qom-set requested-size=T    poll qom-get size until T
    virtio-balloon  balloon value=T             poll query-balloon until
                                                actual = T

Each size change is a pair: shrink by S from the full size, then grow by S
back to it. The order of the mechanisms rotates from one repetition to
the next, so slow drift of the host hits all of them alike. A resize
that does not finish within --timeout seconds is recorded as timed out;
the script then waits (unmeasured) for it to finish before going on, and
does not run that mechanism and size again in later repetitions.

Options:
    --vssd ID:LABEL        a vssd device (repeatable), e.g. vssd0:vssd-1M
    --mem ID:LABEL         a virtio-mem-pci device
    --balloon LABEL        the virtio-balloon device (there is only one)
    --sizes MiB,MiB,...    size changes [64,256,1024,4096]
    --reps N               repetitions [3]
    --poll-ms MS           polling period [5]
    --qemu-pid PID         after each resize, wait until this QEMU process
                           is idle (below 10 % of a CPU for 250 ms, at most
                           30 s), so that guest work going on after the
                           device reached its size (e.g. onlining hot-plugged
                           memory) does not overlap the next measurement
    --timeout S            bound of one resize [60]
    --signal SOCKET        after the last measurement, write "done" to this
                           socket (the guest's control serial port)

OUT.csv: one row per resize: rep, mechanism, direction, bytes, ms,
device_ms, polls, timed_out. Standard library only (and tests/lib/qmp.py).
"""

import argparse
import csv
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "lib"))
from qmp import QMP  # noqa: E402

MIB = 1 << 20


class Vssd:
    """The block region of one virtio-vssd device."""

    def __init__(self, qmp, dev, label):
        self.qmp, self.dev, self.label = qmp, dev, label
        self.full = self._info()["max-size"]

    def _info(self):
        infos = self.qmp.command("query-ssd-balloon", device=self.dev)
        return [i for i in infos if i["region"] == "block"][0]

    def request(self, target):
        self.qmp.command("ssd-balloon", device=self.dev, size=target)

    def poll(self, target):
        """(done, device-side duration in ms or None)."""
        i = self._info()
        done = (i["size"] == target and i["requested-size"] == target
                and i["status"] == "idle")
        return done, i.get("last-resize-ms") if done else None


class VirtioMem:
    """A virtio-mem-pci device; its full size is its requested size at boot."""

    def __init__(self, qmp, dev, label):
        self.qmp, self.label = qmp, label
        self.path = f"/machine/peripheral/{dev}"
        self.full = self.qmp.command("qom-get", path=self.path,
                                     property="requested-size")

    def request(self, target):
        self.qmp.command("qom-set", path=self.path,
                         property="requested-size", value=target)

    def poll(self, target):
        size = self.qmp.command("qom-get", path=self.path, property="size")
        return size == target, None


class Balloon:
    """virtio-balloon: its full size is the guest's memory, balloon empty."""

    def __init__(self, qmp, label):
        self.qmp, self.label = qmp, label
        # query-balloon's "actual" leaves virtio-mem memory out: take the
        # value reported with an empty balloon as the full size.
        self.full = self.qmp.command("query-balloon")["actual"]

    def request(self, target):
        self.qmp.command("balloon", value=target)

    def poll(self, target):
        return self.qmp.command("query-balloon")["actual"] == target, None


def wait_until(mech, target, period, timeout, start=None):
    """Poll until mech shows target, on a fixed grid of period seconds.

    Times from start (default: now) to the first poll that shows the
    target. Returns (ms or None on timeout, device-side ms, polls)."""
    if start is None:
        start = time.monotonic()
    polls = 0
    while True:
        done, device_ms = mech.poll(target)
        polls += 1
        now = time.monotonic()
        if done:
            return (now - start) * 1000.0, device_ms, polls
        if now - start >= timeout:
            return None, None, polls
        # A fixed grid from start: a slow query does not shift later polls.
        time.sleep(max(start + polls * period - time.monotonic(), 0.0))


def timed_resize(mech, target, period, timeout):
    """Send the resize command and time it from just before the command."""
    start = time.monotonic()
    mech.request(target)
    return wait_until(mech, target, period, timeout, start)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("socket")
    p.add_argument("out")
    p.add_argument("--vssd", action="append", default=[])
    p.add_argument("--mem", action="append", default=[])
    p.add_argument("--balloon")
    p.add_argument("--sizes", default="64,256,1024,4096")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--poll-ms", type=float, default=5.0)
    p.add_argument("--qemu-pid", type=int)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--signal")
    return p.parse_args(argv)


def make_mechanisms(q, args):
    mechs = []
    for spec in args.vssd:
        dev, label = spec.split(":", 1)
        mechs.append(Vssd(q, dev, label))
    for spec in args.mem:
        dev, label = spec.split(":", 1)
        mechs.append(VirtioMem(q, dev, label))
    if args.balloon:
        mechs.append(Balloon(q, args.balloon))
    return mechs


def wait_full(mechs, timeout=120.0):
    """Every mechanism at its full size before the first measurement."""
    for m in mechs:
        ms, _, _ = wait_until(m, m.full, 0.05, timeout)
        if ms is None:
            raise RuntimeError(f"{m.label}: not at its full size {m.full} "
                               f"after {timeout} s")


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pid, window=0.25, busy=0.10, limit=30.0):
    """Wait until QEMU (all its vCPUs) is idle, or limit seconds."""
    if pid is None:
        time.sleep(window)
        return
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(window)
        if cpu_seconds(pid) - before <= busy * window:
            return


def signal_guest(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        s.sendall(b"done\n")


def main(argv):
    args = parse_args(argv)
    sizes = [int(s) * MIB for s in args.sizes.split(",")]
    period = args.poll_ms / 1000.0
    fields = ["rep", "mechanism", "direction", "bytes", "ms", "device_ms",
              "polls", "timed_out"]
    with QMP(args.socket, timeout=30.0) as q, open(args.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(fields)
        mechs = make_mechanisms(q, args)
        wait_full(mechs)
        settle(args.qemu_pid)
        given_up = set()
        for rep in range(1, args.reps + 1):
            k = (rep - 1) % len(mechs)
            order = mechs[k:] + mechs[:k]
            for size in sizes:
                for m in order:
                    if (m.label, size) in given_up:
                        continue
                    for direction, target in (("shrink", m.full - size),
                                              ("grow", m.full)):
                        ms, device_ms, polls = timed_resize(m, target, period,
                                                            args.timeout)
                        w.writerow([rep, m.label, direction, size,
                                    "" if ms is None else f"{ms:.2f}",
                                    "" if device_ms is None else device_ms,
                                    polls, int(ms is None)])
                        f.flush()
                        shown = "> %.0f s (timed out)" % args.timeout \
                            if ms is None else f"{ms:.1f} ms"
                        print(f"resize: rep {rep} {m.label:<15} {direction:<6} "
                              f"{size // MIB:>5} MiB  {shown}", flush=True)
                        if ms is None:
                            given_up.add((m.label, size))
                            # Unmeasured: let it end before the next step.
                            if wait_until(m, target, 0.1, 600.0)[0] is None:
                                raise RuntimeError(f"{m.label} never reached "
                                                   f"{target}")
                        settle(args.qemu_pid)
    if args.signal:
        signal_guest(args.signal)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
