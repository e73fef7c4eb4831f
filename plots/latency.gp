# latency.gp - chart (3): latency of allocator calls (all kinds) at p50,
# p90, p99, p99.9 and max, a line per allocator, one panel per trace, on
# a log scale since the tail is orders of magnitude above the median.
# Reads data/latency.dat: one block per trace, rows per percentile, a
# column per allocator (ns, median over runs).  A percentile measured as
# 0 ns (a call quicker than the timer's resolution once its own cost is
# taken off) has no place on a log scale: it is drawn at the 1 ns floor,
# with an open marker, and the axis says so, rather than left out.
panels = words(traces)
load plotsdir.'/common.gp'
set logscale y
set format y "10^{%L}"
set ylabel "latency per call (ns, log scale; open marker: 0 ns)"
at_floor(v) = v < 1 ? 1 : v
set xlabel "percentile"
set multiplot layout rows, cols title sprintf("Allocator call " . \
    "latency percentiles (all calls, median of runs; %d instance(s))", \
    inst)
do for [t=1:ntrace] {
    set title word(traces, t) noenhanced
    if (word(okpanels, t) eq '0') {
        eval nothing
        continue
    }
    plot for [i=1:nalloc] datadir.'/latency.dat' index (t - 1) \
        using 0:(at_floor(column(i + 1))):xtic(1) title word(allocs, i) \
        with linespoints lw 2 pt 7 lc rgb word(colours, i), \
        for [i=1:nalloc] datadir.'/latency.dat' index (t - 1) \
        using 0:(column(i + 1) < 1 ? 1 : NaN) notitle \
        with points pt 6 ps 2 lc rgb word(colours, i)
}
unset multiplot
