# CPU %, CPU µs per forwarded packet and loss % vs subscribers for Shoal and Janus, from bench/results/compare.dat
# (written by bench/plot-compare.ts from the RESULT line of `npm run bench -- compare`).
# Run from the repository root: gnuplot bench/plot-compare.gp  →  bench/results/compare.png
# Columns of compare.dat: N, Shoal CPU %, Janus CPU %, Shoal µs/pkt, Janus µs/pkt, Shoal loss %, Janus loss %
if (!exists("datafile")) datafile = 'bench/results/compare.dat'
if (!exists("outfile")) outfile = 'bench/results/compare.png'
set terminal pngcairo size 900,1050 font 'DejaVu Sans,11' noenhanced
set output outfile
set multiplot layout 3,1 title "Fan-out 1 publisher (VP8 ~100 pkts/s) → N subscribers: Shoal vs Janus 1.1.2 VideoRoom"
set logscale x 2
set xrange [6:300]
set xtics (8, 16, 32, 64, 128, 256)
set grid
set key top left opaque
set style data linespoints
set offsets 0, 0, graph 0.25, 0   # headroom for the key

set ylabel 'server CPU % (of one core)'
set yrange [0:*]
plot datafile using 1:2 title 'Shoal CPU %' lw 2 pt 7 lc rgb '#1f77b4', \
     '' using 1:3 title 'Janus CPU %' lw 2 pt 5 lc rgb '#d62728'

set ylabel 'server CPU µs per forwarded packet'
plot datafile using 1:4 title 'Shoal µs/pkt' lw 2 pt 7 lc rgb '#1f77b4', \
     '' using 1:5 title 'Janus µs/pkt' lw 2 pt 5 lc rgb '#d62728'

set xlabel 'subscribers (N)'
set ylabel 'subscriber loss %'
set yrange [0:1.5<*]
set arrow from 6,1 to 300,1 nohead dt 2 lc rgb '#555555'
set label '1 % loss' at 7,1 offset 0,0.6 tc rgb '#555555'
plot datafile using 1:7 title 'Janus loss %' lw 3 pt 5 ps 1.4 lc rgb '#d62728', \
     '' using 1:6 title 'Shoal loss %' lw 2 pt 7 ps 0.9 lc rgb '#1f77b4'
unset multiplot
