#!/usr/bin/env bash
# --model lenet5 and --layers end to end on a slice of real MNIST: train, resume bit-exact
# (history, steps.csv with the gradient statistics, evaluate), the layer list recorded in
# config.txt and restored from the checkpoint; evaluate, predict, export, inspect and doctor
# on a CNN checkpoint; a resume that changes the network is refused.
#   tests/cli/cnn_mnist.sh CHAINRULE_BINARY MNIST_DIR WORK_DIR
# Exits 77 (skipped) when MNIST is missing, unless CHAINRULE_REQUIRE_MNIST=1 (then fails).
set -euo pipefail
bin=$1 data=$2 work=$3
here=$(dirname "$0")
# shellcheck source=tests/support/require_mnist.sh
source "$here/../support/require_mnist.sh"
require_mnist cnn_mnist.sh "$data"
rm -rf "$work" && mkdir -p "$work"
fail() { echo "cnn_mnist.sh: $*" >&2; exit 1; }
expect() { "$here/expect.sh" "$@"; }
common=(--data "$data" --limit 300 --validation 0.2 --batch 40 --threads 1 --log-grads 2 --progress lines --seed 5)
strip() { cut -d, -f1-5 "$1"; }  # history.csv without its seconds column
lenet="conv:6:5:pad2,relu,maxpool:2,conv:16:5,relu,maxpool:2,dense:120,relu,dense:84,relu,dense:10"

echo "== lenet5: 2 epochs at once, and 1 + resume to 2"
expect 0 "$lenet \(61706 parameters\)" "$bin" train "${common[@]}" --epochs 2 --model lenet5 --out "$work/straight"
expect 0 "Epoch 1/1" "$bin" train "${common[@]}" --epochs 1 --model lenet5 --out "$work/resumed"
expect 0 "Epoch 2/2" "$bin" train --resume "$work/resumed/last.ckpt" --data "$data" --epochs 2 --progress lines
grep -qx "layers = $lenet" "$work/straight/config.txt" || fail "config.txt does not record the layer list"
grep -qx "architecture = $lenet" "$work/straight/config.txt" || fail "config.txt does not name the network"
[[ "$(strip "$work/straight/history.csv")" == "$(strip "$work/resumed/history.csv")" ]] ||
  fail "the resumed history differs from the straight one"
cmp -s "$work/straight/steps.csv" "$work/resumed/steps.csv" || fail "steps.csv differs after resume"
grep -q "relu1:dead_fraction" "$work/straight/steps.csv" || fail "steps.csv has no dead fraction for relu1 (after conv1)"
a=$("$bin" evaluate --model "$work/straight/last.ckpt" --data "$data" --json | grep -v '"model"\|_csv')
b=$("$bin" evaluate --model "$work/resumed/last.ckpt" --data "$data" --json | grep -v '"model"\|_csv')
[[ "$a" == "$b" ]] || fail "evaluate differs between the straight and the resumed run"
grep -q '"accuracy": 0\.' <<<"$a" || fail "evaluate printed no accuracy: $a"

echo "== --layers gives the same network as --model lenet5"
expect 0 "Epoch 1/1" "$bin" train "${common[@]}" --epochs 1 --layers "$lenet" --out "$work/listed"
[[ "$(strip "$work/listed/history.csv" | head -2)" == "$(strip "$work/straight/history.csv" | head -2)" ]] ||
  fail "--layers LENET5 and --model lenet5 trained differently"

echo "== a small list with average pooling, stride and sigmoid"
expect 0 "conv:4:3:s2,sigmoid,avgpool:2,dense:10 " "$bin" train "${common[@]}" --epochs 1 \
  --layers conv:4:3:s2,sigmoid,avgpool:2,dense:10 --out "$work/small"
expect 0 "test accuracy" "$bin" evaluate --model "$work/small/last.ckpt" --data "$data"

echo "== a resume that changes the network is refused"
expect 2 "but this run asks for 784-128-10" \
  "$bin" train --resume "$work/resumed/last.ckpt" --data "$data" --epochs 3 --model mlp --hidden 128
