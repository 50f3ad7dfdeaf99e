#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Host-side helpers of the /dev/scm tests (standard library only).

    scm.py bundle BASE-SPEC OUT NAME [--admin-caps] [--image-hook IMAGE]
        Write OUT, the OCI config.json of container NAME, from BASE-SPEC
        (the output of `runc spec`): no terminal, writable root "rootfs",
        hostname NAME, linux.cgroupsPath /NAME, a cgroup namespace added,
        /dev/scm bound into the container, the guest's /ctshare bound at
        /ct, char major 10 (misc) allowed, and as the process
        `/bin/sh /ct/NAME.sh` (the guest writes that script before each
        start). --admin-caps gives the container every capability (a
        "privileged" container, which still must not administer /dev/scm).
        guest-driver/tools/oci-hook-scm-copy runs as a createRuntime hook
        with --bind (the region is named NAME) unless --no-bind;
        --image-hook IMAGE adds the annotation org.vssd.scm.image=IMAGE.
        More: --cgroups-path PATH, --no-cgroupns, --uid N (no
        capabilities), --annotation=KEY=VALUE.
    scm.py pattern FILE OFFSET SEED LENGTH
        Check that LENGTH bytes of FILE at OFFSET hold scmtest's pattern of
        SEED (tests/guest/scmtest.c); exit 1 with the first bad byte.
    scm.py zero FILE OFFSET LENGTH
        Check that the range reads as zeroes.
    scm.py checksum FILE OFFSET LENGTH
        The checksum `scmtest checksum LENGTH` prints for the same bytes.
    scm.py regions CONSOLE-LOG [TAG]
        The /proc/scm/regions lines the guest printed between
        "scm.regions TAG begin" and "... end" markers (the last such
        block), one region per line: name owner size used offset.
    scm.py blocks OFFSET SIZE BLOCK-SIZE
        The block numbers (ranges) a region covers.
    scm.py table FILE
        Decode both copies of the region table at the start of the pmem
        file (guest-driver/vssd_pmem.h): one line per copy,
        "copy N valid|invalid|empty seq S regions NAME@OFFSET+SIZE,..."
        (invalid: bad magic, version, count or crc), then "current N"
        (the valid copy with the higher seq, as the driver picks) or
        "current none".
    scm.py query SOCKET DEVICE [REGION]
        The query-ssd-balloon entry of REGION (default pmem) as JSON.
    scm.py resize SOCKET DEVICE SIZE [--policy P] [--no-wait] [--timeout S]
        ssd-balloon the pmem region to SIZE, then (unless --no-wait) poll
        query-ssd-balloon until size == requested-size == SIZE and the
        status is idle; print that entry (plus "seconds") as JSON. Exit 1
        on a QMP error, 2 on a timeout (the last entry on stderr).
    scm.py fill FILE OFFSET LENGTH BYTE
        Write LENGTH bytes of value BYTE at OFFSET (allocating them).
    scm.py holes FILE BLOCK-SIZE
        The blocks of FILE without any host storage, as "3 7-9" ranges.
