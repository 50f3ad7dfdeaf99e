#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""report.py RAW.csv OUT.csv OUT.md NOTE — the scm-flush table.

RAW rows: kind (single|pair), repetition, container (A|B), points/s.
Per repetition: single = the mean of A's and B's solo runs, A/A = B's solo
over A's (the noise band), pair = A + B run at once, ratio = pair/single.
"""
import csv
import statistics
import sys


def main(raw, out_csv, out_md, note):
    runs = {}
    with open(raw) as f:
        for kind, rep, ct, cps in csv.reader(f):
            runs.setdefault((kind, int(rep)), {})[ct] = float(cps)
    rows = []
    for rep in sorted({r for _, r in runs}):
        s, p = runs.get(("single", rep), {}), runs.get(("pair", rep), {})
        if len(s) < 2 or len(p) < 2:
            continue
        single = (s["A"] + s["B"]) / 2
        rows.append((rep, s["A"], s["B"], s["B"] / s["A"], p["A"] + p["B"],
                     (p["A"] + p["B"]) / single))
    if not rows:
        sys.exit("report.py: no complete repetition")
    with open(out_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rep", "single_a", "single_b", "aa_ratio", "pair_total",
                    "pair_over_single"])
        for r in rows:
            w.writerow([r[0]] + [f"{v:.3f}" for v in r[1:]])
    ratio = statistics.median(r[5] for r in rows)
    aa = [r[3] for r in rows]
    with open(out_md, "w") as f:
        f.write(f"Setup: {note}.\n\n")
        f.write("| rep | A alone (cp/s) | B alone (cp/s) | A/A | A+B at once (cp/s) | pair / single |\n")
        f.write("|---:|---:|---:|---:|---:|---:|\n")
        for r in rows:
            f.write(f"| {r[0]} | {r[1]:.1f} | {r[2]:.1f} | {r[3]:.2f} | {r[4]:.1f} | {r[5]:.2f} |\n")
        f.write(f"\nMedian pair/single: **{ratio:.2f}** (goal >= 1.6); "
                f"A/A band {min(aa):.2f} - {max(aa):.2f}.\n")


if __name__ == "__main__":
    main(*sys.argv[1:5])
