# misclassified.gp -- test digits the model got wrong, each with its true label and the prediction.
#
# Reads misclassified.csv (written by `chainrule evaluate`): header index,label,predicted,p0,...,p783,
# one image per row; `index` is the image's position in the test set, `label` the true class,
# `predicted` the model's class; pixel (r, c) is column p<28*r + c>, 0 (background) .. 255 (ink).
#
#   gnuplot -e "in='runs/NAME/misclassified.csv'; out='runs/NAME/plots/misclassified.png'" tools/plots/misclassified.gp
#
# Variables:  in    the misclassified.csv file (required)
#             out   the picture to write (default: misclassified.png)
#             fmt   png (default) or svg
#             cols  images per row of the grid (default: 8)

if (!exists("in")) { print "misclassified.gp: say which misclassified.csv to read: gnuplot -e \"in='runs/NAME/misclassified.csv'; out='misclassified.png'\" tools/plots/misclassified.gp"; exit status 2 }
if (system(sprintf("test -r '%s' && echo ok", in)) ne "ok") { print sprintf("misclassified.gp: cannot read '%s' (misclassified.csv is written by: chainrule evaluate)", in); exit status 2 }
if (!exists("fmt")) fmt = "png"
if (!exists("out")) out = "misclassified." . fmt
if (!exists("cols")) cols = 8

set datafile separator comma

# ---- How many images, and the grid they go in ----------------------------------------------------
stats in skip 1 using 1 nooutput
n = int(STATS_records)
if (n < 1) { print sprintf("misclassified.gp: '%s' has no images (no mistakes?)", in); exit status 2 }
if (n < cols) { cols = n }
rows = int((n + cols - 1) / cols)

# Image i (the row of the file, from 0) is tile (i % cols, i / cols): 28x28 pixels, with room for
# two label lines above it and the test-set index below it. y grows downwards.
dx = 34
dy = 56
tile_x(i) = (int(i) % cols) * dx
tile_y(i) = (int(i) / cols) * dy + 18
# In matrix mode gnuplot gives column $1 (0-based; the pixels start at column 3) and file row $2.
pixel_x(col, i) = tile_x(i) + (int(col) - 3) % 28
pixel_y(col, i) = tile_y(i) + (int(col) - 3) / 28

# ---- Output: about 80 screen pixels per tile -------------------------------------------------------
if (fmt eq "svg") { set terminal svg size 60 + 80 * cols, 110 + 132 * rows dynamic font "Sans,12" background "white" } \
else { set terminal pngcairo size 60 + 80 * cols, 110 + 132 * rows font "Sans,11" }
set output out

set title sprintf("%d test digits the model got wrong\ntrue label (black), prediction (red), index in the test set (grey)", n) font ",12"
unset key
unset border
unset tics
unset colorbox
set size ratio -1                           # square pixels
set xrange [-2 : cols * dx - 2]
set yrange [rows * dy + 1 : 0]              # reversed: row 0 of the grid at the top
set palette defined (0 "white", 255 "black")  # ink is dark, as on paper
set cbrange [0:255]
set style fill solid noborder

plot in skip 1 using (tile_x($0) + 13.5):(tile_y($0) + 13.5):(14.2):(14.2) with boxxy fillstyle empty linecolor rgb "#d62728", \
     in skip 1 matrix every ::3 using (pixel_x($1, $2)):(pixel_y($1, $2)):(0.56):(0.56):($3 > 0 ? $3 : NaN) with boxxy fillcolor palette, \
     in skip 1 using (tile_x($0) + 13.5):(tile_y($0) - 12):(sprintf("true %d", $2)) with labels font ",11" textcolor "black", \
     in skip 1 using (tile_x($0) + 13.5):(tile_y($0) - 4):(sprintf("pred %d", $3)) with labels font ",11" textcolor rgb "#d62728", \
     in skip 1 using (tile_x($0) + 13.5):(tile_y($0) + 33):(sprintf("#%d", $1)) with labels font ",9" textcolor "gray45"
