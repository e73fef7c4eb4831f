# rss_time.gp - chart (4): the allocator's memory (anonymous resident)
# over the replay, a line per allocator (its run of median time),
# against the ideal: the bytes the program had live, which a perfect
# allocator would hold.  One panel per trace.  Reads data/rss-T-A.dat
# (trace T, allocator A, 1-based) and data/rss-T-0.dat (the ideal):
# time s, memory MiB, live MiB.
panels = words(traces)
load plotsdir.'/common.gp'
set xlabel "time since the start of the replay (s)"
set ylabel "allocator's memory: anonymous RSS (MiB)"
set yrange [0:*]
set multiplot layout rows, cols title sprintf("Memory over time against " . \
    "ideal live bytes (%d instance(s))", inst)
do for [t=1:ntrace] {
    set title word(traces, t) noenhanced
    if (word(okpanels, t) eq '0') {
        eval nothing
        continue
    }
    plot for [i=1:nalloc] sprintf('%s/rss-%d-%d.dat', datadir, t, i) \
            using 1:2 title word(allocs, i) with lines lw 2 \
            lc rgb word(colours, i), \
         sprintf('%s/rss-%d-0.dat', datadir, t) using 1:3 \
            title 'ideal (live bytes)' with lines dt 2 lw 2 \
            lc rgb '#000000'
}
unset multiplot
