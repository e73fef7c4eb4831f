# time.gp - chart (1): each allocator's median run time divided by the
# baseline's on the same trace, with the 95% bootstrap interval of that
# ratio as error bars.  Reads data/time.dat: trace, then per allocator
# three columns (ratio, low, high); NaN (a failed case) leaves a gap.
load plotsdir.'/common.gp'
set title sprintf("Run time normalised to %s (median of runs, 95%% " . \
    "interval; %d instance(s))", baseline, inst) noenhanced
set ylabel sprintf("time / %s time (ratio, lower is better)", baseline) \
    noenhanced
set xlabel "trace"
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border -1
set yrange [0:*]
# The baseline's level: bars below the line are faster.
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 \
    lc rgb '#444444'
if (!has_ratio) {
    eval nothing
    exit
}
plot for [i=1:nalloc] datadir.'/time.dat' \
    using (column(3*i-1)):(column(3*i)):(column(3*i+1)):xtic(1) \
    title word(allocs, i) lc rgb word(colours, i)
