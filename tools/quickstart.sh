#!/usr/bin/env bash
# chainrule's main job (README): install what is missing, build the release preset,
# fetch real MNIST, check every backward pass, train the reference network
# 784-128-10 (Adam, batch 128, 10 epochs) on 54000 training images while 6000 held-out
# ones choose best.ckpt, evaluate best.ckpt once on the 10000 test images, and draw the
# pictures. Everything lands in runs/quickstart/.
#
#   tools/quickstart.sh              the whole job
#   tools/quickstart.sh --seed 7     another seed (weights, shuffle)
set -euo pipefail
cd "$(dirname "$0")/.."

seed=42
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) seed="${2:?--seed needs a number}"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "tools/quickstart.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done

# shellcheck source=tools/deps.sh
source tools/deps.sh
chainrule_ensure_packages

echo "== building (release preset)"
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc 2>/dev/null || echo 2)" --target chainrule

echo "== fetching real MNIST"
tools/fetch_mnist.sh

bin=build/release/chainrule
run=runs/quickstart

echo "== checking every backward pass numerically (chainrule gradcheck)"
"$bin" gradcheck > /tmp/chainrule-gradcheck.$$ || { cat /tmp/chainrule-gradcheck.$$; rm -f /tmp/chainrule-gradcheck.$$; exit 1; }
tail -n 1 /tmp/chainrule-gradcheck.$$
rm -f /tmp/chainrule-gradcheck.$$

echo "== training 784-128-10: Adam (lr 1e-3), batch 128, 10 epochs, validation on 0.1 of the training set"
rm -rf "$run"
start=$(date +%s%N)
"$bin" train --out "$run" --hidden 128 --optimizer adam --lr 0.001 --batch 128 --epochs 10 --seed "$seed" \
  --validation 0.1 --log-grads 50

echo "== evaluating best.ckpt (chosen on the validation set) once, on the 10000 test images"
"$bin" evaluate --model "$run/best.ckpt"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
seconds=$(printf "%d.%01d" $((ms / 1000)) $(((ms % 1000) / 100)))
"$bin" export --model "$run/best.ckpt" --out "$run" > /dev/null  # the weights as .npy, for the weights picture

if command -v gnuplot >/dev/null 2>&1; then
  echo "== drawing the pictures (tools/plot.sh)"
  tools/plot.sh "$run" --png
fi

echo
echo "Training and evaluation took ${seconds} s. Results are in $run/:"
echo "  history.csv (per epoch), steps.csv (gradient statistics), config.txt, last.ckpt, best.ckpt,"
echo "  confusion.csv, misclassified.csv, *.npy (the weights), and plots/*.png."
echo "Next: build/release/chainrule predict --model $run/best.ckpt --index 0"
echo "      build/release/chainrule doctor $run"
echo "      tutorials/README.md, the lessons behind every number."
