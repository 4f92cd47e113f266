# digits.gp -- the first training images in a grid, each with its label above it.
#
# Reads digits.csv (written by `chainrule export`): header index,label,p0,...,p783, then one image per
# row; pixel (r, c) of the 28x28 image is column p<28*r + c>, 0 (background) .. 255 (ink).
#
#   gnuplot -e "in='runs/NAME/digits.csv'; out='runs/NAME/plots/digits.png'" tools/plots/digits.gp
#
# Variables:  in    the digits.csv file (required)
#             out   the picture to write (default: digits.png)
#             fmt   png (default) or svg
#             cols  images per row of the grid (default: 10)

if (!exists("in")) { print "digits.gp: say which digits.csv to read: gnuplot -e \"in='runs/NAME/digits.csv'; out='digits.png'\" tools/plots/digits.gp"; exit status 2 }
if (system(sprintf("test -r '%s' && echo ok", in)) ne "ok") { print sprintf("digits.gp: cannot read '%s' (digits.csv is written by: chainrule export)", in); exit status 2 }
if (!exists("fmt")) fmt = "png"
if (!exists("out")) out = "digits." . fmt
if (!exists("cols")) cols = 10

set datafile separator comma

# ---- How many images, and the grid they go in ----------------------------------------------------
stats in skip 1 using 1 nooutput
n = int(STATS_records)
if (n < 1) { print sprintf("digits.gp: '%s' has no images", in); exit status 2 }
if (n < cols) { cols = n }
rows = int((n + cols - 1) / cols)

# Image i (the row of the file, from 0) is tile (i % cols, i / cols). Each tile is 28x28 pixels plus a
# gap: 4 pixels to the side, 12 above for the label. y grows downwards, as in the image itself.
dx = 32
dy = 40
tile_x(i) = (int(i) % cols) * dx
tile_y(i) = (int(i) / cols) * dy + 12
# In matrix mode gnuplot gives column $1 (0-based; the pixels start at column 2) and file row $2.
pixel_x(col, i) = tile_x(i) + (int(col) - 2) % 28
pixel_y(col, i) = tile_y(i) + (int(col) - 2) / 28

# ---- Output: about 70 screen pixels per tile -------------------------------------------------------
if (fmt eq "svg") { set terminal svg size 60 + 70 * cols, 110 + 88 * rows dynamic font "Sans,12" background "white" } \
else { set terminal pngcairo size 60 + 70 * cols, 110 + 88 * rows font "Sans,11" }
set output out

set title sprintf("The first %d training images and their labels (digits.csv)", n) font ",13"
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

# Grey frames, then the non-zero pixels as small squares, then the labels.
plot in skip 1 using (tile_x($0) + 13.5):(tile_y($0) + 13.5):(14.2):(14.2) with boxxy fillstyle empty linecolor rgb "gray70", \
     in skip 1 matrix every ::2 using (pixel_x($1, $2)):(pixel_y($1, $2)):(0.56):(0.56):($3 > 0 ? $3 : NaN) with boxxy fillcolor palette, \
     in skip 1 using (tile_x($0) + 13.5):(tile_y($0) - 5):(sprintf("%d", $2)) with labels font ",12"
