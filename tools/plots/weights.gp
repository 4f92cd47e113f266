# weights.gp -- what the first layer looks for: each hidden unit's 784 weights drawn as a 28x28 tile.
#
# Reads weights1.csv (written by `chainrule export`): the first dense layer's W1, shape (784, H),
# header h0,...,h<H-1>, then 784 rows; row k = input pixel k = 28*r + c, column j = hidden unit j.
# Red: the unit is pushed up by ink at that pixel (positive weight); blue: pushed down (negative);
# white: 0. One colour scale for all tiles, symmetric around 0. The grid has ceil(sqrt(2H)) columns
# (H = 128: 16 x 8 tiles).
#
#   gnuplot -e "in='runs/NAME/weights1.csv'; out='runs/NAME/plots/weights.png'" tools/plots/weights.gp
#
# Variables:  in   the weights1.csv file (required)
#             out  the picture to write (default: weights.png)
#             fmt  png (default) or svg

if (!exists("in")) { print "weights.gp: say which weights1.csv to read: gnuplot -e \"in='runs/NAME/weights1.csv'; out='weights.png'\" tools/plots/weights.gp"; exit status 2 }
if (system(sprintf("test -r '%s' && echo ok", in)) ne "ok") { print sprintf("weights.gp: cannot read '%s' (weights1.csv is written by: chainrule export)", in); exit status 2 }
if (!exists("fmt")) fmt = "png"
if (!exists("out")) out = "weights." . fmt

set datafile separator comma

# ---- Size of W1 and of the colour scale ----------------------------------------------------------
# In matrix mode gnuplot gives the column $1 = hidden unit j and the row $2 = input pixel k.
stats in skip 1 matrix using 3 nooutput
if (STATS_records % 784 != 0) { print sprintf("weights.gp: '%s' does not have 784 rows (one per pixel of a 28x28 image)", in); exit status 2 }
H = int(STATS_records / 784)
limit = (abs(STATS_min) > abs(STATS_max)) ? abs(STATS_min) : abs(STATS_max)
cols = int(ceil(sqrt(2 * H)))
rows = int((H + cols - 1) / cols)

# Unit j is tile (j % cols, j / cols); pixel k of it is (r, c) = (k / 28, k % 28). 1 pixel gap.
d = 29
pixel_x(j, k) = (int(j) % cols) * d + int(k) % 28
pixel_y(j, k) = (int(j) / cols) * d + int(k) / 28

# ---- Output: about 56 screen pixels per tile ------------------------------------------------------
width = (200 + 60 * cols < 700) ? 700 : 200 + 60 * cols
height = 120 + 60 * rows
if (fmt eq "svg") { set terminal svg size width, height dynamic font "Sans,12" background "white" } \
else { set terminal pngcairo size width, height font "Sans,11" }
set output out

set title sprintf("First-layer weights W1 of %d hidden units\none 28x28 tile per unit: red = positive, blue = negative", H) font ",13"
unset key
unset border
unset tics
set size ratio -1
set xrange [-1 : cols * d]
set yrange [rows * d : -1]                  # reversed: pixel row 0 at the top of each tile
set palette defined (-1 "#2166ac", -0.5 "#92c5de", 0 "#f7f7f7", 0.5 "#f4a582", 1 "#b2182b")  # blue - white - red
set cbrange [-limit : limit]
set cblabel "weight (0 = white)"
set cbtics out format "%.2f"
set rmargin 14
set style fill solid noborder

plot in skip 1 matrix using (pixel_x($1, $2)):(pixel_y($1, $2)):(0.56):(0.56):3 with boxxy fillcolor palette, \
     in skip 1 matrix every 1:784 using ((int($1) % cols) * d + 13.5):((int($1) / cols) * d + 13.5):(14.1):(14.1) \
        with boxxy fillstyle empty linecolor rgb "gray60"
