# grad_stats.gp -- mean and standard deviation of the gradient values, one bar per parameter tensor.
#
# Reads steps.csv (written by `chainrule train --log-grads EVERY`); uses its P:grad_mean and P:grad_std
# columns for every parameter tensor P named in the header (any number of tensors). The per-layer
# signal columns (A:act_std, D:dz_std) are drawn by signals.gp.
# Each bar is AVERAGED OVER ALL LOGGED STEPS (the per-step values of one batch are noisy):
#   left:  mean over steps of grad_mean = the average value of dL/dP (signed; near 0 is normal)
#   right: mean over steps of grad_std  = how spread out the values of dL/dP are (log scale)
#
#   gnuplot -e "in='runs/NAME/steps.csv'; out='runs/NAME/plots/grad_stats.png'" tools/plots/grad_stats.gp
#
# Variables:  in   the steps.csv file (required)
#             out  the picture to write (default: grad_stats.png)
#             fmt  png (default) or svg

if (!exists("in")) { print "grad_stats.gp: say which steps.csv to read: gnuplot -e \"in='runs/NAME/steps.csv'; out='grad_stats.png'\" tools/plots/grad_stats.gp"; exit status 2 }
if (system(sprintf("test -r '%s' && echo ok", in)) ne "ok") { print sprintf("grad_stats.gp: cannot read '%s' (steps.csv is written by: chainrule train --log-grads EVERY)", in); exit status 2 }
if (!exists("fmt")) fmt = "png"
if (!exists("out")) out = "grad_stats." . fmt

# ---- The parameter tensors: every header name "P:grad_mean" gives one P ---------------------------
header = system(sprintf("head -n 1 '%s'", in))
params = ""
rest = header . ","
while (strlen(rest) > 0) {
  comma = strstrt(rest, ",")
  name = rest[1:comma - 1]
  rest = rest[comma + 1:]
  if (strlen(name) > 10 && name[strlen(name) - 9:] eq ":grad_mean") { params = params . " " . name[1:strlen(name) - 10] }
}
if (words(params) == 0) { print sprintf("grad_stats.gp: '%s' has no P:grad_mean columns; is it a steps.csv?", in); exit status 2 }

set datafile separator comma
set datafile columnheaders

# ---- Average each tensor's columns over the logged steps into a small table $bars -------------------
stats in using "step" nooutput
n_steps = STATS_records
first_step = int(STATS_min)
last_step = int(STATS_max)
set print $bars
do for [i = 1:words(params)] {
  p = word(params, i)
  stats in using (column(p . ":grad_mean")) nooutput
  mean_of_means = STATS_mean
  stats in using (column(p . ":grad_std")) nooutput
  print sprintf("%s,%.6g,%.6g", p, mean_of_means, STATS_mean)
}
unset print
set datafile nocolumnheaders      # $bars has no header line

# ---- Output ------------------------------------------------------------------------------------
if (fmt eq "svg") { set terminal svg size 1100,520 dynamic font "Sans,12" background "white" } \
else { set terminal pngcairo size 1100,520 font "Sans,11" }
set output out

set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border rgb "gray20"
set boxwidth 0.8
set xtics rotate by -30 left noenhanced nomirror
set grid ytics
unset key
set bmargin 7
set xrange [-0.6:words(params) - 0.4]   # one slot per tensor, no empty slot at the sides

set multiplot layout 1,2 title sprintf("Gradient statistics per parameter tensor, averaged over %d logged steps (steps %d-%d)", n_steps, first_step, last_step) font ",13"

set title "Mean of the gradient values (signed)"
set ylabel "mean of dL/dP"
set xzeroaxis linetype -1
set format y "%.1e"
plot $bars using 2:xtic(1) linecolor rgb "#1f77b4"

set title "Standard deviation of the gradient values (log scale)"
set ylabel "std of dL/dP"
set logscale y
set format y "10^{%L}"
set yrange [*:*]
plot $bars using 3:xtic(1) linecolor rgb "#ff7f0e"

unset multiplot
