# accuracy.gp -- training and validation accuracy per epoch.
#
# Reads history.csv (written by `chainrule train`; columns epoch,loss,accuracy,val_loss,val_accuracy,seconds,lr,stop, found by name;
# accuracies are fractions 0..1 and are drawn in percent).
#
#   gnuplot -e "in='runs/NAME/history.csv'; out='runs/NAME/plots/accuracy.png'" tools/plots/accuracy.gp
#
# Variables:  in   the history.csv file (required)
#             out  the picture to write (default: accuracy.png; ignored for fmt='dumb')
#             fmt  png (default), svg, or dumb (draws with text characters on the terminal)

if (!exists("in")) { print "accuracy.gp: say which history.csv to read: gnuplot -e \"in='runs/NAME/history.csv'; out='accuracy.png'\" tools/plots/accuracy.gp"; exit status 2 }
if (system(sprintf("test -r '%s' && echo ok", in)) ne "ok") { print sprintf("accuracy.gp: cannot read '%s' (history.csv is written by: chainrule train)", in); exit status 2 }
if (!exists("fmt")) fmt = "png"
if (!exists("out")) out = "accuracy." . fmt

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
# Where is the validation accuracy highest? A run without a validation split leaves val_accuracy
# empty: then stats finds no number and the validation curve is left out.
undefine STATS_*
stats in using "val_accuracy" nooutput
has_val = exists("STATS_max")
if (has_val) { best_val = STATS_max; best_epoch = int(STATS_index_max) + 1 }   # rows count from 0, epochs from 1

# ---- Picture -----------------------------------------------------------------------------------
set xlabel "epoch"
set ylabel "accuracy (% of samples classified correctly)"
if (fmt ne "dumb") { set grid }
set key bottom right box opaque
set xrange [0.5:last_epoch + 0.5]
if (last_epoch <= 20) { set xtics 1 }
set yrange [*:100]

if (fmt ne "dumb" && has_val) {
  set arrow from best_epoch, graph 0 to best_epoch, graph 1 nohead dashtype 2 linecolor "gray50"
  set label sprintf("highest val_accuracy %.2f %%\nat epoch %d", 100 * best_val, best_epoch) \
      at best_epoch, graph 0.45 offset 1,0 left textcolor "gray30" noenhanced
}

set title "Accuracy per epoch: training vs validation" . (has_val ? "" : " (no validation split in this run)")
plot in using "epoch":(100 * column("accuracy")) with linespoints linewidth 2 pointtype 7 pointsize 0.8 linecolor "#1f77b4" title "training accuracy", \
     for [v = 1:has_val] in using "epoch":(100 * column("val_accuracy")) with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor "#ff7f0e" title "validation accuracy"
