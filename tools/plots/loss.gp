# loss.gp -- training and validation loss per epoch.
#
# Reads history.csv (written by `chainrule train`; columns epoch,loss,accuracy,val_loss,val_accuracy,seconds,lr,stop, found by name).
#
#   gnuplot -e "in='runs/NAME/history.csv'; out='runs/NAME/plots/loss.png'" tools/plots/loss.gp
#
# Variables:  in   the history.csv file (required)
#             out  the picture to write (default: loss.png; ignored for fmt='dumb')
#             fmt  png (default), svg, or dumb (draws with text characters on the terminal)

if (!exists("in")) { print "loss.gp: say which history.csv to read: gnuplot -e \"in='runs/NAME/history.csv'; out='loss.png'\" tools/plots/loss.gp"; exit status 2 }
if (system(sprintf("test -r '%s' && echo ok", in)) ne "ok") { print sprintf("loss.gp: cannot read '%s' (history.csv is written by: chainrule train)", in); exit status 2 }
if (!exists("fmt")) fmt = "png"
if (!exists("out")) out = "loss." . fmt

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
# Where is the validation loss lowest? (a natural epoch to stop at). A run without a validation
# split leaves val_loss empty: then stats finds no number and the validation curve is left out.
undefine STATS_*
stats in using "val_loss" nooutput
has_val = exists("STATS_min")
if (has_val) { best_val = STATS_min; best_epoch = int(STATS_index_min) + 1 }   # rows count from 0, epochs from 1

# ---- Picture -----------------------------------------------------------------------------------
set xlabel "epoch"
set ylabel "cross-entropy loss (mean over samples)"
if (fmt ne "dumb") { set grid }
set key top right box opaque
set xrange [0.5:last_epoch + 0.5]
if (last_epoch <= 20) { set xtics 1 }
set yrange [0:*]

# A dashed marker at the epoch with the lowest validation loss.
if (fmt ne "dumb" && has_val) {
  set arrow from best_epoch, graph 0 to best_epoch, graph 1 nohead dashtype 2 linecolor "gray50"
  set label sprintf("lowest val_loss %.4f\nat epoch %d", best_val, best_epoch) \
      at best_epoch, graph 0.7 offset 1,0 left textcolor "gray30" noenhanced
}

set title "Loss per epoch: training vs validation" . (has_val ? "" : " (no validation split in this run)")
plot in using "epoch":"loss" with linespoints linewidth 2 pointtype 7 pointsize 0.8 linecolor "#1f77b4" title "training loss", \
     for [v = 1:has_val] in using "epoch":"val_loss" with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor "#ff7f0e" title "validation loss"
