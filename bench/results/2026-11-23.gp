set terminal pngcairo size 1470,520 font ',9'
set output '/work/main/bench/results/2026-11-23.png'
set title 'warren vs crun/runc, 2026-11-23, 2 cores'
set ylabel 'ms (median, bars: min..max), log scale'
set logscale y
set style fill solid 0.7
set boxwidth 0.7
set grid ytics
set xtics rotate by -45 font ',8'
set key off
set bmargin 9
plot '/work/main/bench/results/2026-11-23.dat' using 0:2:3:4:(0.7):5:xtic(1) with boxerrorbars lc variable
