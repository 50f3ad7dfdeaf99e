#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Turn the console of a bench/cscm run into CSV, Markdown and plot data.

    report.py OUTDIR CONSOLE-LOG [--note TEXT]...

Reads the "cscm.run" and "cscm.fail" lines of bench/cscm/guest.sh and
writes into OUTDIR:

    cscm.csv        one row per run: rep, config, bench, mode, ops, sec,
                    ops_per_s, syncs, cps, ms_per_cp, open_ms, setup_ms,
                    region, check
    cscm.md         median throughput per benchmark and configuration,
                    relative to /dev/scm outside containers, the ratios of
                    the goals (issue 4) and whether each is met
    cscm-plot.dat   throughput relative to /dev/scm outside containers,
                    one line per benchmark and mode, for bench/cscm/plot.gp

Ratios are medians of per-repetition ratios (the runs of one repetition
follow each other in the same boot), with min and max; throughputs are
medians over the repetitions. Exit status 1 when there is no run or a
run failed or its check failed. Standard library only.
"""

import argparse
import csv
import math
import os
import re
import statistics
import sys

CONFIGS = [
    ("ct-scm", "/dev/scm, runc container"),
    ("host-scm", "/dev/scm, outside containers"),
    ("anon", "anonymous memory (no persistence)"),
    ("volume", "volume: file on ext4, msync"),
    ("overlay", "storage driver: file via overlayfs, msync"),
    ("host-scm-wb", "/dev/scm outside, CPU write-back only (weaker)"),
]
SHORT = {
    "ct-scm": "scm container",
    "host-scm": "scm outside",
    "anon": "anonymous",
    "volume": "volume",
    "overlay": "overlayfs",
    "host-scm-wb": "scm write-back only",
}
BENCHES = [
    ("array", "random updates, 20M-int array", "updates/s"),
    ("stream", "STREAM copy, 2 x 90 MB", "elements/s"),
    ("btree", "B-tree inserts, 200k keys", "inserts/s"),
]
MODES = [("plain", "plain"), ("tx", "transactional")]
BASE = "host-scm"
GOAL_CT = 0.95
GOAL_VOLUME = 10.0
GOAL_OVERLAY = 100.0

RUN = re.compile(r"cscm\.run (.*)$")
FAIL = re.compile(r"cscm\.fail (.*)$")
COPYUP = re.compile(r"cscm\.copyup (.*)$")


def kv(text):
    return dict(p.split("=", 1) for p in text.split() if "=" in p)


def parse(path):
    runs, fails, copyups = [], [], []
    with open(path, "rb") as f:
        for raw in f:
            line = raw.decode("utf-8", "replace").replace("\r", "").strip()
            m = RUN.search(line)
            if m:
                d = kv(m.group(1))
                for k in ("rep", "ops", "syncs", "cps"):
                    d[k] = int(d[k])
                for k in ("sec", "ops_per_s", "open_ms", "setup_ms"):
                    d[k] = float(d[k])
                runs.append(d)
                continue
            m = FAIL.search(line)
            if m:
                fails.append(kv(m.group(1)))
                continue
            m = COPYUP.search(line)
            if m:
                copyups.append(kv(m.group(1)))
    return runs, fails, copyups


def fmt(v):
    """Three significant digits, no exponent for ordinary sizes."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if v == 0:
        return "0"
    mag = math.floor(math.log10(abs(v)))
    if mag >= 6:
        return f"{v / 1e6:.3g}M"
    if mag >= 3:
        return f"{v / 1e3:.3g}k"
    return f"{v:.3g}"


def fmt_ratio(v):
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


class Stat:
    def __init__(self, values):
        self.values = values
        self.n = len(values)
        self.med = statistics.median(values) if values else None
        self.lo = min(values) if values else None
        self.hi = max(values) if values else None

    def text(self, ratio=True):
        if not self.n:
            return "–"
        f = fmt_ratio if ratio else fmt
        if self.n == 1:
            return f"**{f(self.med)}**"
        return f"**{f(self.med)}** ({f(self.lo)} – {f(self.hi)})"


