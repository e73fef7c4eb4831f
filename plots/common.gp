# common.gp - what every Mallard chart shares: the terminal (PNG through
# cairo, or SVG), size, font, grid and key.  Loaded first by each chart.
#
# Variables set by `mallard plot` (replay/compare/plot.c) with -e:
#   datadir  folder of the data files (DIR/data)
#   out      file to write; fmt 'png' or 'svg'
#   allocs   allocator names, space separated, in data column order
#   colours  one #rrggbb per allocator, the same in every chart
#   traces   trace labels, in data block order
#   baseline allocator the ratios divide by; inst smallest instance count
#   okpanels a 1 or 0 per trace: some run of it succeeded
#   has_ok   some run succeeded; has_ratio some ratio to baseline exists
# A chart with one panel per trace sets `panels` before loading this,
# so the canvas grows with the number of rows of panels.
if (!exists("panels")) panels = 1
# Two panels a row; each row as tall as a one-panel chart's plot area.
cols = (panels > 1) ? 2 : 1
rows = int((panels + cols - 1) / cols)
width = 960
height = 180 + 360 * rows
if (fmt eq 'svg') {
    set terminal svg size width, height fixed enhanced \
        font 'sans,12' background rgb 'white'
} else {
    set terminal pngcairo size width, height enhanced \
        font 'sans,10' background rgb 'white'
}
set output out
nalloc = words(allocs)
ntrace = words(traces)
set grid ytics lc rgb '#dddddd'
set border 3
set tics nomirror
set key outside right top noenhanced
# Side by side panels have no room beside them: the key goes below.
if (cols > 1) set key outside below center horizontal
set datafile missing 'NaN'

# A chart or panel whose data is all gaps (every run failed) still draws:
# an empty frame that says so, instead of gnuplot's "undefined" error.
# Inline ranges, so nothing needs restoring; 20 lies outside [1:10].
nothing = "set label 99 'no successful run to show' at graph 0.5, 0.5 " . \
    "center; plot [0:1] [1:10] 20 notitle; unset label 99"
