# fanout.gp - waking N sleeping readers, old design against new, from shmbus_bench's fanout.dat.
#   gnuplot -e "dat='bench/out/fanout.dat'; png='bench/out/fanout.png'" bench/fanout.gp
# Left: the writer's call (publish, or the floor's bare FUTEX_WAKE) against N. Right: when the
# first and the last reader have the record. p50 solid, p90 dashed; log-log, microseconds.
# Columns of fanout.dat: 1 readers; then p50 p90 of old/new/floor call (2-7), first (8-13),
# last (14-19).
if (!exists("dat")) dat = 'bench/out/fanout.dat'
if (!exists("png")) png = 'bench/out/fanout.png'
set terminal pngcairo size 1500,600 font "Sans,10" noenhanced
set output png
set multiplot layout 1,2 title "Waking N sleeping readers: old broadcast (writer wakes all) vs new wake tree (writer wakes 2), 64 B" font "Sans,12"
set logscale xy
set grid xtics ytics
set xlabel "sleeping readers N"
set ylabel "us"
set xtics (1, 4, 16, 64, 256)
set xrange [0.8:320]
set key top left font "Sans,9"
set style data linespoints
set title "writer: the publish call (floor: FUTEX_WAKE(INT_MAX))"
plot dat using 1:2 title "old p50" lw 2 pt 7 lc rgb "#d95f02", \
     '' using 1:3 title "old p90" lw 1 pt 7 dt 2 lc rgb "#d95f02", \
     '' using 1:4 title "new p50" lw 2 pt 5 lc rgb "#1b9e77", \
     '' using 1:5 title "new p90" lw 1 pt 5 dt 2 lc rgb "#1b9e77", \
     '' using 1:6 title "bare futex floor p50" lw 2 pt 9 lc rgb "#7570b3"
set title "readers: publish start to the record copied out (p50)"
plot dat using 1:14 title "old: last reader" lw 2 pt 7 lc rgb "#d95f02", \
     '' using 1:8 title "old: first reader" lw 1 pt 6 dt 2 lc rgb "#d95f02", \
     '' using 1:16 title "new: last reader" lw 2 pt 5 lc rgb "#1b9e77", \
     '' using 1:10 title "new: first reader" lw 1 pt 4 dt 2 lc rgb "#1b9e77", \
     '' using 1:18 title "floor: last bare waiter" lw 2 pt 9 lc rgb "#7570b3", \
     '' using 1:12 title "floor: first bare waiter" lw 1 pt 8 dt 2 lc rgb "#7570b3"
unset multiplot
