# SPDX-License-Identifier: GPL-2.0-or-later
#
# Throughput of every configuration relative to /dev/scm outside
# containers, grouped by benchmark and mode, on a log scale.
#   gnuplot -e "datafile='cscm-plot.dat'; outfile='cscm.png'; subtitle='...'" plot.gp
# Data (bench/cscm/report.py): a header "# bench-mode CONFIG...", then one
# line per benchmark and mode: "label" and one ratio per configuration
# (NaN where a configuration does not run, e.g. anonymous memory has no
# consistency points).

if (!exists("subtitle")) subtitle = ""

# The configurations, in the data file's column order (report.py CONFIGS).
names = "ct-scm host-scm anon volume overlay host-scm-wb"
label(c) = c eq "ct-scm" ? "/dev/scm, runc container" : \
	c eq "host-scm" ? "/dev/scm, outside containers" : \
	c eq "anon" ? "anonymous memory (not persistent)" : \
	c eq "volume" ? "volume: ext4 file, msync" : \
	c eq "overlay" ? "storage driver: overlayfs file, msync" : \
	"/dev/scm, CPU write-back only (no host flush)"
color(c) = c eq "ct-scm" ? "#2f6db5" : c eq "host-scm" ? "#6fa8dc" : \
	c eq "anon" ? "#999999" : c eq "volume" ? "#e69138" : \
	c eq "overlay" ? "#c00000" : "#93c47d"

# Which configurations the data file has: its header names them.
header = system("head -n 1 '".datafile."'")
ncols = words(header) - 2

set terminal pngcairo size 1000,600 font "sans,10"
set output outfile
set title "CSCM workloads: throughput relative to /dev/scm outside containers (higher is better)\n{/*0.85 ".subtitle."}"
set ylabel "throughput / throughput of /dev/scm outside containers"
set logscale y 10
set format y "%g"
set yrange [*:*]
set grid ytics
set key below horizontal maxrows 2 font ",9" width 2
set style data histogram
set style histogram clustered gap 1.2
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics nomirror
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb "#444444" back

plot for [i=1:ncols] datafile using (column(i + 1) > 0 ? column(i + 1) : 1/0):xtic(1) \
	title label(word(header, i + 2)) lc rgb color(word(header, i + 2))
