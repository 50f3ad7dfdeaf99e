#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Turn the console log of a bench/blk run into CSV, Markdown and plot data.

    report.py LOG OUTDIR [--note TEXT]...

Reads the fio results that bench/blk/guest.sh printed (gzip + base64 of
fio's JSON between "bench.result JOB DEVICE REP" and "bench.end") and
writes into OUTDIR:

    blk.csv          one row per fio run: job, device, rep, iops, bw_kib_s,
                     lat_mean_us, clat_p50_us, clat_p99_us
    blk-summary.csv  one row per job: medians per device and the ratio
                     vssd / virtio-blk (median, min, max over repetitions;
                     each repetition pairs the two back-to-back runs)
    blk.md           the summary as a Markdown table
    blk-plot.dat     the ratios, for bench/blk/plot.gp
    blk-raw/         fio's JSON of every run

Exit status 1 when the log holds no complete pair of results.
Standard library only.
"""

import base64
import csv
import gzip
import json
import os
import statistics
import sys

DEVICES = ("vssd", "virtio-blk")
# Order of the jobs in the tables and the plot.
JOB_ORDER = ("randread-4k-qd1", "randread-4k-qd32", "randwrite-4k-qd1",
             "randwrite-4k-qd32", "seqread-1m", "seqwrite-1m")


def parse_log(path):
    """Return {(job, device, rep): fio-json-dict} found in the log."""
    results = {}
    current = None
    chunks = []
    with open(path, "rb") as f:
        for raw in f:
            line = raw.decode("ascii", "replace").strip("\r\n ")
            if current is None:
                pos = line.find("bench.result ")
                if pos >= 0:
                    fields = line[pos:].split()
                    if len(fields) == 4:
                        current = (fields[1], fields[2], int(fields[3]))
                        chunks = []
                continue
            if line.endswith("bench.end"):
                try:
                    text = gzip.decompress(base64.b64decode("".join(chunks)))
                    text = text.decode("utf-8", "replace")
                    # fio may print warnings before the JSON object.
                    results[current] = json.loads(text[text.index("{"):])
                except (ValueError, OSError, EOFError) as e:
                    print(f"report: cannot decode {current}: {e}",
                          file=sys.stderr)
                current = None
                continue
            chunks.append(line)
    return results


def metrics(fio):
    """The numbers of one fio run (its single job, read or write side)."""
    job = fio["jobs"][0]
    side = job["read"] if job["read"]["io_bytes"] > 0 else job["write"]
    pct = side.get("clat_ns", {}).get("percentile", {})
    return {
        "iops": side["iops"],
        "bw_kib_s": side["bw"],
        "lat_mean_us": side["lat_ns"]["mean"] / 1000.0,
        "clat_p50_us": pct.get("50.000000", 0) / 1000.0,
        "clat_p99_us": pct.get("99.000000", 0) / 1000.0,
    }


def job_key(job):
    return (JOB_ORDER.index(job) if job in JOB_ORDER else len(JOB_ORDER), job)


def fmt_rate(job, m):
    """Throughput as people read it: IOPS for small blocks, MiB/s for 1M."""
    if job.endswith("-1m"):
        return f"{m['bw_kib_s'] / 1024:.1f} MiB/s"
    return f"{m['iops']:.0f} IOPS"


def main(argv):
    notes = []
    args = []
    i = 1
    while i < len(argv):
        if argv[i] == "--note" and i + 1 < len(argv):
            notes.append(argv[i + 1])
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    log, outdir = args
    raw = os.path.join(outdir, "blk-raw")
    os.makedirs(raw, exist_ok=True)
    for old in os.listdir(raw):
        os.remove(os.path.join(raw, old))

    results = parse_log(log)
    rows = {}
    for (job, dev, rep), fio in sorted(results.items()):
        with open(os.path.join(raw, f"{job}.{dev}.{rep}.json"), "w") as f:
            json.dump(fio, f, indent=1)
        rows[(job, dev, rep)] = metrics(fio)

    fields = ["iops", "bw_kib_s", "lat_mean_us", "clat_p50_us", "clat_p99_us"]
    with open(os.path.join(outdir, "blk.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["job", "device", "rep"] + fields)
        for (job, dev, rep) in sorted(rows, key=lambda k: (job_key(k[0]), k[2], k[1])):
            m = rows[(job, dev, rep)]
            w.writerow([job, dev, rep] + [f"{m[k]:.2f}" for k in fields])

    jobs = sorted({k[0] for k in rows}, key=job_key)
    summary = []
    for job in jobs:
        reps = sorted(r for (j, d, r) in rows if j == job and d == "vssd"
                      and (j, "virtio-blk", r) in rows)
        if not reps:
            continue
        vs = [rows[(job, "vssd", r)] for r in reps]
        vb = [rows[(job, "virtio-blk", r)] for r in reps]
        ratios = [a["iops"] / b["iops"] if b["iops"] else float("nan")
                  for a, b in zip(vs, vb)]
        lat_ratios = [a["lat_mean_us"] / b["lat_mean_us"] if b["lat_mean_us"]
                      else float("nan") for a, b in zip(vs, vb)]

        def med(lst, key):
            return statistics.median(m[key] for m in lst)
        summary.append({
            "job": job,
            "reps": len(reps),
            "virtio_blk_iops": med(vb, "iops"),
            "vssd_iops": med(vs, "iops"),
            "virtio_blk_bw_kib_s": med(vb, "bw_kib_s"),
            "vssd_bw_kib_s": med(vs, "bw_kib_s"),
            "virtio_blk_lat_mean_us": med(vb, "lat_mean_us"),
            "vssd_lat_mean_us": med(vs, "lat_mean_us"),
            "ratio_median": statistics.median(ratios),
            "ratio_min": min(ratios),
            "ratio_max": max(ratios),
            "lat_ratio_median": statistics.median(lat_ratios),
        })
    if not summary:
        print(f"report: no complete vssd/virtio-blk pair in {log}",
              file=sys.stderr)
        return 1

    keys = list(summary[0].keys())
    with open(os.path.join(outdir, "blk-summary.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(keys)
        for s in summary:
            w.writerow([s[k] if isinstance(s[k], (str, int)) else f"{s[k]:.4f}"
                        for k in keys])

    with open(os.path.join(outdir, "blk-plot.dat"), "w") as f:
        f.write("# job ratio_median ratio_min ratio_max\n")
        for s in summary:
            f.write(f"{s['job']} {s['ratio_median']:.4f} "
                    f"{s['ratio_min']:.4f} {s['ratio_max']:.4f}\n")

    with open(os.path.join(outdir, "blk.md"), "w") as f:
        f.write("| job | virtio-blk | vssd | vssd / virtio-blk (median) "
                "| min – max | mean latency vssd / virtio-blk |\n")
        f.write("| --- | ---: | ---: | ---: | ---: | ---: |\n")
        for s in summary:
            blk = {"iops": s["virtio_blk_iops"], "bw_kib_s": s["virtio_blk_bw_kib_s"]}
            vs = {"iops": s["vssd_iops"], "bw_kib_s": s["vssd_bw_kib_s"]}
            f.write(f"| {s['job']} | {fmt_rate(s['job'], blk)} "
                    f"| {fmt_rate(s['job'], vs)} | **{s['ratio_median']:.2f}** "
                    f"| {s['ratio_min']:.2f} – {s['ratio_max']:.2f} "
                    f"| {s['lat_ratio_median']:.2f} |\n")
        if notes:
            f.write("\n")
            for n in notes:
                f.write(f"{n}\n")

    width = max(len(s["job"]) for s in summary)
    print(f"{'job':<{width}}  {'virtio-blk':>12}  {'vssd':>12}  ratio  (min-max)")
    for s in summary:
        blk = {"iops": s["virtio_blk_iops"], "bw_kib_s": s["virtio_blk_bw_kib_s"]}
        vs = {"iops": s["vssd_iops"], "bw_kib_s": s["vssd_bw_kib_s"]}
        print(f"{s['job']:<{width}}  {fmt_rate(s['job'], blk):>12}  "
              f"{fmt_rate(s['job'], vs):>12}  {s['ratio_median']:.2f}   "
              f"({s['ratio_min']:.2f}-{s['ratio_max']:.2f})")
    missing = [j for j in JOB_ORDER if j not in {s["job"] for s in summary}]
    if missing:
        print(f"report: no results for {' '.join(missing)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
