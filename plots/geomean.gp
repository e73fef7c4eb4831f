# geomean.gp - chart (6): the one-glance summary, each allocator's
# geometric mean over traces of its time and peak RSS ratios to the
# baseline.  Reads data/geomean.dat: measure, then one column per
# allocator.  A geometric mean, because ratios multiply: 2x on one trace
# and 0.5x on another average to 1x.
load plotsdir.'/common.gp'
set title sprintf("Geometric mean over traces of the ratio to %s " . \
    "(%d instance(s))", baseline, inst) noenhanced
set ylabel sprintf("ratio to %s (lower is better)", baseline) noenhanced
set xlabel "measure"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set yrange [0:*]
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 \
    lc rgb '#444444'
if (!has_ratio) {
    eval nothing
    exit
}
plot for [i=1:nalloc] datadir.'/geomean.dat' using (column(i+1)):xtic(1) \
    title word(allocs, i) lc rgb word(colours, i)
