#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Minimal QMP client for the vssd tests (standard library only).

Library use:

    with QMP("/tmp/x/qmp.sock") as q:
        q.command("ssd-balloon", device="vssd0", size=32 << 20)
        ev = q.wait_event("SSD_BALLOON_CHANGE", timeout=30)

Command line (one connection per call; exit status 1 on a QMP error, 2 on
a usage or connection error):

    qmp.py SOCKET COMMAND [JSON-ARGUMENTS]     prints the "return" value
    qmp.py SOCKET --wait-event NAME [--timeout S] [--then COMMAND [JSON]]
    qmp.py SOCKET --hmp 'info ssd_balloon'

The connection reads the greeting, negotiates capabilities and then sorts
the newline-delimited JSON it receives by its top-level key: "return" and
"error" answer the waiting command (matched by "id"), "event" goes to a
queue kept in arrival order. Every read has a timeout.
"""

import json
import os
import socket
import sys
import time


class QMPError(Exception):
    """A QMP command answered with an "error" object."""

    def __init__(self, command, error):
        self.command = command
        self.error_class = error.get("class", "")
        self.desc = error.get("desc", "")
        super().__init__(f"{command}: {self.error_class}: {self.desc}")


class QMPTimeout(Exception):
    """No complete answer or event arrived in time."""


class QMP:
    def __init__(self, path, timeout=10.0, connect_timeout=10.0):
        self.path = path
        self.timeout = timeout
        self.events = []
        self._buf = b""
        self._next_id = 1
        self.sock = self._connect(connect_timeout)
        self.greeting = self._read_message(self.timeout)
        if "QMP" not in self.greeting:
            raise ConnectionError(f"{path}: no QMP greeting: {self.greeting}")
        self.command("qmp_capabilities")

    # The socket may not exist yet right after QEMU was started.
    def _connect(self, connect_timeout):
        deadline = time.monotonic() + connect_timeout
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.path)
                return s
            except OSError:
                s.close()
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read_message(self, timeout):
        """Return the next JSON object from the socket."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise QMPTimeout(f"{self.path}: no message within {timeout} s")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise ConnectionError(f"{self.path}: connection closed by QEMU")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        line = line.strip()
        if not line:
            return self._read_message(max(deadline - time.monotonic(), 0.001))
        return json.loads(line)

    def execute(self, name, arguments=None, timeout=None):
        """Send a command; return the whole reply object (return or error)."""
        cmd_id = f"vssd-{self._next_id}"
        self._next_id += 1
        msg = {"execute": name, "id": cmd_id}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise QMPTimeout(f"{name}: no reply within {timeout} s")
            reply = self._read_message(left)
            if "event" in reply:
                self.events.append(reply)
            elif reply.get("id") == cmd_id:
                return reply
            # A reply to an id we do not wait for: ignore it.

    def command(self, name, **arguments):
        """Run a command; return its "return" value or raise QMPError."""
        reply = self.execute(name, arguments)
        if "error" in reply:
            raise QMPError(name, reply["error"])
        return reply.get("return")

    def hmp(self, command_line):
        return self.command("human-monitor-command", **{"command-line": command_line})

    def wait_event(self, name=None, timeout=None):
        """Return (and remove) the first queued or next arriving event."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if name is None or ev.get("event") == name:
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise QMPTimeout(f"no event {name or ''} within {timeout} s")
            msg = self._read_message(left)
            if "event" in msg:
                self.events.append(msg)

    def clear_events(self):
        self.events = []


def _usage():
    sys.stderr.write(__doc__.split("Command line", 1)[1])
    sys.exit(2)


def main(argv):
    if len(argv) < 3:
        _usage()
    path = argv[1]
    args = argv[2:]
    timeout = 30.0
    if "--timeout" in args:
        i = args.index("--timeout")
        timeout = float(args[i + 1])
        del args[i:i + 2]
    try:
        with QMP(path, timeout=timeout) as q:
            if args[0] == "--hmp":
                sys.stdout.write(q.hmp(" ".join(args[1:])))
                return 0
            if args[0] == "--wait-event":
                name = args[1]
                rest = args[2:]
                if rest and rest[0] == "--then":
                    arguments = json.loads(rest[2]) if len(rest) > 2 else {}
                    q.command(rest[1], **arguments)
                ev = q.wait_event(name, timeout)
                print(json.dumps(ev))
                return 0
            arguments = json.loads(args[1]) if len(args) > 1 else {}
            print(json.dumps(q.command(args[0], **arguments)))
            return 0
    except QMPError as e:
        print(f"qmp: {e}", file=sys.stderr)
        return 1
    except (OSError, QMPTimeout, ValueError) as e:
        print(f"qmp: {path}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
