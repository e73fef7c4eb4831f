# rss.gp - chart (2): the allocator's peak memory (anonymous resident
# memory: the harness keeps its own apart) per trace and allocator,
# median of runs, error bars from the smallest to the largest run.  Reads data/rss.dat: trace, then per allocator median, min, max
# in MiB; NaN leaves a gap.
load plotsdir.'/common.gp'
set title sprintf("Allocator's peak memory (median of runs, min to max; " . \
    "%d instance(s))", inst)
set ylabel "peak memory: anonymous RSS (MiB, lower is better)"
set xlabel "trace"
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border -1
set yrange [0:*]
if (!has_ok) {
    eval nothing
    exit
}
plot for [i=1:nalloc] datadir.'/rss.dat' \
    using (column(3*i-1)):(column(3*i)):(column(3*i+1)):xtic(1) \
    title word(allocs, i) lc rgb word(colours, i)
