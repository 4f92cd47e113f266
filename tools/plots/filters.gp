# filters.gp -- a conv layer's filters, one K x K tile each (LeNet-5's conv1: 6 tiles of 5x5).
#
# Reads conv1.W.npy (written by `chainrule inspect` or `chainrule export`): float32, shape
# (K*K, Cout) for one input channel; column o is filter o, row u*K + v its entry (u, v)
# (layers/conv2d.hpp). Red: positive weight, blue: negative, white: 0, one scale for all tiles.
#
#   gnuplot -e "in='OUT/conv1.W.npy'; out='filters.png'" tools/plots/filters.gp
#
# Variables:  in   the .npy file (required)     K    kernel size (default 5)
#             out  the picture (filters.png)    fmt  png (default) or svg

if (!exists("in")) { print "filters.gp: say which conv1.W.npy to read: gnuplot -e \"in='OUT/conv1.W.npy'\" tools/plots/filters.gp"; exit status 2 }
if (system(sprintf("test -r '%s' && echo ok", in)) ne "ok") { print sprintf("filters.gp: cannot read '%s' (written by: chainrule inspect or export)", in); exit status 2 }
if (!exists("K")) K = 5
if (!exists("fmt")) fmt = "png"
if (!exists("out")) out = "filters." . fmt

# The .npy header: 10 bytes, then a text header whose length is the u16 at byte 8.
skip = 10 + int(system(sprintf("od -An -tu2 -j8 -N2 '%s'", in)))
bytes = int(system(sprintf("wc -c < '%s'", in))) - skip
n = bytes / 4
cout = n / (K * K)
if (cout * K * K != n) { print sprintf("filters.gp: '%s' holds %d numbers, not a multiple of K*K = %d (set K)", in, n, K * K); exit status 2 }

stats in binary skip=skip format="%float32" using 1 nooutput
limit = (abs(STATS_min) > abs(STATS_max)) ? abs(STATS_min) : abs(STATS_max)

if (fmt eq "svg") { set terminal svg size 160 * cout, 220 } else { set terminal pngcairo size 160 * cout, 220 }
set output out
set title sprintf("the %d filters of %s (%dx%d; red > 0 > blue)", cout, in, K, K)
unset xtics; unset ytics; unset key; unset border
set size ratio -1
set palette defined (-1 "blue", 0 "white", 1 "red")
set cbrange [-limit:limit]
# Entry k of the file is row r = k / cout (u = r / K, v = r % K) of column o = k % cout.
o(k) = int(k) % cout
r(k) = int(k) / cout
plot in binary skip=skip format="%float32" \
     using (o($0) * (K + 1) + r($0) % K):(-(r($0) / K)):(0.5):(0.5):1 with boxxyerror fs solid 1.0 noborder fc palette
