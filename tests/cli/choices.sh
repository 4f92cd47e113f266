#!/usr/bin/env bash
# `chainrule summary` against counts worked out by hand, then (on a slice of real MNIST) the
# --init and BatchNorm choices end to end: recorded in config.txt, resumed bit-exact, loaded by
# evaluate and summary, and a resume that moves BatchNorm to the other side is refused.
#   tests/cli/choices.sh CHAINRULE_BINARY MNIST_DIR WORK_DIR
# Exits 77 (skipped) after the summary checks when MNIST is missing, unless CHAINRULE_REQUIRE_MNIST=1.
set -euo pipefail
bin=$1 data=$2 work=$3
here=$(dirname "$0")
rm -rf "$work" && mkdir -p "$work"
fail() { echo "choices.sh: $*" >&2; exit 1; }
expect() { "$here/expect.sh" "$@"; }
has() { grep -Eq -- "$2" <<< "$1" || fail "summary output has no line matching /$2/:"$'\n'"$1"; }

echo "== summary of 784-128-10: 784*128 + 128 = 100480, 128*10 + 10 = 1290, total 101770"
out=$("$bin" summary)
printf '%s\n' "$out"
has "$out" '^dense1 \(dense\) +\(N, 128\) +100480 +W \(784, 128\), b \(1, 128\)$'
has "$out" '^relu1 \(relu\) +\(N, 128\) +0$'
has "$out" '^dense2 \(dense\) +\(N, 10\) +1290 '
has "$out" '^Total params: 101770$'
has "$out" '^Trainable params: 101770$'
has "$out" '^Non-trainable params: 0$'

echo "== summary of 784-512-256-10 with BatchNorm after tanh and dropout"
# dense1 784*512 + 512 = 401920; batchnorm1 4*512 = 2048 (2*512 trained, 2*512 running stats);
# dense2 512*256 + 256 = 131328; batchnorm2 4*256 = 1024; dense3 256*10 + 10 = 2570.
# Trainable 401920 + 1024 + 131328 + 512 + 2570 = 537354, not trained 1024 + 512 = 1536, total 538890.
out=$("$bin" summary --hidden 512,256 --batchnorm after --activation tanh --dropout 0.2)
printf '%s\n' "$out"
has "$out" '^Model: 784-512-256-10\+tanh\+dropout0.2\+batchnorm_after$'
order=$(awk '/^[a-z_]+[0-9] \(/ {print $1}' <<< "$out" | tr '\n' ' ')
[[ "$order" == "dense1 tanh1 batchnorm1 dropout1 dense2 tanh2 batchnorm2 dropout2 dense3 " ]] ||
  fail "layer order with --batchnorm after: $order"
has "$out" '^batchnorm1 \(batchnorm\) +\(N, 512\) +2048 +gamma \(1, 512\), beta \(1, 512\); not trained: running_mean \(1, 512\), running_var \(1, 512\)$'
has "$out" '^Total params: 538890$'
has "$out" '^Trainable params: 537354$'
has "$out" '^Non-trainable params: 1536$'
out=$("$bin" summary --hidden 512,256 --batchnorm)
order=$(awk '/^[a-z_]+[0-9] \(/ {print $1}' <<< "$out" | tr '\n' ' ')
[[ "$order" == "dense1 batchnorm1 relu1 dense2 batchnorm2 relu2 dense3 " ]] || fail "layer order with --batchnorm: $order"

# shellcheck source=tests/support/require_mnist.sh
source "$here/../support/require_mnist.sh"
require_mnist choices.sh "$data"
common=(--data "$data" --limit 500 --validation 0.2 --batch 50 --threads 1 --log-grads 3 --progress lines --seed 4)
strip() { cut -d, -f1-5 "$1"; }  # history.csv without its seconds column

run_case() {  # NAME CONFIG_LINE ARGS...
  local name=$1 line=$2
  shift 2
  echo "== $name: 2 epochs at once, and 1 + resume to 2"
  expect 0 "Epoch 2/2" "$bin" train "${common[@]}" --epochs 2 "$@" --out "$work/$name-straight"
  expect 0 "Epoch 1/1" "$bin" train "${common[@]}" --epochs 1 "$@" --out "$work/$name-resumed"
  expect 0 "Epoch 2/2" "$bin" train --resume "$work/$name-resumed/last.ckpt" --data "$data" --epochs 2 --progress lines
  grep -qxF "$line" "$work/$name-straight/config.txt" || fail "$name: config.txt does not record '$line'"
  [[ "$(strip "$work/$name-straight/history.csv")" == "$(strip "$work/$name-resumed/history.csv")" ]] ||
    fail "$name: the resumed history differs from the straight one"
  cmp -s "$work/$name-straight/steps.csv" "$work/$name-resumed/steps.csv" || fail "$name: steps.csv differs after resume"
  local a b
  a=$("$bin" evaluate --model "$work/$name-straight/last.ckpt" --data "$data" --json | grep -v '"model"\|_csv')
  b=$("$bin" evaluate --model "$work/$name-resumed/last.ckpt" --data "$data" --json | grep -v '"model"\|_csv')
  [[ "$a" == "$b" ]] || fail "$name: evaluate differs between the straight and the resumed run"
}
run_case normal "init = normal:0.05" --init normal:0.05 --activation tanh
run_case gain "init_gain = 0.5" --init glorot --init-gain 0.5
run_case bn-after "batchnorm_position = after" --batchnorm after --activation sigmoid
run_case keras-bn "bn_momentum = 0.01" --batchnorm after --bn-momentum 0.01 --bn-eps 1e-3
grep -qxF "bn_eps = 0.001" "$work/keras-bn-straight/config.txt" || fail "config.txt does not record bn_eps = 0.001"
grep -qxF "architecture = 784-128-10+sigmoid+batchnorm_after" "$work/bn-after-straight/config.txt" ||
  fail "config.txt does not name the architecture 784-128-10+sigmoid+batchnorm_after"

echo "== the checkpoint records the place: summary and a resume asking for the other place"
out=$("$bin" summary --model "$work/bn-after-straight/last.ckpt")
printf '%s\n' "$out"
order=$(awk '/^[a-z_]+[0-9] \(/ {print $1}' <<< "$out" | tr '\n' ' ')
[[ "$order" == "dense1 sigmoid1 batchnorm1 dense2 " ]] || fail "summary --model: layer order $order"
expect 2 "its BatchNorm layers sit after the activation, this run asks for them before it" \
  "$bin" train --resume "$work/bn-after-resumed/last.ckpt" --data "$data" --epochs 3 --batchnorm before

echo "== default BatchNorm and ReLU checkpoints keep format version 1 (bytes 8-11)"
expect 0 "Epoch 1/1" "$bin" train "${common[@]}" --epochs 1 --batchnorm --out "$work/bn-default"
[[ "$(od -An -tu4 -j8 -N4 "$work/bn-default/last.ckpt" | tr -d ' ')" == 1 ]] || fail "a default BatchNorm checkpoint is not version 1"
[[ "$(od -An -tu4 -j8 -N4 "$work/keras-bn-straight/last.ckpt" | tr -d ' ')" == 3 ]] || fail "a Keras-BatchNorm checkpoint is not version 3"
echo "choices.sh: all checks passed"
