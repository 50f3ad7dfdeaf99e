#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Turn the consoles of a bench/evict run into CSV, Markdown and plot data.

    report.py OUTDIR [--note TEXT]... POLICY...

Reads, for each POLICY, OUTDIR/evict-POLICY-console.log (the
"bench.evict.result" lines of bench/evict/guest.sh) and
OUTDIR/evict-POLICY-shrink.json (bench/evict/shrink.py), and writes:

    evict.csv       one row per policy: reads and misses of the warm-up and
                    of the measured phase, blocks evicted, shrink times
    evict.md        the table, and the goal: guest-managed misses at most
                    10 % of host-managed misses
    evict-plot.dat  hits and misses per policy, for bench/evict/plot.gp

Exit status 1 when no policy has a measured phase. Standard library only.
"""

import argparse
import csv
import json
import os
import re
import sys

LABELS = {
    "guest": "guest, with hints",
    "nohints": "guest, no hints",
    "host": "host, one step",
    "hoststep": "host, 16 steps",
}
GOAL_SHARE = 0.10
RESULT = re.compile(r"bench\.evict\.result policy=(\S+) phase=(\S+) (.*)")


def parse_console(path):
    """{phase: {key: int}} from the result lines of one console log."""
    phases = {}
    with open(path, "rb") as f:
        for raw in f:
            line = raw.decode("ascii", "replace").strip("\r\n ")
            m = RESULT.search(line)
            if m:
                phases[m.group(2)] = {k: int(float(v)) for k, v in
                                      (kv.split("=", 1) for kv in m.group(3).split())}
    return phases


def load(outdir, policy):
    log = os.path.join(outdir, f"evict-{policy}-console.log")
    js = os.path.join(outdir, f"evict-{policy}-shrink.json")
    if not os.path.exists(log):
        return None
    phases = parse_console(log)
    if "measure" not in phases:
        return None
    shrink = {}
    if os.path.exists(js):
        with open(js) as f:
            text = f.read().strip()
            shrink = json.loads(text) if text else {}
    m, w = phases["measure"], phases.get("warmup", {})
    return {
        "policy": policy,
        "warmup_reads": w.get("reads", 0),
        "warmup_misses": w.get("misses", 0),
        "reads": m["reads"],
        "hits": m["hits"],
        "misses": m["misses"],
        "miss_percent": 100.0 * m["misses"] / m["reads"],
        "read_ms": m["ms"],
        "blocks_evicted": shrink.get("blocks_evicted", ""),
        "shrink_ms": shrink.get("ms", ""),
        "shrink_device_ms": shrink.get("device_ms", ""),
    }


def write_csv(path, rows):
    keys = list(rows[0].keys())
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(keys)
        for r in rows:
            w.writerow([f"{r[k]:.3f}" if isinstance(r[k], float) else r[k]
                        for k in keys])


def goal_line(rows):
    """Guest (with hints) against the uniform host choice: the stepped one
    while the one-step choice is biased (see run.sh), else the one-step."""
    by = {r["policy"]: r for r in rows}
    host = "hoststep" if "hoststep" in by else "host"
    if "guest" not in by or host not in by:
        return None
    g, h = by["guest"]["misses"], by[host]["misses"]
    if h == 0:
        return ("guest-managed misses <= 10 % of host-managed", "host policy had no miss",
                "not measurable")
    share = g / h
    ok = share <= GOAL_SHARE
    return ("guest-managed misses <= 10 % of host-managed",
            f"{LABELS['guest']} / {LABELS[host]} = {g} / {h} = **{share:.2%}**",
            "**met**" if ok else "**not met**")


def write_markdown(path, rows, notes):
    lines = ["| policy (who picks the 65536 blocks) | reads | hits | misses "
             "| misses / reads | blocks evicted |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {LABELS.get(r['policy'], r['policy'])} | {r['reads']} "
                     f"| {r['hits']} | {r['misses']} | {r['miss_percent']:.2f} % "
                     f"| {r['blocks_evicted']} |")
    g = goal_line(rows)
    if g:
        lines += ["", "| goal (issue 3) | measured | |", "| --- | --- | --- |",
                  "| " + " | ".join(g) + " |"]
    bad = [r["policy"] for r in rows if r["warmup_misses"]]
    if bad:
        lines += ["", "Misses before the shrink (a bug): " + ", ".join(bad)]
    lines += [""] + notes
    with open(path, "w") as f:
        f.write("\n".join(lines).rstrip("\n") + "\n")
    return lines


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("outdir")
    p.add_argument("policies", nargs="+")
    p.add_argument("--note", action="append", default=[])
    args = p.parse_args(argv)
    rows = []
    for policy in args.policies:
        r = load(args.outdir, policy)
        if r is None:
            print(f"report: no measured reads for policy {policy}", file=sys.stderr)
            continue
        rows.append(r)
    if not rows:
        return 1
    write_csv(os.path.join(args.outdir, "evict.csv"), rows)
    with open(os.path.join(args.outdir, "evict-plot.dat"), "w") as f:
        f.write("# policy hits misses\n")
        for r in rows:
            f.write(f"\"{LABELS.get(r['policy'], r['policy'])}\" "
                    f"{r['hits']} {r['misses']}\n")
    md = write_markdown(os.path.join(args.outdir, "evict.md"), rows, args.note)
    print("\n".join(md[:len(md) - len(args.note)]))
    return 0 if len(rows) == len(args.policies) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