"""

import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostfile import hole_blocks, ranges_text, region_entry  # noqa: E402

M64 = (1 << 64) - 1


def mix(seed, i):
    """scmtest's word i of the pattern of SEED."""
    z = (seed + 0x9E3779B97F4A7C15 * (i + 1)) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def read_words(path, offset, length):
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(length)
    if len(data) != length:
        raise SystemExit(f"scm.py: {path}: short read at {offset}: "
                         f"{len(data)} of {length} bytes")
    return struct.unpack(f"<{length // 8}Q", data[: length // 8 * 8])


def cmd_bundle(argv):
    base, out, name = argv[0], argv[1], argv[2]
    admin = "--admin-caps" in argv[3:]
    image = None
    if "--image-hook" in argv[3:]:
        image = argv[argv.index("--image-hook") + 1]
    with open(base) as f:
        spec = json.load(f)
    proc = spec["process"]
    proc["terminal"] = False
    proc["args"] = ["/bin/sh", f"/ct/{name}.sh"]
    proc["env"] = [e for e in proc.get("env", []) if not e.startswith("TERM=")]
    proc["env"] += ["TERM=dumb", f"CT_NAME={name}"]
    proc["cwd"] = "/"
    if admin:
        caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL",
                "CAP_SETGID", "CAP_SETUID", "CAP_SYS_ADMIN",
                "CAP_SYS_RESOURCE", "CAP_SYS_PTRACE", "CAP_MKNOD",
                "CAP_NET_ADMIN", "CAP_SYS_CHROOT", "CAP_AUDIT_WRITE",
                "CAP_NET_BIND_SERVICE", "CAP_IPC_LOCK"]
        proc["capabilities"] = {k: list(caps) for k in
                                ("bounding", "effective", "permitted",
                                 "ambient", "inheritable")}
        proc["noNewPrivileges"] = False
    spec["root"] = {"path": "rootfs", "readonly": False}
    spec["hostname"] = name
    spec["mounts"].append({"destination": "/dev/scm", "type": "bind",
                           "source": "/dev/scm", "options": ["bind", "rw"]})
    spec["mounts"].append({"destination": "/ct", "type": "bind",
                           "source": "/ctshare", "options": ["rbind", "rw"]})
    linux = spec.setdefault("linux", {})
    linux["cgroupsPath"] = f"/{name}"
    ns = linux.setdefault("namespaces", [])
    if not any(n.get("type") == "cgroup" for n in ns):
        ns.append({"type": "cgroup"})
    devs = linux.setdefault("resources", {}).setdefault("devices", [])
    devs.append({"allow": True, "type": "c", "major": 10, "access": "rwm"})
    # the hook binds the container's cgroup to the region named after its
    # id (a stable name across restarts), and copies an image if asked
    if "--no-bind" not in argv[3:] or image:
        args = ["oci-hook-scm-copy"]
        if "--no-bind" not in argv[3:]:
            args.append("--bind")
        spec.setdefault("hooks", {}).setdefault("createRuntime", []).append({
            "path": "/usr/libexec/vssd/oci-hook-scm-copy",
            "args": args, "timeout": 30})
    if image:
        spec.setdefault("annotations", {})["org.vssd.scm.image"] = image
    for a in argv[3:]:
        if a.startswith("--annotation="):
            k, v = a[len("--annotation="):].split("=", 1)
            spec.setdefault("annotations", {})[k] = v
    if "--cgroups-path" in argv[3:]:
        linux["cgroupsPath"] = argv[argv.index("--cgroups-path") + 1]
    if "--no-cgroupns" in argv[3:]:
        linux["namespaces"] = [n for n in ns if n.get("type") != "cgroup"]
    if "--uid" in argv[3:]:
        uid = int(argv[argv.index("--uid") + 1])
        proc["user"] = {"uid": uid, "gid": uid}
        proc["capabilities"] = {k: [] for k in ("bounding", "effective",
                                "permitted", "ambient", "inheritable")}
    with open(out, "w") as f:
        json.dump(spec, f, indent=1)
        f.write("\n")


def cmd_pattern(argv):
    path, off, seed, length = argv[0], int(argv[1], 0), int(argv[2], 0), int(argv[3], 0)
    words = read_words(path, off, length)
    for i, w in enumerate(words):
        if w != mix(seed, i):
            print(f"scm.py: {path}: byte {off + i * 8} (region byte {i * 8}) "
                  f"is {w:#018x}, pattern of {seed} wants {mix(seed, i):#018x}")
            return 1
    print(f"scm.py: {path}: {length} bytes at {off} hold the pattern of {seed}")
    return 0


def cmd_zero(argv):
    path, off, length = argv[0], int(argv[1], 0), int(argv[2], 0)
    with open(path, "rb") as f:
        f.seek(off)
        data = f.read(length)
    if len(data) != length:
        print(f"scm.py: {path}: short read")
        return 1
    if data.count(0) != length:
        first = next(i for i, b in enumerate(data) if b)
        print(f"scm.py: {path}: byte {off + first} is not zero")
        return 1
    return 0


def cmd_checksum(argv):
    path, off, length = argv[0], int(argv[1], 0), int(argv[2], 0)
    h = 0xCBF29CE484222325
    for w in read_words(path, off, length):
        h = ((h ^ w) * 0x100000001B3) & M64
    print(f"{h:016x}")
    return 0


def cmd_regions(argv):
    tag = argv[1] if len(argv) > 1 else ""
    begin, end = f"scm.regions {tag} begin".rstrip(), f"scm.regions {tag} end".rstrip()
    if not tag:
        begin, end = "scm.regions begin", "scm.regions end"
    blocks, cur = [], None
    with open(argv[0], "rb") as f:
        for raw in f:
            line = raw.decode("utf-8", "replace").replace("\r", "").rstrip("\n")
            if line.endswith(begin):
                cur = []
            elif line.endswith(end) and cur is not None:
                blocks.append(cur)
                cur = None
            elif cur is not None:
                if line.startswith("name owner") or not line.strip():
                    continue
                cur.append(line)
    if not blocks:
        return 1
    for line in blocks[-1]:
        print(line)
    return 0


def cmd_blocks(argv):
    off, size, bs = (int(a, 0) for a in argv[:3])
    first, last = off // bs, (off + size - 1) // bs
    print(f"{first}-{last}" if last > first else f"{first}")
    return 0


SCM_MAGIC = 0x4D435356
TABLE_BYTES = 16384
MAX_REGIONS = 64
HDR = struct.Struct("<IIQQQII24s")
ENTRY = struct.Struct("<64sQQQQ24sII")
TABLE_VERSION = 2


def cmd_table(argv):
    import zlib
    with open(argv[0], "rb") as f:
        raw = f.read(2 * TABLE_BYTES)
    raw = raw.ljust(2 * TABLE_BYTES, b"\0")
    best = None
    for copy in (0, 1):
        buf = raw[copy * TABLE_BYTES:(copy + 1) * TABLE_BYTES]
        magic, version, seq, rsize, next_id, nr, crc, _ = HDR.unpack_from(buf)
        ents = buf[HDR.size:HDR.size + MAX_REGIONS * ENTRY.size]
        if not any(buf):
            state = "empty"
        else:
            hdr0 = buf[:HDR.size - 28] + b"\0\0\0\0" + buf[HDR.size - 24:HDR.size]
            ok = (magic == SCM_MAGIC and version == TABLE_VERSION and nr == MAX_REGIONS
                  and zlib.crc32(hdr0 + ents) == crc)
            state = "valid" if ok else "invalid"
        regions = []
        for i in range(MAX_REGIONS):
            name, _id, off, size, _used, _owner, _flags, _res = ENTRY.unpack_from(ents, i * ENTRY.size)
            name = name.split(b"\0", 1)[0].decode("ascii", "replace")
            if name:
                regions.append(f"{name}@{off}+{size}")
        print(f"copy {copy} {state} seq {seq} regions {','.join(sorted(regions)) or '-'}")
        if state == "valid" and (best is None or seq > best[1]):
            best = (copy, seq)
    print(f"current {best[0] if best else 'none'}")
    return 0


def cmd_query(argv):
    from qmp import QMP
    sock, device = argv[0], argv[1]
    region = argv[2] if len(argv) > 2 else "pmem"
    with QMP(sock, timeout=30) as q:
        e = region_entry(q, device, region)
    if e is None:
        print(f"scm.py: {device} has no {region} region", file=sys.stderr)
        return 1
    print(json.dumps(e))
    return 0


def pmem_entry(q, device):
    e = region_entry(q, device, "pmem")
    if e is None:
        raise SystemExit(f"scm.py: {device} has no pmem region")
    return e


def cmd_resize(argv):
    import time
    from qmp import QMP
    sock, device, size = argv[0], argv[1], int(argv[2], 0)
    policy, wait, timeout = None, True, 120.0
    i = 3
    while i < len(argv):
        if argv[i] == "--policy":
            policy = argv[i + 1]
            i += 2
        elif argv[i] == "--timeout":
            timeout = float(argv[i + 1])
            i += 2
        elif argv[i] == "--no-wait":
            wait = False
            i += 1
        else:
            raise SystemExit(f"scm.py resize: bad argument {argv[i]}")
    args = {"device": device, "size": size, "region": "pmem"}
    if policy:
        args["policy"] = policy
    with QMP(sock, timeout=30) as q:
        q.command("ssd-balloon", **args)
        if not wait:
            return 0
        start = time.monotonic()
        while True:
            e = pmem_entry(q, device)
            if (e["size"] == size and e["requested-size"] == size
                    and e["status"] == "idle"):
                e["seconds"] = round(time.monotonic() - start, 3)
                print(json.dumps(e))
                return 0
            if time.monotonic() - start > timeout:
                print(json.dumps(e), file=sys.stderr)
                return 2
            time.sleep(0.25)


def cmd_fill(argv):
    path, off, length, byte = argv[0], int(argv[1], 0), int(argv[2], 0), int(argv[3], 0)
    chunk = bytes([byte]) * (1 << 20)
    with open(path, "r+b") as f:
        f.seek(off)
        left = length
        while left > 0:
            n = min(left, len(chunk))
            f.write(chunk[:n])
            left -= n
    return 0


def cmd_holes(argv):
    print(ranges_text(hole_blocks(argv[0], int(argv[1], 0))))
    return 0


def main():
    cmds = {"bundle": cmd_bundle, "pattern": cmd_pattern, "zero": cmd_zero,
            "checksum": cmd_checksum, "regions": cmd_regions,
            "blocks": cmd_blocks, "query": cmd_query,
            "table": cmd_table, "resize": cmd_resize, "fill": cmd_fill,
            "holes": cmd_holes}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    return cmds[sys.argv[1]](sys.argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main())