expect 2 "holds a network of layers conv:4:3:s2,sigmoid,avgpool:2,dense:10, but this run asks for $lenet" \
  "$bin" train --resume "$work/small/last.ckpt" --data "$data" --epochs 3 --model lenet5

echo "== predict, export, inspect and doctor on a CNN checkpoint"
expect 0 "answer: [0-9] \(probability" "$bin" predict --model "$work/straight/last.ckpt" --data "$data" --index 0
expect 0 "" "$bin" export --model "$work/straight/last.ckpt" --data "$data" --out "$work/export"
[[ -s "$work/export/conv1.W.npy" ]] || fail "export wrote no conv1.W.npy"
grep -q "conv1.W.npy .*(25, 6) .*filters" "$work/export/manifest.txt" || fail "export's manifest does not explain conv1.W"
expect 0 "" "$bin" inspect --model "$work/straight/last.ckpt" --data "$data" --count 2 --out "$work/inspect"
for f in X C1 H1 M1 C2 M2 Z1 Z3 dC1 dM1 dconv1.W dconv2.b conv1.W W1; do
  [[ -s "$work/inspect/$f.npy" ]] || fail "inspect wrote no $f.npy"
done
grep -q "full convolution of dC2 with the flipped filters" "$work/inspect/manifest.txt" ||
  fail "inspect's manifest does not explain conv2's input gradient"
expect 0 "chainrule doctor" "$bin" doctor "$work/straight"
if command -v gnuplot >/dev/null; then
  echo "== the pictures: conv1's filters and one digit's feature maps (tools/plots)"
  plots=$here/../../tools/plots
  gnuplot -e "in='$work/inspect/conv1.W.npy'; out='$work/filters.png'" "$plots/filters.gp" || fail "filters.gp failed"
  for m in "C1 6 28" "M1 6 14" "C2 16 10" "M2 16 5"; do
    set -- $m
    gnuplot -e "in='$work/inspect/$1.npy'; C=$2; H=$3; W=$3; n=1; out='$work/$1.png'" "$plots/feature_maps.gp" ||
      fail "feature_maps.gp failed on $1"
    [[ -s "$work/$1.png" ]] || fail "feature_maps.gp drew no $1.png"
  done
  [[ -s "$work/filters.png" ]] || fail "filters.gp drew no filters.png"
  expect 2 "holds 2 images; n must be below that" gnuplot -e "in='$work/inspect/C1.npy'; C=6; H=28; W=28; n=5" "$plots/feature_maps.gp"
fi

echo "== bad layer lists exit 2 with the fix"
expect 2 "--layers: layer 2 'pool:2': unknown kind" "$bin" train "${common[@]}" --layers conv:6:5,pool:2,dense:10 --out "$work/bad"
expect 2 "must end with dense:10" "$bin" train "${common[@]}" --layers conv:6:5,relu --out "$work/bad"
expect 2 "an image layer cannot follow a dense layer" "$bin" train "${common[@]}" --layers dense:20,conv:2:3,dense:10 --out "$work/bad"
expect 2 "does not fit" "$bin" train "${common[@]}" --layers conv:6:29,dense:10 --out "$work/bad"
expect 2 "write conv:OUT:K" "$bin" train "${common[@]}" --layers conv:6,dense:10 --out "$work/bad"
expect 2 "'x3' is not a stride" "$bin" train "${common[@]}" --layers conv:6:5:x3,dense:10 --out "$work/bad"
expect 2 "--model 'vgg' is unknown" "$bin" train "${common[@]}" --model vgg --out "$work/bad"
expect 2 "--model lenet5 and --layers both name the network" "$bin" train "${common[@]}" --model lenet5 --layers dense:10 --out "$work/bad"
expect 2 "--hidden sizes the MLP" "$bin" train "${common[@]}" --model lenet5 --hidden 64 --out "$work/bad"
expect 2 "takes no --dropout, --batchnorm or --activation" "$bin" train "${common[@]}" --model lenet5 --dropout 0.2 --out "$work/bad"
echo "cnn_mnist.sh: all good"
