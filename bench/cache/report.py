#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""report.py CSV MD PLOTDAT — the tables of bench/cache/run.sh.

CSV rows: strategy,phase,key,value (the guest's "bench:" lines). MD gets
the Markdown tables, PLOTDAT the read hit ratio per strategy and phase
for plot.gp.
"""

import collections
import csv
import sys

SHORT = {"agent": "vssd-cache agent", "tail": "dm-cache tail shrink",
         "rewarm": "drop and rewarm", "reference": "built smaller"}
NAMES = {
    "agent": "vssd-cache agent",
    "tail": "dm-cache tail shrink (clean, truncate)",
    "rewarm": "drop and rewarm",
}


def load(path):
    data = collections.defaultdict(dict)
    with open(path) as f:
        for row in csv.DictReader(f):
            data[(row["strategy"], row["phase"])][row["key"]] = row["value"]
    return data


def ratio(d, key):
    """Read hit ratio of phase d, or None."""
    if not d or "hits" not in d:
        return None
    h, m = int(d["hits"]), int(d["misses"])
    return h / (h + m) if h + m else None


def pct(x):
    return "–" if x is None else f"{100 * x:.1f} %"


def mib(b):
    return "–" if b is None else f"{int(b) / 2**20:.1f} MiB"


def kept(d):
    if not d or "hot_before" not in d or int(d["hot_before"]) == 0:
        return None
    return int(d["hot_after"]) / int(d["hot_before"])


def main():
    csv_path, md_path, dat_path = sys.argv[1:4]
    data = load(csv_path)
    ref75 = ratio(data.get(("reference", "built_at_75")), "")
    ref50 = ratio(data.get(("reference", "built_at_50")), "")
    lines = [
        "| strategy | hottest blocks kept, 25 % shrink | 50 % | hit ratio: steady | "
        "during the 25 % shrink | right after it | after 50 % | after the grow | "
        "I/O pause in the 256 MiB shrink: p99 / max | the 256 MiB shrink took | "
        "written back / dirty given up (25 %, 50 %) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    plot = []
    for s in ("agent", "tail", "rewarm"):
        g = lambda p: data.get((s, p), {})
        if not g("steady"):
            continue
        sh = g("shrink25")
        pause = "–"
        if "p99_us" in sh:
            pause = f"{int(sh['p99_us']) / 1000:.1f} / {int(sh['max_us']) / 1000:.0f} ms"
        wb = "; ".join(
            f"{mib(g(p).get('writeback_bytes'))} / {mib(g(p).get('dirty_given_up_bytes'))}"
            for p in ("after25", "after50"))
        lines.append(
            f"| {NAMES[s]} | {pct(kept(g('after25')))} | {pct(kept(g('after50')))} | "
            f"{pct(ratio(g('steady'), ''))} | {pct(ratio(sh, ''))} | "
            f"{pct(ratio(g('after25'), ''))} | {pct(ratio(g('after50'), ''))} | "
            f"{pct(ratio(g('after_grow'), ''))} | {pause} | "
            f"{float(sh.get('seconds', 'nan')):.1f} s | {wb} |")
        plot.append((s, [ratio(g(p), "") for p in ("steady", "after25", "after50", "after_grow")]))
    plot.append(("reference", [None, ref75, ref50, None]))
    lines += [
        "",
        f"A cache built at 75 % and warmed as long: hit ratio **{pct(ref75)}**; at 50 %: **{pct(ref50)}**.",
    ]
    a = kept(data.get(("agent", "after25")))
    if a is not None:
        lines.append("")
        lines.append("| goal | measured | |")
        lines.append("| --- | --- | --- |")
        lines.append(f"| hottest blocks still cached after a 25 % shrink >= 95 % | "
                     f"**{pct(a)}** | **{'met' if a >= 0.95 else 'not met'}** |")
    with open(md_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(dat_path, "w") as f:
        for s, vals in plot:
            f.write(f'"{SHORT[s]}" ' +
                    " ".join("NaN" if v is None else f"{100 * v:.2f}" for v in vals) + "\n")


if __name__ == "__main__":
    main()
