# signals.gp -- the signal through the layers: per layer, the gradient norm of the weights, the spread
# of the backpropagated gradient dL/dZ and the spread of the activations, at three moments of training.
#
# Reads steps.csv (written by `chainrule train --log-grads EVERY`); uses its columns
#   D.W:grad_norm  ||dL/dW|| of each dense layer D (dense1, dense2, ...)
#   D:dz_std       std of dL/dZ, the gradient at D's output, over the batch and the units
#   A:act_std      std of the output of each hidden activation A (relu1, sigmoid1, ...)
# The x axis is the layer (1 = the first, next to the input); each line is one logged step:
# the first, the middle one and the last. Read it from right to left, as backprop runs:
#   a line that falls towards layer 1 is a vanishing gradient (sigmoid in a deep network),
#   one that grows towards layer 1 an exploding one; activation spreads that shrink to 0 or
#   grow layer by layer are a dying or exploding forward signal (an init too small or too large).
#
#   gnuplot -e "in='runs/NAME/steps.csv'; out='runs/NAME/plots/signals.png'" tools/plots/signals.gp
#
# Variables:  in   the steps.csv file (required)
#             out  the picture to write (default: signals.png)
#             fmt  png (default) or svg

if (!exists("in")) { print "signals.gp: say which steps.csv to read: gnuplot -e \"in='runs/NAME/steps.csv'; out='signals.png'\" tools/plots/signals.gp"; exit status 2 }
if (system(sprintf("test -r '%s' && echo ok", in)) ne "ok") { print sprintf("signals.gp: cannot read '%s' (steps.csv is written by: chainrule train --log-grads EVERY)", in); exit status 2 }
if (!exists("fmt")) fmt = "png"
if (!exists("out")) out = "signals." . fmt

# ---- The layers: every header name "D:dz_std" gives a dense layer D, "A:act_std" an activation A ---
header = system(sprintf("head -n 1 '%s'", in))
denses = ""
acts = ""
rest = header . ","
while (strlen(rest) > 0) {
  comma = strstrt(rest, ",")
  name = rest[1:comma - 1]
  rest = rest[comma + 1:]
  if (strlen(name) > 7 && name[strlen(name) - 6:] eq ":dz_std") { denses = denses . " " . name[1:strlen(name) - 7] }
  if (strlen(name) > 8 && name[strlen(name) - 7:] eq ":act_std") { acts = acts . " " . name[1:strlen(name) - 8] }
}
if (words(denses) == 0) { print sprintf("signals.gp: '%s' has no D:dz_std columns; it was written before chainrule logged the signals, or is not a steps.csv", in); exit status 2 }

set datafile separator comma
set datafile columnheaders

# ---- Three moments: the first, the middle and the last logged step --------------------------------
stats in using "step" nooutput
n_rows = STATS_records
array rows[3] = [0, int(n_rows / 2), n_rows - 1]
array steps[3]
do for [m = 1:3] {
  stats in every ::rows[m]::rows[m] using "step" nooutput
  steps[m] = int(STATS_max)
}
set print $gradients
do for [k = 1:words(denses)] {
  d = word(denses, k)
  line = sprintf("%d", k)
  do for [m = 1:3] {
    stats in every ::rows[m]::rows[m] using (column(d . ".W:grad_norm")) nooutput
    g = STATS_max
    stats in every ::rows[m]::rows[m] using (column(d . ":dz_std")) nooutput
    line = line . sprintf(",%.6g,%.6g", g, STATS_max)
  }
  print line
}
unset print
set print $activations
do for [k = 1:words(acts)] {
  a = word(acts, k)
  line = sprintf("%d", k)
  do for [m = 1:3] {
    stats in every ::rows[m]::rows[m] using (column(a . ":act_std")) nooutput
    line = line . sprintf(",%.6g", STATS_max)
  }
  print line
}
unset print
set datafile nocolumnheaders      # the tables have no header line

# ---- Output ------------------------------------------------------------------------------------
if (fmt eq "svg") { set terminal svg size 1400,520 dynamic font "Sans,12" background "white" } \
else { set terminal pngcairo size 1400,520 font "Sans,11" }
set output out

array colours[3] = ["#1f77b4", "#ff7f0e", "#2ca02c"]
set multiplot layout 1,3 title sprintf("The signal through the layers (%d dense layers; layer 1 is next to the input)", words(denses)) font ",13"
set grid xtics ytics mytics
set logscale y
set format y "10^{%L}"
set xtics 1
set xlabel "layer"
set key bottom right noenhanced box opaque
set xrange [0.7:words(denses) + 0.3]

set title "Weight gradient norm ||dL/dW_k||"
set ylabel "norm (log scale)"
plot for [m = 1:3] $gradients using 1:(column(2 * m)) with linespoints linewidth 2 pointtype 7 \
     linecolor rgb colours[m] title sprintf("step %d", steps[m])

set title "Backpropagated gradient: std of dL/dZ_k"
set ylabel "std (log scale)"
plot for [m = 1:3] $gradients using 1:(column(2 * m + 1)) with linespoints linewidth 2 pointtype 7 \
     linecolor rgb colours[m] title sprintf("step %d", steps[m])

set title "Forward signal: std of the activations H_k"
set ylabel "std (log scale)"
if (words(acts) > 0) {
  set xrange [0.7:words(acts) + 0.3]
  plot for [m = 1:3] $activations using 1:(column(m + 1)) with linespoints linewidth 2 pointtype 7 \
       linecolor rgb colours[m] title sprintf("step %d", steps[m])
} else {
  unset logscale y
  set label 1 "no hidden activation" at graph 0.5, graph 0.5 center
  plot [0:1] [0:1] NaN notitle
}

unset multiplot
