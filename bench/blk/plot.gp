# SPDX-License-Identifier: GPL-2.0-or-later
#
# Bar chart of the vssd / virtio-blk throughput ratio per fio job.
#   gnuplot -e "datafile='blk-plot.dat'; outfile='blk.png'; subtitle='...'" plot.gp
# Bars: median over the repetitions; error bars: min and max.

if (!exists("subtitle")) subtitle = ""

set terminal pngcairo size 900,520 font "sans,10"
set output outfile
set title "vssd / virtio-blk throughput (fio in a TCG guest)\n{/*0.85 ".subtitle."}"
set ylabel "ratio (higher is better for vssd)"
set yrange [0:*]
set grid ytics
set key off
set style data histogram
set style histogram errorbars gap 1 lw 1.5
set style fill solid 0.6 border -1
set boxwidth 0.8
set xtics rotate by -20 left nomirror
set bars 2
# One bar per line of the data file, without empty margins.
stats datafile using 2 nooutput
set xrange [-0.6:STATS_records - 0.4]
# The parity line: above it vssd is faster.
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 2 lc rgb "#c00000" front

plot datafile using 2:3:4:xtic(1) lc rgb "#2f6db5", \
     '' using 0:($4):(sprintf("%.2f", $2)) with labels offset 0,0.8 font "sans,9"
