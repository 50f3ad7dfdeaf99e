# SPDX-License-Identifier: GPL-2.0-or-later
#
# Read hit ratio per strategy: steady state, right after the 25 % shrink,
# after the 50 % one, after the grow back (bench/cache/report.py).
#   gnuplot -e "datafile='cache-plot.dat'; outfile='cache.png'" plot.gp

set terminal pngcairo size 900,500 font "sans,10"
set output outfile
set title "dm-cache on a vSSD that shrinks by 25 %, to 50 %, and grows back"
set ylabel "read hit ratio (%)"
set yrange [0:105]
set grid ytics
set key below
set style data histogram
set style histogram clustered gap 1.5
set style fill solid 0.7 border -1
set boxwidth 0.9
set xtics nomirror font "sans,9"

plot datafile using 2:xtic(1) title "steady" lc rgb "#808080", \
     '' using 3 title "after the 25 % shrink" lc rgb "#2f6db5", \
     '' using 4 title "after the 50 % shrink" lc rgb "#c07000", \
     '' using 5 title "after the grow" lc rgb "#2f9b4f"
