#!/usr/bin/env bash
# The largest |a - b| over every float of two exported weight folders (chainrule export):
#   tests/mpi/npy_maxdiff.sh DIR_A DIR_B      prints e.g. "1.19209e-07" (0 when identical)
# Each .npy file holds a header padded to a multiple of 64 bytes, then little-endian float32s.
set -euo pipefail
a=$1 b=$2
max=0
for f in "$a"/*.npy; do
  g="$b/$(basename "$f")"
  [[ -f "$g" ]] || { echo "npy_maxdiff.sh: $g is missing" >&2; exit 1; }
  # header length: bytes 8-9 (format 1.0), after the 6-byte magic and the 2-byte version
  skip=$((10 + $(od -An -j8 -N2 -tu2 "$f" | tr -d ' ')))
  m=$(paste <(od -An -v -j"$skip" -w4 -tf4 "$f") <(od -An -v -j"$skip" -w4 -tf4 "$g") |
      awk 'BEGIN { m = 0 } { d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { printf "%.6g\n", m }')
  max=$(awk -v x="$max" -v y="$m" 'BEGIN { print (y > x ? y : x) }')
done
echo "$max"
