# SPDX-License-Identifier: GPL-2.0-or-later
#
# Resize time against size change, shrink and grow side by side.
#   gnuplot -e "datafile='resize-plot.dat'; outfile='resize.png'; subtitle='...'" plot.gp
# The data file holds one block per direction and mechanism (report.py):
# index 0-3 shrink, 4-7 grow, in the order of the names below. Points are
# medians, error bars min and max; both axes are logarithmic.

if (!exists("subtitle")) subtitle = ""

colors = "#2f6db5 #6fa8dc #e69138 #c00000"
name(m) = m == 0 ? "vssd, 1 MiB blocks" : m == 1 ? "vssd, 64 KiB blocks" : \
	m == 2 ? "virtio-mem, 2 MiB blocks" : "virtio-balloon, 4 KiB pages"

set terminal pngcairo size 1100,520 font "sans,10"
set output outfile
set multiplot layout 1,2 title "Resize time in one TCG guest (compare the lines, not the values)\n{/*0.85 ".subtitle."}"
set logscale xy 2
set format y "%g"
set xlabel "size change (MiB)"
set ylabel "ms from the QMP command to the state showing the target"
set grid xtics ytics
# One key, in the shrink panel (its top left stays free: small changes are fast).
set key top left font ",9" spacing 0.9
# The same time axis in both panels: from the smallest min to the largest max.
stats datafile using 3 nooutput
ymin = STATS_min
stats datafile using 4 nooutput
set yrange [ymin / 1.5 : STATS_max * 1.5]
set bars 2
set offsets graph 0.05, graph 0.05, 0, 0

do for [d=0:1] {
	set title (d == 0 ? "shrink" : "grow")
	if (d == 1) { unset key }
	plot for [m=0:3] datafile index (d * 4 + m) using 1:2:3:4 \
		with yerrorlines lw 2 pt 7 ps 0.8 lc rgb word(colors, m + 1) \
		title name(m)
}
unset multiplot
