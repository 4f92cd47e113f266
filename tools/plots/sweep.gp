# sweep.gp -- a hyper-parameter sweep (tools/sweep.sh): validation accuracy against the learning
# rate, one line per weight decay through the median over the seeds, each run a faint point.
#
# Reads sweep.csv (written by tools/sweep.sh; columns found by their header names).
#
#   gnuplot -e "in='runs/sweep/sweep.csv'; out='runs/sweep/sweep.png'" tools/plots/sweep.gp
#
# Variables:  in      the sweep.csv file (required)
#             out     the picture to write (default: sweep.png; ignored for fmt='dumb')
#             fmt     png (default), svg, or dumb (draws with text characters on the terminal)
#             metric  the column to draw (default final_val_accuracy; or best_val_accuracy,
#                     final_val_loss, best_val_loss)

if (!exists("in")) { print "sweep.gp: say which sweep.csv to read: gnuplot -e \"in='runs/sweep/sweep.csv'; out='sweep.png'\" tools/plots/sweep.gp"; exit status 2 }
if (system(sprintf("test -r '%s' && echo ok", in)) ne "ok") { print sprintf("sweep.gp: cannot read '%s' (sweep.csv is written by: tools/sweep.sh)", in); exit status 2 }
if (!exists("fmt")) fmt = "png"
if (!exists("out")) out = "sweep." . fmt
if (!exists("metric")) metric = "final_val_accuracy"

# ---- Data: awk picks the columns by name; the medians over seeds are computed here ------------
# rows "WD LR VALUE" of the runs that finished (status ok). Strings are joined with '.', not
# sprintf, which cuts long strings short.
runs = "awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $c[\"status\"] == \"ok\" " . \
       "{ print $c[\"weight_decay\"], $c[\"lr\"], $c[\"" . metric . "\"] }' '" . in . "'"
if (system("head -n 1 '" . in . "' | tr -d '\\r' | tr ',' '\\n' | grep -qx '" . metric . "' && echo ok") ne "ok") {
  print sprintf("sweep.gp: '%s' has no column '%s' (give metric=final_val_accuracy, best_val_accuracy, final_val_loss or best_val_loss)", in, metric)
  exit status 2
}
if (int(system(runs . " | wc -l")) == 0) { print sprintf("sweep.gp: '%s' holds no finished run (status ok)", in); exit status 2 }
# the weight decays, in increasing order
decays = system(runs . " | cut -d' ' -f1 | sort -g -u | tr '\\n' ' '")
# the median over the seeds of each (weight decay, lr): sorted by lr and value, the middle of each group
median_awk = "awk 'function flush() { if (n) print lr, (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2), n } " . \
             "$2 != lr { flush(); n = 0; lr = $2 } { v[++n] = $3 } END { flush() }'"
points(w) = "< " . runs . " | awk -v w=" . w . " '$1 == w'"
medians(w) = points(w) . " | sort -g -k2,2 -k3,3 | " . median_awk
seeds_max = int(system("awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { n[$c[\"lr\"] \" \" $c[\"weight_decay\"]]++ } " . \
                       "END { m = 0; for (k in n) if (n[k] > m) m = n[k]; print m }' '" . in . "'"))

# ---- Output ------------------------------------------------------------------------------------
if (fmt eq "dumb") {
  set terminal dumb size 100,28
} else {
  if (fmt eq "svg") { set terminal svg size 800,500 dynamic font "Sans,12" background "white" } \
  else { set terminal pngcairo size 800,500 font "Sans,11" }
  set output out
}

# ---- Picture -----------------------------------------------------------------------------------
set logscale x
set format x "%g"
set xlabel "learning rate (--lr, log scale)"
set ylabel metric noenhanced
if (fmt ne "dumb") { set grid }
set key outside right top box title "weight decay" noenhanced
set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05
set title sprintf("Sweep: %s against the learning rate (lines: median over up to %d seeds)", metric, seeds_max) noenhanced
plot for [w in decays] medians(w) using 1:2 with linespoints linewidth 2 pointtype 7 pointsize 1 title w, \
     for [w in decays] points(w) using 2:3 with points pointtype 6 pointsize 0.7 linecolor "gray60" notitle
