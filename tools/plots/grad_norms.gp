# grad_norms.gp -- per-tensor gradient norms (top) and update ratios (bottom) over the training steps.
#
# Reads steps.csv (written by `chainrule train --log-grads EVERY`). Its header is
#   step,epoch,loss, then P:grad_mean,P:grad_std,P:grad_norm,P:update_ratio for every parameter
#   tensor P (dense1.W, dense1.b, ...), then R:dead_fraction per ReLU layer, then softmax_saturation,
#   then A:act_std and D:dz_std per layer (drawn by signals.gp).
# Any number of tensors works: their names are read from the header.
#
#   grad_norm    = ||dL/dP|| (L2 norm over every value of the tensor) at that step
#   update_ratio = ||change of P in this step|| / ||P||; about 1e-3 is a common rule of thumb,
#                  much smaller means the tensor barely learns, much larger means it is unstable.
#
#   gnuplot -e "in='runs/NAME/steps.csv'; out='runs/NAME/plots/grad_norms.png'" tools/plots/grad_norms.gp
#
# Variables:  in   the steps.csv file (required)
#             out  the picture to write (default: grad_norms.png)
#             fmt  png (default) or svg

if (!exists("in")) { print "grad_norms.gp: say which steps.csv to read: gnuplot -e \"in='runs/NAME/steps.csv'; out='grad_norms.png'\" tools/plots/grad_norms.gp"; exit status 2 }
if (system(sprintf("test -r '%s' && echo ok", in)) ne "ok") { print sprintf("grad_norms.gp: cannot read '%s' (steps.csv is written by: chainrule train --log-grads EVERY)", in); exit status 2 }
if (!exists("fmt")) fmt = "png"
if (!exists("out")) out = "grad_norms." . fmt

# ---- The parameter tensors: every header name "P:grad_norm" gives one P ---------------------------
header = system(sprintf("head -n 1 '%s'", in))
params = ""
rest = header . ","
while (strlen(rest) > 0) {
  comma = strstrt(rest, ",")
  name = rest[1:comma - 1]
  rest = rest[comma + 1:]
  if (strlen(name) > 10 && name[strlen(name) - 9:] eq ":grad_norm") { params = params . " " . name[1:strlen(name) - 10] }
}
if (words(params) == 0) { print sprintf("grad_norms.gp: '%s' has no P:grad_norm columns; is it a steps.csv?", in); exit status 2 }

# ---- Output ------------------------------------------------------------------------------------
if (fmt eq "svg") { set terminal svg size 1000,750 dynamic font "Sans,12" background "white" } \
else { set terminal pngcairo size 1000,750 font "Sans,11" }
set output out

set datafile separator comma
set datafile columnheaders

# Ten distinct colours (one per tensor, in model order).
array colours[10] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
colour(i) = colours[(i - 1) % 10 + 1]

set multiplot layout 2,1 title sprintf("Gradients per parameter tensor over training (%d tensors)", words(params)) font ",13"
set lmargin 12
set rmargin 26          # room for the key on the right
set grid xtics ytics mytics
set logscale y
set format y "10^{%L}"
set key outside right top Left reverse noenhanced

set title "Gradient norm ||dL/dP|| (log scale)"
set ylabel "gradient norm"
unset xlabel
plot for [i = 1:words(params)] in using "step":(column(word(params, i) . ":grad_norm")) \
     with lines linewidth 2 linecolor rgb colour(i) title word(params, i)

set title "Update ratio ||step of P|| / ||P|| (log scale; dashed: 1e-3 rule of thumb)"
set ylabel "update ratio"
set xlabel "training step"
set arrow 1 from graph 0, first 1e-3 to graph 1, first 1e-3 nohead dashtype 2 linewidth 1.5 linecolor "gray40"
plot for [i = 1:words(params)] in using "step":(column(word(params, i) . ":update_ratio")) \
     with lines linewidth 2 linecolor rgb colour(i) title word(params, i)

unset multiplot
