# loss_accuracy.gp -- loss (left) and accuracy (right) per epoch, side by side, training vs validation.
#
# Reads history.csv (written by `chainrule train`; columns epoch,loss,accuracy,val_loss,val_accuracy,seconds,lr,stop, found by name).
#
#   gnuplot -e "in='runs/NAME/history.csv'; out='runs/NAME/plots/loss_accuracy.png'" tools/plots/loss_accuracy.gp
#
# Variables:  in   the history.csv file (required)
#             out  the picture to write (default: loss_accuracy.png)
#             fmt  png (default) or svg

if (!exists("in")) { print "loss_accuracy.gp: say which history.csv to read: gnuplot -e \"in='runs/NAME/history.csv'; out='loss_accuracy.png'\" tools/plots/loss_accuracy.gp"; exit status 2 }
if (system(sprintf("test -r '%s' && echo ok", in)) ne "ok") { print sprintf("loss_accuracy.gp: cannot read '%s' (history.csv is written by: chainrule train)", in); exit status 2 }
if (!exists("fmt")) fmt = "png"
if (!exists("out")) out = "loss_accuracy." . fmt

# ---- Output ------------------------------------------------------------------------------------
if (fmt eq "svg") { set terminal svg size 1200,480 dynamic font "Sans,12" background "white" } \
else { set terminal pngcairo size 1200,480 font "Sans,11" }
set output out

# ---- Data: the CSV header names the columns ----------------------------------------------------
set datafile separator comma
set datafile columnheaders
stats in using "epoch" nooutput
last_epoch = int(STATS_max)
# The epoch with the lowest validation loss (none when the run had no validation split).
undefine STATS_*
stats in using "val_loss" nooutput
has_val = exists("STATS_min")
if (has_val) { best_epoch = int(STATS_index_min) + 1 }

# ---- Both panels share these settings ------------------------------------------------------------
set xlabel "epoch"
set grid
set xrange [0.5:last_epoch + 0.5]
if (last_epoch <= 20) { set xtics 1 }
# A dashed line at the epoch with the lowest validation loss, in both panels.
if (has_val) { set arrow 1 from best_epoch, graph 0 to best_epoch, graph 1 nohead dashtype 2 linecolor "gray50" }
train_style = 'with linespoints linewidth 2 pointtype 7 pointsize 0.8 linecolor "#1f77b4"'
val_style   = 'with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor "#ff7f0e"'

heading = has_val ? sprintf("Training history (%d epochs; dashed: lowest validation loss, epoch %d)", last_epoch, best_epoch) \
                  : sprintf("Training history (%d epochs; no validation split in this run)", last_epoch)
set multiplot layout 1,2 title heading font ",13"

set title "Loss"
set ylabel "cross-entropy loss"
set yrange [0:*]
set key top right box opaque
plot in using "epoch":"loss"     @train_style title "training", \
     for [v = 1:has_val] in using "epoch":"val_loss" @val_style title "validation"

set title "Accuracy"
set ylabel "accuracy (%)"
set yrange [*:100]
set key bottom right box opaque
plot in using "epoch":(100 * column("accuracy"))     @train_style title "training", \
     for [v = 1:has_val] in using "epoch":(100 * column("val_accuracy")) @val_style title "validation"

unset multiplot
