# confusion.gp -- the confusion matrix as a heat map with the count in every cell.
#
# Reads confusion.csv (written by `chainrule evaluate`): header true\pred,0,1,...,C-1, then one row per
# true class t: t, then how many samples of class t were predicted as 0, 1, ..., C-1.
# The diagonal holds the correct answers; everything else is a mistake. The colour scale is
# logarithmic so that a handful of mistakes still shows next to ~1000 correct answers; empty cells
# stay white.
#
#   gnuplot -e "in='runs/NAME/confusion.csv'; out='runs/NAME/plots/confusion.png'" tools/plots/confusion.gp
#
# Variables:  in   the confusion.csv file (required)
#             out  the picture to write (default: confusion.png)
#             fmt  png (default) or svg

if (!exists("in")) { print "confusion.gp: say which confusion.csv to read: gnuplot -e \"in='runs/NAME/confusion.csv'; out='confusion.png'\" tools/plots/confusion.gp"; exit status 2 }
if (system(sprintf("test -r '%s' && echo ok", in)) ne "ok") { print sprintf("confusion.gp: cannot read '%s' (confusion.csv is written by: chainrule evaluate)", in); exit status 2 }
if (!exists("fmt")) fmt = "png"
if (!exists("out")) out = "confusion." . fmt

set datafile separator comma

# In matrix mode gnuplot numbers the file's columns $1 = 0, 1, ... (column 0 is the true label,
# so the count for prediction p is in column p + 1) and its rows $2 = 0, 1, ... (the true class).
# `skip 1` drops the header line, `every ::1` the first column.
stats in skip 1 matrix every ::1 using 3 nooutput
C = int(sqrt(STATS_records))          # a C x C matrix
total = STATS_sum
max_count = STATS_max
stats in skip 1 matrix every ::1 using ($1 - 1 == $2 ? $3 : 0) nooutput
correct = STATS_sum

# ---- Output ------------------------------------------------------------------------------------
if (fmt eq "svg") { set terminal svg size 760,680 dynamic font "Sans,12" background "white" } \
else { set terminal pngcairo size 760,680 font "Sans,11" }
set output out

set title sprintf("Confusion matrix: %d samples, %d correct (accuracy %.2f %%)", total, correct, 100.0 * correct / total) font ",13"
set xlabel "predicted class"
set ylabel "true class"
set size ratio -1
set xrange [-0.5 : C - 0.5]
set yrange [C - 0.5 : -0.5]           # true class 0 at the top, as in the file
set xtics 1 out nomirror
set ytics 1 out nomirror
set x2tics 1 format "" scale 0       # no ticks on top
unset key

# White (few) to dark blue (many) on a log scale; cells with 0 are left out and stay white.
set palette defined (0 "#deebf7", 1 "#c6dbef", 2 "#6baed6", 3 "#2171b5", 4 "#08306b")
set logscale cb
set cbrange [1 : max_count]
set cblabel "count (log scale)"
set format cb "%.0f"

# Cells darker than this get white text; empty cells get a light grey 0.
dark = sqrt(max_count) * 2

plot in skip 1 matrix every ::1 using ($1 - 1):2:($3 > 0 ? $3 : NaN) with image, \
     in skip 1 matrix every ::1 using ($1 - 1):2:($3 == 0 ? "0" : "") with labels textcolor "gray70", \
     in skip 1 matrix every ::1 using ($1 - 1):2:($3 > 0 && $3 < dark ? sprintf("%d", $3) : "") with labels textcolor "black", \
     in skip 1 matrix every ::1 using ($1 - 1):2:($3 >= dark ? sprintf("%d", $3) : "") with labels textcolor "white"
