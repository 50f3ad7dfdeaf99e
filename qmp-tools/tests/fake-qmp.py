#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A stand-in QMP server that speaks ssd-balloon as CONTRACT.md describes it.

Unlike QEMU it serves several clients at once and sends events to all,
so one test can watch while another resizes.  Used by test-cli.sh to exercise vssdctl's status/resize/watch logic before
(and independently of) the real device.  One device "vssd0" with a 1G block
region and a 256M pmem region, 2M blocks.  A resize moves 64M per 50 ms
tick and emits SSD_BALLOON_CHANGE after each step.

  fake-qmp.py SOCKET [--shape flat|nested] [--stuck] [--silent]

--stuck: resizes never progress.  --silent: accept, never greet.
Exits on "quit", or after 60 s.
"""
import json
import os
import select
import socket
import sys
import time

M = 1 << 20
STEP = 64 * M
TICK = 0.05


class Region:
    def __init__(self, name, block_size, max_size):
        self.name = name
        self.block_size = block_size
        self.max_size = max_size
        self.size = max_size
        self.requested = max_size
        self.evicted = 0
        self.granted = 0
        self.started = None
        self.last_ms = 0

    def status(self):
        if self.size > self.requested:
            return "shrinking"
        if self.size < self.requested:
            return "growing"
        return "idle"

    def info(self):
        return {"block-size": self.block_size, "max-size": self.max_size,
                "size": self.size, "requested-size": self.requested,
                "status": self.status(), "blocks-evicted": self.evicted,
                "blocks-granted": self.granted,
                "last-resize-ms": self.last_ms}


def main():
    path = sys.argv[1]
    shape = "flat"
    if "--shape" in sys.argv:
        shape = sys.argv[sys.argv.index("--shape") + 1]
    stuck = "--stuck" in sys.argv
    silent = "--silent" in sys.argv
    regions = {"block": Region("block", 2 * M, 1024 * M),
               "pmem": Region("pmem", 2 * M, 256 * M)}

    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    clients = {}        # socket -> bytes received, not yet handled
    current = [None]    # the client whose command is being handled
    end = time.time() + 60

    def send_to(sock, msg):
        try:
            sock.sendall(json.dumps(msg).encode() + b"\r\n")
        except OSError:
            pass

    def send(msg):
        send_to(current[0], msg)

    def event(name, data):
        now = time.time()
        for sock in list(clients):
            send_to(sock, {"event": name, "data": data,
                           "timestamp": {"seconds": int(now),
                                         "microseconds":
                                         int(now % 1 * 1e6)}})

    def error(cid, desc):
        send({"id": cid, "error": {"class": "GenericError", "desc": desc}})

    def query(args):
        dev = args.get("device")
        if dev not in (None, "vssd0"):
            return None
        if shape == "nested":
            return [{"device": "vssd0",
                     "qom-path": "/machine/peripheral/vssd0",
                     "regions": [dict(region=r.name, **r.info())
                                 for r in regions.values()]}]
        return [dict(device="vssd0", region=r.name, **r.info())
                for r in regions.values()]

    def handle(cmd):
        cid = cmd.get("id")
        name = cmd.get("execute")
        args = cmd.get("arguments", {})
        if name == "qmp_capabilities":
            send({"return": {}, "id": cid})
        elif name == "query-ssd-balloon":
            ret = query(args)
            if ret is None:
                error(cid, "Device '%s' not found" % args.get("device"))
            else:
                send({"return": ret, "id": cid})
        elif name == "ssd-balloon":
            reg = regions.get(args.get("region", "block"))
            size = args.get("size")
            if args.get("device") != "vssd0":
                error(cid, "Device '%s' not found" % args.get("device"))
            elif reg is None:
                error(cid, "region '%s' is absent" % args.get("region"))
            elif not isinstance(size, int) or size < 0:
                error(cid, "size must not be negative")
            elif size > reg.max_size:
                error(cid, "size %d is above the maximum %d" %
                      (size, reg.max_size))
            elif size % reg.block_size:
                error(cid, "size %d is not a multiple of the block size %d"
                      % (size, reg.block_size))
            else:
                reg.requested = size
                reg.started = time.time()
                send({"return": {}, "id": cid})
        elif name == "quit":
            send({"return": {}, "id": cid})
            sys.exit(0)
        else:
            send({"id": cid, "error": {"class": "CommandNotFound",
                  "desc": "The command %s has not been found" % name}})

    def tick():
        for r in regions.values():
            if stuck or r.size == r.requested:
                continue
            if r.size > r.requested:
                step = min(STEP, r.size - r.requested)
                r.size -= step
                r.evicted += step // r.block_size
            else:
                step = min(STEP, r.requested - r.size)
                r.size += step
                r.granted += step // r.block_size
            if r.size == r.requested:
                r.last_ms = int((time.time() - r.started) * 1000)
            event("SSD_BALLOON_CHANGE",
                  {"device": "vssd0",
                   "qom-path": "/machine/peripheral/vssd0",
                   "region": r.name, "size": r.size,
                   "requested-size": r.requested})

    next_tick = time.time() + TICK
    while time.time() < end:
        ready, _, _ = select.select([srv] + list(clients), [], [],
                                    max(0, next_tick - time.time()))
        for sock in ready:
            if sock is srv:
                conn, _ = srv.accept()
                clients[conn] = b""
                if not silent:
                    send_to(conn, {"QMP": {"version": {
                        "qemu": {"micro": 0, "minor": 2, "major": 7},
                        "package": "fake"}, "capabilities": []}})
                continue
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                sock.close()
                del clients[sock]
                continue
            clients[sock] += data
            while b"\n" in clients[sock]:
                line, clients[sock] = clients[sock].split(b"\n", 1)
                if line.strip():
                    current[0] = sock
                    handle(json.loads(line))
        if time.time() >= next_tick:
            tick()
            next_tick = time.time() + TICK

if __name__ == "__main__":
    main()
