# tests/bench/chart.gp -- make bench's chart: throughput against max_inflight
# (50 ms provider latency, one worker) and the open-loop latency percentiles.
#   gnuplot tests/bench/chart.gp   (reads tests/bench/results/latest.csv)
set terminal pngcairo size 1100,420 font "sans,10" noenhanced
set output "tests/bench/results/latest.png"
set datafile separator ","
set multiplot layout 1,2 title "payworker bench (tests/bench/results/latest.csv)"

set title "throughput, 50 ms provider latency, 1 worker"
set xlabel "max_inflight"
set ylabel "commands/s"
set logscale xy 2
set grid
plot "tests/bench/results/latest.csv" every ::1 using \
     ($2 == 50 && $4 == 1 && strstrt(stringcolumn(1), "open") == 0 ? $3 : 1/0):6 \
     with linespoints lw 2 pt 7 title "preloaded", \
     "tests/bench/results/latest.csv" every ::1 using \
     ($2 == 50 && $4 == 1 && strstrt(stringcolumn(1), "open") == 0 ? $3 : 1/0):($3 * 20) \
     with lines dt 2 lc rgb "gray" title "max_inflight / 50 ms"

unset logscale
set title "end-to-end latency, open loop at half the best rate"
set xlabel ""
set ylabel "ms"
set style fill solid 0.6
set boxwidth 0.6
set xrange [-0.5:3.5]
set yrange [0:*]
set xtics ("p50" 0, "p90" 1, "p99" 2, "max" 3)
f = "< grep open tests/bench/results/latest.csv"
plot f using (0):7 with boxes notitle, f using (1):8 with boxes notitle, \
     f using (2):9 with boxes notitle, f using (3):10 with boxes notitle
unset multiplot
