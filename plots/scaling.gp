# scaling.gp - chart (5): throughput as the number of concurrent copies
# of the trace grows (`compare --instances 1,2,4`), a line per
# allocator, one panel per trace.  Flat or rising is good; falling means
# the allocator serialises.  Reads data/scaling.dat: one block per
# trace, rows per instance count, a column per allocator (calls per
# second over all instances, median of runs).
panels = words(traces)
load plotsdir.'/common.gp'
set xlabel "instances (copies of the trace at once)"
set ylabel "throughput (calls/s, higher is better)"
# SI prefixes (k, M) so the axis reads the same at any rate
set format y '%.1s%c'
set yrange [0:*]
set offsets 0.25, 0.25, 0, 0
set multiplot layout rows, cols title "Scaling with instances " . \
    "(median of runs)"
do for [t=1:ntrace] {
    set title word(traces, t) noenhanced
    if (word(okpanels, t) eq '0') {
        eval nothing
        continue
    }
    plot for [i=1:nalloc] datadir.'/scaling.dat' index (t - 1) \
        using 1:(column(i + 1)):xtic(1) title word(allocs, i) \
        with linespoints lw 2 pt 7 lc rgb word(colours, i)
}
unset multiplot
