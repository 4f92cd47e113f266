# lr.gp -- the learning rate of each epoch (train --lr-schedule), from history.csv's lr column.
#
# Reads history.csv (written by `chainrule train`); the columns are found by their header names
# "epoch" and "lr", wherever they stand.
#
#   gnuplot -e "in='runs/NAME/history.csv'; out='runs/NAME/plots/lr.png'" tools/plots/lr.gp
#
# Variables:  in   the history.csv file (required)
#             out  the picture to write (default: lr.png; ignored for fmt='dumb')
#             fmt  png (default), svg, or dumb (draws with text characters on the terminal)

if (!exists("in")) { print "lr.gp: say which history.csv to read: gnuplot -e \"in='runs/NAME/history.csv'; out='lr.png'\" tools/plots/lr.gp"; exit status 2 }
if (system(sprintf("test -r '%s' && echo ok", in)) ne "ok") { print sprintf("lr.gp: cannot read '%s' (history.csv is written by: chainrule train)", in); exit status 2 }
if (system(sprintf("head -n 1 '%s' | tr -d '\\r' | tr ',' '\\n' | grep -qx lr && echo ok", in)) ne "ok") {
  print sprintf("lr.gp: '%s' has no lr column (its header: %s); a run of this chainrule writes one", in, system(sprintf("head -n 1 '%s'", in)))
  exit status 2
}
if (!exists("fmt")) fmt = "png"
if (!exists("out")) out = "lr." . fmt

# ---- Output ------------------------------------------------------------------------------------
if (fmt eq "dumb") {
  set terminal dumb size 100,28
} else {
  if (fmt eq "svg") { set terminal svg size 800,500 dynamic font "Sans,12" background "white" } \
  else { set terminal pngcairo size 800,500 font "Sans,11" }
  set output out
}

# ---- Data: the CSV header names the columns ----------------------------------------------------
set datafile separator comma
set datafile columnheaders

stats in using "epoch" nooutput
last_epoch = int(STATS_max)
stats in using "lr" nooutput
lr_min = STATS_min
lr_max = STATS_max

# ---- Picture -----------------------------------------------------------------------------------
set xlabel "epoch"
set ylabel "learning rate"
if (fmt ne "dumb") { set grid }
set key top right box opaque
set xrange [0.5:last_epoch + 0.5]
if (last_epoch <= 20) { set xtics 1 }
# A rate that falls by 10x or more (step, plateau) reads best on a log scale; else from 0.
if (lr_min > 0 && lr_max / lr_min >= 10) { set logscale y; set format y "%.0e" } else { set yrange [0:lr_max * 1.1] }

set title sprintf("Learning rate per epoch: from %.3g down to %.3g", lr_max, lr_min)
if (fmt ne "dumb") { set label "each epoch runs at one rate: train sets it at the epoch's start (--lr-schedule)" at graph 0.02, graph 0.05 left textcolor "gray40" }
# The rate holds for a whole epoch: a step from epoch - 0.5 to epoch + 0.5.
plot in using "epoch":"lr" with histeps linewidth 2 linecolor "#1f77b4" title "lr", \
     in using "epoch":"lr" with points pointtype 7 pointsize 0.8 linecolor "#1f77b4" notitle
