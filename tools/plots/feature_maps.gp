# feature_maps.gp -- one image's feature maps after a conv or pooling layer, one tile per channel.
#
# Reads an activation written by `chainrule inspect` (e.g. C1.npy, M1.npy, C2.npy, M2.npy for
# LeNet-5): float32, shape (N, C*H*W), one image per row, channel-major (layers/image.hpp).
#
#   gnuplot -e "in='OUT/C1.npy'; C=6; H=28; W=28; out='C1.png'" tools/plots/feature_maps.gp
#
# Variables:  in   the .npy file (required)    C, H, W  its channels and size (required)
#             n    which image (row), from 0   cols     tiles per row (default: up to 8)
#             out  the picture (maps.png)      fmt      png (default) or svg

if (!exists("in") || !exists("C") || !exists("H") || !exists("W")) { print "feature_maps.gp: give in, C, H and W: gnuplot -e \"in='OUT/C1.npy'; C=6; H=28; W=28\" tools/plots/feature_maps.gp"; exit status 2 }
if (system(sprintf("test -r '%s' && echo ok", in)) ne "ok") { print sprintf("feature_maps.gp: cannot read '%s' (written by: chainrule inspect)", in); exit status 2 }
if (!exists("n")) n = 0
if (!exists("cols")) cols = (C < 8) ? C : 8
if (!exists("fmt")) fmt = "png"
if (!exists("out")) out = "maps." . fmt

skip = 10 + int(system(sprintf("od -An -tu2 -j8 -N2 '%s'", in)))
bytes = int(system(sprintf("wc -c < '%s'", in))) - skip
per = C * H * W
if (bytes % (4 * per) != 0) { print sprintf("feature_maps.gp: '%s' does not hold rows of C*H*W = %d floats", in, per); exit status 2 }
if (n < 0 || n >= bytes / (4 * per)) { print sprintf("feature_maps.gp: '%s' holds %d images; n must be below that", in, bytes / (4 * per)); exit status 2 }
skip = skip + 4 * per * n
rows = int((C + cols - 1) / cols)

stats in binary skip=skip format="%float32" every ::0::(per - 1) using 1 nooutput
if (fmt eq "svg") { set terminal svg size 120 * cols + 60, 120 * rows + 60 } else { set terminal pngcairo size 120 * cols + 60, 120 * rows + 60 }
set output out
set title sprintf("%s, image %d: %d maps of %dx%d", in, n, C, H, W)
unset xtics; unset ytics; unset key; unset border
set size ratio -1
set palette grey
set cbrange [STATS_min:STATS_max]
# Entry k of the row is channel c = k / (H*W), pixel (y, x) = ((k % (H*W)) / W, k % W).
c(k) = int(k) / (H * W)
y(k) = (int(k) % (H * W)) / W
x(k) = int(k) % W
plot in binary skip=skip format="%float32" every ::0::(per - 1) \
     using ((c($0) % cols) * (W + 1) + x($0)):(-((c($0) / cols) * (H + 1) + y($0))):(0.5):(0.5):1 \
     with boxxyerror fs solid 1.0 noborder fc palette
