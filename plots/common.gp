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
set datafile missing 'NaN'
