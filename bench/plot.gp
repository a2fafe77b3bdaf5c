# plot.gp - latency percentiles per transport and record size, from shmbus_bench's plot.dat.
#   gnuplot -e "dat='bench/out/plot.dat'; png='bench/out/latency.png'" bench/plot.gp
# Panels 1-5: one record size each; per transport the p50, p90, p99 and p99.9 bars (log scale,
# microseconds), one reader. Panel 6: shmbus at 64 B against the number of readers.
if (!exists("dat")) dat = 'bench/out/plot.dat'
if (!exists("png")) png = 'bench/out/latency.png'
set terminal pngcairo size 1800,1150 font "Sans,10"
set output png
set multiplot layout 2,3 title "shmbus one-way latency vs floors and peers (us, log scale; one reader unless stated)" font "Sans,13"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [0.01:*]
set grid ytics
set xtics rotate by -40 font "Sans,8" nomirror
set ylabel "us"
set key top left font "Sans,8"
titles = "8 B|64 B|4 KiB|64 KiB|1 MiB"
do for [i=0:4] {
  set title sprintf("record size %s", word(system("echo '8B 64B 4KiB 64KiB 1MiB'"), i+1))
  plot dat index i using 2:xtic(1) title "p50" lc rgb "#1b9e77", \
       '' index i using 3 title "p90" lc rgb "#7570b3", \
       '' index i using 4 title "p99" lc rgb "#d95f02", \
       '' index i using 5 title "p99.9" lc rgb "#e7298a"
}
unset style
set yrange [1:*]
set style data linespoints
set logscale x 2
set xtics 4 rotate by 0 font "Sans,9"
set xlabel "readers"
set title "shmbus 64 B: latency vs readers"
plot dat index 5 using 1:2 title "sleep p50" lw 2 pt 7 lc rgb "#1b9e77", \
     '' index 5 using 1:3 title "sleep p99" lw 2 pt 7 dt 2 lc rgb "#1b9e77", \
     '' index 5 using 1:4 title "spin-then-sleep p50" lw 2 pt 5 lc rgb "#d95f02", \
     '' index 5 using 1:5 title "spin-then-sleep p99" lw 2 pt 5 dt 2 lc rgb "#d95f02"
unset multiplot
