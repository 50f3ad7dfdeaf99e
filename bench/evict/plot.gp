# SPDX-License-Identifier: GPL-2.0-or-later
#
# Hits and misses of the measured reads after the shrink, per policy.
#   gnuplot -e "datafile='evict-plot.dat'; outfile='evict.png'; subtitle='...'" plot.gp
# Data lines: "policy label" hits misses (bench/evict/report.py).

if (!exists("subtitle")) subtitle = ""

set terminal pngcairo size 800,500 font "sans,10"
set output outfile
set title "Reads after a shrink: who chooses the blocks to give back\n{/*0.85 ".subtitle."}"
set ylabel "reads"
set yrange [0:*]
set grid ytics
set key top left
set style data histogram
set style histogram clustered gap 1.5
set style fill solid 0.7 border -1
set boxwidth 0.9
set offsets 0, 0, graph 0.08, 0
set xtics nomirror

plot datafile using 2:xtic(1) title "hits" lc rgb "#2f6db5", \
     '' using 3 title "misses (EIO)" lc rgb "#c00000", \
     '' using ($0 - 0.17):2:(sprintf("%d", $2)) with labels offset 0,0.7 font "sans,9" notitle, \
     '' using ($0 + 0.17):3:(sprintf("%d", $3)) with labels offset 0,0.7 font "sans,9" notitle
