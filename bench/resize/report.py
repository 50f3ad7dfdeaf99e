#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Turn bench/resize/measure.py's CSV into a summary, Markdown and plot data.

    report.py RESIZE.CSV OUTDIR --timeout S [--note TEXT]...

Writes into OUTDIR:

    resize-summary.csv  per mechanism, direction and size: runs, timeouts,
                        median, min and max of the polled time (ms) and,
                        for vssd, the median device-side time
    resize.md           the ratios as Markdown tables, and the goals
    resize-plot.dat     the times, for bench/resize/plot.gp

Only ratios between measurements of the same repetition are claims (TCG
makes absolute times meaningless); every ratio is the median of the
per-repetition ratios, with min and max. A resize that timed out counts
as the timeout, so ratios that involve it are bounds ("> x", "< x").
Exit status 1 when the CSV holds no measurement. Standard library only.
"""

import argparse
import csv
import statistics
import sys

MIB = 1 << 20
# Order and names of the mechanisms in the tables and the plot.
MECHS = [
    ("vssd-1M", "vssd, 1 MiB blocks"),
    ("vssd-64K", "vssd, 64 KiB blocks"),
    ("virtio-mem", "virtio-mem, 2 MiB blocks"),
    ("virtio-balloon", "virtio-balloon, 4 KiB pages"),
]
VSSD = ("vssd-1M", "vssd-64K")
OTHERS = ("virtio-balloon", "virtio-mem")
DIRECTIONS = ("shrink", "grow")
# The goals of issue 3.
GROW_OVER_SHRINK_MAX = 1.5
SCALE_SMALL, SCALE_LARGE, SCALE_MAX = 256 * MIB, 4096 * MIB, 2.0
BALLOON_SPEEDUP_MIN = 10.0


class Value:
    """A measured time, or a lower bound when the resize timed out."""

    def __init__(self, ms, bound=False):
        self.ms, self.bound = ms, bound


def load(path, timeout_ms):
    """{(mech, direction, bytes): {rep: Value}} and device ms the same way."""
    times, device = {}, {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = (row["mechanism"], row["direction"], int(row["bytes"]))
            rep = int(row["rep"])
            if row["timed_out"] == "1":
                times.setdefault(key, {})[rep] = Value(timeout_ms, True)
            else:
                times.setdefault(key, {})[rep] = Value(float(row["ms"]))
            if row["device_ms"]:
                device.setdefault(key, {})[rep] = float(row["device_ms"])
    return times, device


def size_name(b):
    return f"{b // (1 << 30)} GiB" if b >= 1 << 30 else f"{b // MIB} MiB"


def num(x):
    """Three significant digits at most, never in exponent form."""
    if x >= 100:
        return f"{x:.0f}"
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


class Ratio:
    """Median, min and max of per-repetition ratios; bound: '>' '<' or ''."""

    def __init__(self, values):
        self.n = len(values)
        nums = [v for v, _ in values]
        self.median = statistics.median(nums)
        self.min, self.max = min(nums), max(nums)
        kinds = {k for _, k in values if k}
        self.bound = kinds.pop() if len(kinds) == 1 else ("?" if kinds else "")

    def cell(self):
        b = f"{self.bound} " if self.bound else ""
        return f"**{b}{num(self.median)}** ({num(self.min)} – {num(self.max)})"


def ratio(times, num_key, den_key):
    """Per-repetition num/den of two measurement series, or None."""
    num, den = times.get(num_key, {}), times.get(den_key, {})
    values = []
    for rep in sorted(set(num) & set(den)):
        a, b = num[rep], den[rep]
        if b.ms <= 0:
            continue
        # A timed-out numerator makes the ratio a lower bound, a
        # timed-out denominator an upper bound; both: unknown.
        kind = ">" if a.bound else ""
        if b.bound:
            kind = "?" if a.bound else "<"
        values.append((a.ms / b.ms, kind))
    return Ratio(values) if values else None


def summary_rows(times, device, sizes):
    rows = []
    for mech, _ in MECHS:
        for d in DIRECTIONS:
            for s in sizes:
                series = times.get((mech, d, s))
                if not series:
                    continue
                ms = [v.ms for v in series.values()]
                dev = list(device.get((mech, d, s), {}).values())
                rows.append({
                    "mechanism": mech, "direction": d, "bytes": s,
                    "runs": len(ms),
                    "timed_out": sum(v.bound for v in series.values()),
                    "ms_median": statistics.median(ms),
                    "ms_min": min(ms), "ms_max": max(ms),
                    "device_ms_median": statistics.median(dev) if dev else "",
                })
    return rows


def write_summary(path, rows):
    keys = list(rows[0].keys())
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(keys)
        for r in rows:
            w.writerow([f"{r[k]:.2f}" if isinstance(r[k], float) else r[k]
                        for k in keys])


def write_plot_data(path, rows, sizes):
    """One block per direction and mechanism (gnuplot index d*4+m)."""
    by_key = {(r["mechanism"], r["direction"], r["bytes"]): r for r in rows}
    with open(path, "w") as f:
        for d in DIRECTIONS:
            for mech, label in MECHS:
                f.write(f"# {d} {mech}: MiB ms_median ms_min ms_max\n")
                wrote = False
                for s in sizes:
                    r = by_key.get((mech, d, s))
                    if r:
                        f.write(f"{s // MIB} {r['ms_median']:.2f} "
                                f"{r['ms_min']:.2f} {r['ms_max']:.2f}\n")
                        wrote = True
                if not wrote:
                    # gnuplot wants every index to exist: an invisible point.
                    f.write("NaN NaN NaN NaN\n")
                f.write("\n\n")


def speedup_table(times, sizes):
    """Markdown: how many times longer the others take than vssd."""
    cols = [(o, v) for o in OTHERS for v in VSSD]
    lines = ["| size change | " + " | ".join(f"{o} / {v}" for o, v in cols) + " |",
             "| --- |" + " ---: |" * len(cols)]
    for d in DIRECTIONS:
        for s in sizes:
            cells = []
            for o, v in cols:
                r = ratio(times, (o, d, s), (v, d, s))
                cells.append(r.cell() if r else "–")
            lines.append(f"| {d} {size_name(s)} | " + " | ".join(cells) + " |")
    return lines


def scaling_table(times, sizes):
    """Markdown: grow/shrink per size and large/small per direction."""
    head = [f"grow / shrink, {size_name(s)}" for s in sizes]
    scale = SCALE_SMALL in sizes and SCALE_LARGE in sizes
    if scale:
        head += [f"{d} {size_name(SCALE_LARGE)} / {size_name(SCALE_SMALL)}"
                 for d in DIRECTIONS]
    lines = ["| mechanism | " + " | ".join(head) + " |",
             "| --- |" + " ---: |" * len(head)]
    for mech, label in MECHS:
        cells = []
        for s in sizes:
            r = ratio(times, (mech, "grow", s), (mech, "shrink", s))
            cells.append(r.cell() if r else "–")
        if scale:
            for d in DIRECTIONS:
                r = ratio(times, (mech, d, SCALE_LARGE), (mech, d, SCALE_SMALL))
                cells.append(r.cell() if r else "–")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def verdict(ok):
    return "**met**" if ok else "**not met**"


def goal_grow(times, sizes):
    """Grow no slower than 1.5x shrink, for vssd at every size."""
    worst = None
    for v in VSSD:
        for s in sizes:
            r = ratio(times, (v, "grow", s), (v, "shrink", s))
            if r and (worst is None or r.median > worst[0].median):
                worst = (r, v, s)
    if worst is None:
        return None
    r, v, s = worst
    ok = r.median <= GROW_OVER_SHRINK_MAX and r.bound != ">"
    return (f"vssd grow no slower than {GROW_OVER_SHRINK_MAX}x shrink",
            f"largest median grow / shrink: {r.cell()} ({v}, {size_name(s)})",
            verdict(ok))


def goal_scale(times, sizes):
    """time(4 GiB) / time(256 MiB) <= 2, for vssd in both directions."""
    if SCALE_SMALL not in sizes or SCALE_LARGE not in sizes:
        return None
    worst = None
    for v in VSSD:
        for d in DIRECTIONS:
            r = ratio(times, (v, d, SCALE_LARGE), (v, d, SCALE_SMALL))
            if r and (worst is None or r.median > worst[0].median):
                worst = (r, v, d)
    if worst is None:
        return None
    r, v, d = worst
    return (f"vssd time({size_name(SCALE_LARGE)}) / time({size_name(SCALE_SMALL)}) "
            f"<= {SCALE_MAX:g}",
            f"largest median: {r.cell()} ({v}, {d})",
            verdict(r.median <= SCALE_MAX and r.bound != ">"))


def goal_balloon(times, sizes):
    """vssd at least 10x faster than virtio-balloon for the same bytes."""
    worst = None
    for v in VSSD:
        for d in DIRECTIONS:
            for s in sizes:
                r = ratio(times, ("virtio-balloon", d, s), (v, d, s))
                if r and (worst is None or r.median < worst[0].median):
                    worst = (r, v, d, s)
    if worst is None:
        return None
    r, v, d, s = worst
    return (f"vssd >= {BALLOON_SPEEDUP_MIN:g}x faster than virtio-balloon",
            f"smallest median virtio-balloon / vssd: {r.cell()} "
            f"({v}, {d} {size_name(s)})",
            verdict(r.median >= BALLOON_SPEEDUP_MIN and r.bound != "<"))


def device_share(times, device):
    """Median share of the polled time that the device itself reports."""
    shares = []
    for (mech, d, s), series in device.items():
        for rep, dev_ms in series.items():
            t = times[(mech, d, s)][rep]
            if t.ms > 0 and not t.bound:
                shares.append(dev_ms / t.ms)
    return statistics.median(shares) if shares else None


def write_markdown(path, times, device, sizes, timeout, notes):
    out = ["Times are ratios of resizes measured in the same repetition "
           "(median, min – max over the repetitions); a ratio above 1 means "
           "the mechanism named first takes longer.", "",
           "How many times longer than vssd the same size change takes:", ""]
    out += speedup_table(times, sizes)
    out += ["", "Scaling of each mechanism:", ""]
    out += scaling_table(times, sizes)
    out += ["", "| goal (issue 3) | measured | |", "| --- | --- | --- |"]
    for g in (goal_grow(times, sizes), goal_scale(times, sizes),
              goal_balloon(times, sizes)):
        if g:
            out.append("| " + " | ".join(g) + " |")
    timeouts = [k for k, series in times.items()
                if any(v.bound for v in series.values())]
    out.append("")
    if timeouts:
        names = ", ".join(f"{m} {d} {size_name(s)}" for m, d, s in sorted(timeouts))
        out.append(f"Timed out after {timeout:g} s (counted as {timeout:g} s, "
                   f"so the ratios are bounds): {names}.")
    share = device_share(times, device)
    if share is not None:
        out.append(f"The device's own `last-resize-ms` (command to last accepted "
                   f"reply) is a median {share:.0%} of the polled vssd times; "
                   "the rest is QMP and polling, paid alike by every mechanism.")
    out += [""] + notes
    with open(path, "w") as f:
        f.write("\n".join(out).rstrip("\n") + "\n")
    return out


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csv")
    p.add_argument("outdir")
    p.add_argument("--timeout", type=float, required=True)
    p.add_argument("--note", action="append", default=[])
    args = p.parse_args(argv)
    times, device = load(args.csv, args.timeout * 1000.0)
    if not times:
        print(f"report: no measurement in {args.csv}", file=sys.stderr)
        return 1
    sizes = sorted({s for (_, _, s) in times})
    rows = summary_rows(times, device, sizes)
    write_summary(f"{args.outdir}/resize-summary.csv", rows)
    write_plot_data(f"{args.outdir}/resize-plot.dat", rows, sizes)
    md = write_markdown(f"{args.outdir}/resize.md", times, device, sizes,
                        args.timeout, args.note)
    print("\n".join(md[:-len(args.note)] if args.note else md))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