def by_key(runs):
    """{(bench, mode, config): {rep: ops_per_s}}"""
    d = {}
    for r in runs:
        if r.get("check") != "ok":
            continue
        d.setdefault((r["bench"], r["mode"], r["config"]), {})[r["rep"]] = r["ops_per_s"]
    return d


def ratio(d, bench, mode, num, den):
    """Per-repetition ratios num / den of one benchmark and mode."""
    a, b = d.get((bench, mode, num), {}), d.get((bench, mode, den), {})
    return Stat([a[r] / b[r] for r in sorted(a) if r in b and b[r] > 0])


def write_csv(path, runs):
    keys = ["rep", "config", "bench", "mode", "ops", "sec", "ops_per_s",
            "syncs", "cps", "ms_per_cp", "open_ms", "setup_ms", "region", "check"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(keys)
        for r in runs:
            row = dict(r)
            row["ms_per_cp"] = f"{r['sec'] * 1e3 / r['cps']:.3f}" if r["cps"] else ""
            row["sec"] = f"{r['sec']:.6f}"
            row["ops_per_s"] = f"{r['ops_per_s']:.1f}"
            w.writerow([row.get(k, "") for k in keys])


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("outdir")
    p.add_argument("log")
    p.add_argument("--note", action="append", default=[])
    args = p.parse_args(argv)
    runs, fails, copyups = parse(args.log)
    if not runs:
        print("report: no cscm.run line in " + args.log, file=sys.stderr)
        return 1
    write_csv(os.path.join(args.outdir, "cscm.csv"), runs)
    d = by_key(runs)
    reps = sorted({r["rep"] for r in runs})
    present = [c for c, _ in CONFIGS if any(k[2] == c for k in d)]

    # --- throughput table -------------------------------------------------
    lines = ["Median throughput (operations per second) and, below it, the median",
             "of the per-repetition ratios to /dev/scm outside containers.", "",
             "| benchmark | mode | " + " | ".join(SHORT[c] for c in present) + " |",
             "| --- | --- | " + " | ".join("---:" for _ in present) + " |"]
    plot = ["# bench-mode " + " ".join(present)]
    for b, blabel, unit in BENCHES:
        for m, mlabel in MODES:
            cells, rel = [], []
            for c in present:
                s = Stat(list(d.get((b, m, c), {}).values()))
                if not s.n:
                    cells.append("–")
                    rel.append("NaN")
                    continue
                r = ratio(d, b, m, c, BASE)
                cells.append(f"{fmt(s.med)}<br>×{fmt_ratio(r.med)}" if r.n else fmt(s.med))
                rel.append(f"{r.med:.6g}" if r.n else "NaN")
            if all(c == "–" for c in cells):
                continue
            lines.append(f"| {blabel} ({unit}) | {mlabel} | " + " | ".join(cells) + " |")
            plot.append(f"\"{b} {mlabel}\" " + " ".join(rel))
    with open(os.path.join(args.outdir, "cscm-plot.dat"), "w") as f:
        f.write("\n".join(plot) + "\n")

    # --- cost of a consistency point --------------------------------------
    lines += ["", "Time per consistency point (ms, median; transactional runs):", "",
              "| benchmark | " + " | ".join(SHORT[c] for c in present if c != "anon") + " |",
              "| --- | " + " | ".join("---:" for c in present if c != "anon") + " |"]
    for b, blabel, _ in BENCHES:
        cells = []
        for c in present:
            if c == "anon":
                continue
            v = [r["sec"] * 1e3 / r["cps"] for r in runs
                 if r["bench"] == b and r["mode"] == "tx" and r["config"] == c and r["cps"]]
            sy = [r["syncs"] / r["cps"] for r in runs
                  if r["bench"] == b and r["mode"] == "tx" and r["config"] == c and r["cps"]]
            cells.append(f"{statistics.median(v):.3g} ({statistics.median(sy):.3g} syncs)"
                         if v else "–")
        lines.append(f"| {blabel} | " + " | ".join(cells) + " |")

    # --- goals --------------------------------------------------------------
    goal = ["", "| goal (issue 4) | measured (median of per-repetition ratios, min – max) | |",
            "| --- | --- | --- |"]
    ct = {(b, m): ratio(d, b, m, "ct-scm", "host-scm") for b, _, _ in BENCHES for m, _ in MODES}
    ct = {k: v for k, v in ct.items() if v.n}
    if ct:
        worst = min(ct.items(), key=lambda kv_: kv_[1].med)
        ok = all(v.med >= GOAL_CT for v in ct.values())
        cells = "; ".join(f"{b} {m} {v.text()}" for (b, m), v in ct.items())
        goal.append(f"| container / outside >= {GOAL_CT} on every benchmark | {cells}; "
                    f"lowest median {fmt_ratio(worst[1].med)} ({worst[0][0]} {worst[0][1]}) "
                    f"| {'**met**' if ok else '**not met**'} |")
    for other, need, label in (("volume", GOAL_VOLUME, "the volume path"),
                               ("overlay", GOAL_OVERLAY, "the storage-driver path")):
        for scm, who in (("ct-scm", "in a container"), ("host-scm", "outside")):
            rs = {b: ratio(d, b, "tx", scm, other) for b, _, _ in BENCHES}
            rs = {b: v for b, v in rs.items() if v.n}
            if not rs:
                continue
            ok = all(v.med >= need for v in rs.values())
            some = any(v.med >= need for v in rs.values())
            cells = "; ".join(f"{b} {v.text()}" for b, v in rs.items())
            verdict = "**met**" if ok else ("**partly met**" if some else "**not met**")
            goal.append(f"| /dev/scm {who}, transactional, >= {need:g}x {label} | {cells} | {verdict} |")
    lines += goal

    # --- other facts ----------------------------------------------------------
    if copyups:
        lines += ["", "Copy-up by overlayfs (the first open for writing of the image layer's file, "
                  "done and synced before the timed runs): " + ", ".join(
                      f"{c['bench']}.dat ({int(c['bytes']) / 1e6:.0f} MB) {int(c['ms']) / 1e3:.1f} s"
                      for c in copyups) + "."]
    wb = {b: ratio(d, b, "tx", "host-scm-wb", "host-scm") for b, _, _ in BENCHES}
    wb = {b: v for b, v in wb.items() if v.n}
    if wb:
        lines += ["", "/dev/scm with consistency points that only write the CPU caches back "
                  "(no host flush; survives a guest or QEMU crash, not a host crash), "
                  "relative to scmsync outside containers: "
                  + "; ".join(f"{b} {v.text()}" for b, v in wb.items()) + "."]
    bad = [r for r in runs if r.get("check") != "ok"]
    if bad or fails:
        lines += ["", "Failed runs: " + ", ".join(
            [f"rep {r['rep']} {r['config']} {r['bench']} {r['mode']} (check {r['check']})" for r in bad] +
            [f"rep {f.get('rep')} {f.get('config')} {f.get('bench')} {f.get('mode')} "
             f"(status {f.get('status')})" for f in fails])]
    lines += ["", f"Repetitions: {len(reps)}; configurations: " +
              "; ".join(f"{SHORT[c]} = {n}" for c, n in CONFIGS if c in present) + "."]
    lines += [""] + args.note
    with open(os.path.join(args.outdir, "cscm.md"), "w") as f:
        f.write("\n".join(lines).rstrip("\n") + "\n")
    print("\n".join(lines[:len(lines) - len(args.note)]))
    return 1 if bad or fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
