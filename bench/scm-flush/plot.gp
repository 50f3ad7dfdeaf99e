# SPDX-License-Identifier: GPL-2.0-or-later
# gnuplot -e "csv='...'; png='...'" plot.gp
set terminal pngcairo size 800,450
set output png
set datafile separator ","
set title "/dev/scm consistency points: two containers syncing at once vs one"
set xlabel "repetition"
set ylabel "pair total / single (points per second)"
set yrange [0:2.5]
set key top left
set style fill solid 0.6
set boxwidth 0.35
plot csv every ::1 using ($1-0.2):6 with boxes title "pair / single", \
     csv every ::1 using ($1+0.2):4 with boxes title "A/A control", \
     1.6 with lines dt 2 title "goal 1.6"
