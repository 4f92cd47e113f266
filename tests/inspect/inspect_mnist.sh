#!/usr/bin/env bash
# End to end on real MNIST: train a tiny model (1 epoch, 1000 images), then export, inspect and
# predict; checks the .npy files (headers, shapes, every equation recomputed by check_npy.py),
# that a bug injected into backward is caught, predict on a PGM made from a training image, and
# the exit-2 errors that need a real checkpoint and data.
#   tests/inspect/inspect_mnist.sh CHAINRULE_BINARY MNIST_DIR WORK_DIR
# Exits 77 (skipped) when MNIST is missing, unless CHAINRULE_REQUIRE_MNIST=1 (then fails).
set -euo pipefail
bin=$1 data=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/support/require_mnist.sh
source "$(dirname "$0")/../support/require_mnist.sh"
require_mnist inspect_mnist.sh "$data"
rm -rf "$work" && mkdir -p "$work"
fail() { echo "inspect_mnist.sh: $*" >&2; exit 1; }
expect() { "$here/../cli/expect.sh" "$@"; }
check() { python3 "$here/check_npy.py" "$@"; }
ckpt=$work/run/best.ckpt

echo "== train 1 epoch on 1000 images"
expect 0 "Epoch 1/1" "$bin" train --data "$data" --limit 1000 --epochs 1 --threads 1 --progress lines --out "$work/run"
[[ -s "$ckpt" ]] || fail "train wrote no best.ckpt"

echo "== export"
expect 0 "dense1.W.npy +float32 +\(784, 128\)" "$bin" export --model "$ckpt" --out "$work/export" --data "$data" --digits 12
check export "$work/export"
[[ $(wc -l <"$work/export/digits.csv") -eq 13 ]] || fail "digits.csv should have a header and 12 rows"

echo "== inspect 5 training images from index 3"
expect 0 "dW1.npy +float32 +\(784, 128\)" "$bin" inspect --model "$ckpt" --data "$data" --index 3 --count 5 \
  --out "$work/inspect"
check inspect "$work/inspect"
check same "$work/export/dense1.W.npy" "$work/inspect/W1.npy"
grep -q "N = 5 train images from index 3" "$work/inspect/manifest.txt" || fail "manifest.txt does not name the batch"

echo "== the same check catches a bug injected into the ReLU backward"
expect 0 "loss" "$bin" inspect --model "$ckpt" --data "$data" --index 3 --count 5 --out "$work/bug" --inject-bug relu-mask-inverted
expect 1 "FAIL: dZ1 = dH \* \[Z1 > 0\]" python3 "$here/check_npy.py" inspect "$work/bug"

echo "== predict --index 0 (test split), text and JSON"
expect 0 "answer: [0-9] \(probability 0\.[0-9]+\)   true label: 7" "$bin" predict --model "$ckpt" --data "$data" --index 0
expect 0 '"label": 7' "$bin" predict --model "$ckpt" --data "$data" --index 0 --json
"$bin" predict --model "$ckpt" --data "$data" --index 0 | grep -q "@" || fail "predict drew no digit"

echo "== predict --pgm: training image 0 as P5 and P2 gives the same probabilities as --split train --index 0"
# digits.csv row 1 is training image 0: index,label,p0..p783.
LC_ALL=C awk -F, 'NR == 2 { printf "P5\n# training image 0\n28 28\n255\n"; for (i = 3; i <= NF; i++) printf "%c", $i + 0 }' \
  "$work/export/digits.csv" >"$work/train0.pgm"
awk -F, 'NR == 2 { printf "P2\n28 28\n255\n"; for (i = 3; i <= NF; i++) printf "%d%s", $i, ((i - 2) % 28 ? " " : "\n") }' \
  "$work/export/digits.csv" >"$work/train0_ascii.pgm"
[[ $(wc -c <"$work/train0.pgm") -eq $((32 + 784)) ]] || fail "train0.pgm has $(wc -c <"$work/train0.pgm") bytes, expected 32 + 784"
want=$("$bin" predict --model "$ckpt" --data "$data" --split train --index 0 --json | grep probabilities)
for f in train0.pgm train0_ascii.pgm; do
  got=$("$bin" predict --model "$ckpt" --pgm "$work/$f" --json | grep probabilities)
  [[ "$got" == "$want" ]] || fail "$f: $got, expected $want"
done
expect 0 "answer: [0-9]" "$bin" predict --model "$ckpt" --pgm "$work/train0.pgm"
# The same digit as dark ink on white: predict says what to do, and --invert restores the answer.
awk -F, 'NR == 2 { printf "P2\n28 28\n255\n"; for (i = 3; i <= NF; i++) printf "%d\n", 255 - $i }' \
  "$work/export/digits.csv" >"$work/train0_inverted.pgm"
expect 0 "MNIST digits are white on black.*--invert" "$bin" predict --model "$ckpt" --pgm "$work/train0_inverted.pgm"
got=$("$bin" predict --model "$ckpt" --pgm "$work/train0_inverted.pgm" --invert --json | grep probabilities)
[[ "$got" == "$want" ]] || fail "--invert: $got, expected $want"

echo "== exit 2 for values that need the real files"
expect 2 "--index 10000 is out of range: the test split has 10000 images \(0..9999\)" \
  "$bin" predict --model "$ckpt" --data "$data" --index 10000
expect 2 "--index 60000 is out of range: the train split has 60000 images" \
  "$bin" inspect --model "$ckpt" --data "$data" --index 60000 --count 1 --out "$work/x"
expect 2 "--count 10 from --index 9995 runs past the end of the test split .*use --count 5 or less" \
  "$bin" inspect --model "$ckpt" --data "$data" --split test --index 9995 --count 10 --out "$work/x"
expect 2 "--digits 60001 is more than the 60000 training images" \
  "$bin" export --model "$ckpt" --data "$data" --digits 60001 --out "$work/x"
printf 'P5\n32 32\n255\n' >"$work/big.pgm"
expect 2 "--pgm: .*big.pgm: the image is 32x32 pixels.*resize to 28x28" "$bin" predict --model "$ckpt" --pgm "$work/big.pgm"
head -c 100 "$work/train0.pgm" >"$work/cut.pgm"
expect 2 "--pgm: .*cut.pgm: truncated file" "$bin" predict --model "$ckpt" --pgm "$work/cut.pgm"
[[ ! -e "$work/x" ]] || fail "a refused command created its --out folder"
echo "inspect_mnist.sh: all checks passed"
