#!/usr/bin/env bash
# --activation end to end on a slice of real MNIST: train with tanh and leaky_relu, resume
# bit-exact, evaluate, predict, export and inspect such checkpoints; and a version-1
# checkpoint written before --activation existed (tests/cli/fixtures/v1-784-3-10.ckpt,
# 784-3-10 trained 1 epoch on 40 images) still loads, as ReLU, and resumes.
#   tests/cli/activation_mnist.sh CHAINRULE_BINARY MNIST_DIR WORK_DIR
# Exits 77 (skipped) when MNIST is missing, unless CHAINRULE_REQUIRE_MNIST=1 (then fails).
set -euo pipefail
bin=$1 data=$2 work=$3
here=$(dirname "$0")
# shellcheck source=tests/support/require_mnist.sh
source "$here/../support/require_mnist.sh"
require_mnist activation_mnist.sh "$data"
rm -rf "$work" && mkdir -p "$work"
fail() { echo "activation_mnist.sh: $*" >&2; exit 1; }
expect() { "$here/expect.sh" "$@"; }
common=(--data "$data" --limit 500 --validation 0.2 --batch 50 --threads 1 --log-grads 3 --progress lines --seed 4)
strip() { cut -d, -f1-5 "$1"; }  # history.csv without its seconds column

for act in tanh sigmoid leaky_relu:0.1; do
  echo "== $act: 2 epochs at once, and 1 + resume to 2"
  name=${act%%:*}
  expect 0 "Epoch 2/2" "$bin" train "${common[@]}" --epochs 2 --activation "$act" --out "$work/$name-straight"
  expect 0 "Epoch 1/1" "$bin" train "${common[@]}" --epochs 1 --activation "$act" --out "$work/$name-resumed"
  expect 0 "Epoch 2/2" "$bin" train --resume "$work/$name-resumed/last.ckpt" --data "$data" --epochs 2 --progress lines
  grep -qx "activation = $act" "$work/$name-straight/config.txt" || fail "config.txt does not record activation = $act"
  [[ "$(strip "$work/$name-straight/history.csv")" == "$(strip "$work/$name-resumed/history.csv")" ]] ||
    fail "$act: the resumed history differs from the straight one"
  cmp -s "$work/$name-straight/steps.csv" "$work/$name-resumed/steps.csv" || fail "$act: steps.csv differs after resume"
  a=$("$bin" evaluate --model "$work/$name-straight/last.ckpt" --data "$data" --json | grep -v '"model"\|_csv')
  b=$("$bin" evaluate --model "$work/$name-resumed/last.ckpt" --data "$data" --json | grep -v '"model"\|_csv')
  [[ "$a" == "$b" ]] || fail "$act: evaluate differs between the straight and the resumed run"
done
grep -qx "architecture = 784-128-10+tanh" "$work/tanh-straight/config.txt" ||
  fail "config.txt does not name the architecture 784-128-10+tanh"

echo "== a resume that changes the activation is refused"
expect 2 "holds a 784-128-10\+tanh network, but this run asks for 784-128-10\+sigmoid" \
  "$bin" train --resume "$work/tanh-resumed/last.ckpt" --data "$data" --epochs 3 --activation sigmoid

echo "== predict, export and inspect a tanh checkpoint"
expect 0 "" "$bin" predict --model "$work/tanh-straight/last.ckpt" --data "$data" --index 0
expect 0 "" "$bin" export --model "$work/tanh-straight/last.ckpt" --data "$data" --out "$work/export"
[[ -s "$work/export/dense1.W.npy" ]] || fail "export wrote no dense1.W.npy"
expect 0 "" "$bin" inspect --model "$work/leaky_relu-straight/last.ckpt" --data "$data" --count 2 --out "$work/inspect"
grep -q "leaky_relu1" "$work/inspect/manifest.txt" || fail "inspect's manifest does not name leaky_relu1"
grep -q "alpha" "$work/inspect/manifest.txt" || fail "inspect's manifest does not explain leaky_relu1"

echo "== a version-1 checkpoint from before --activation loads as ReLU and resumes"
cp "$here/fixtures/v1-784-3-10.ckpt" "$work/old.ckpt"  # evaluate writes its CSV files beside the model
expect 0 '"accuracy": 0\.' "$bin" evaluate --model "$work/old.ckpt" --data "$data" --json
expect 0 "Epoch 2/2" "$bin" train --resume "$work/old.ckpt" --data "$data" --epochs 2 --progress lines --out "$work/old-resumed"
grep -q "^activation" "$work/old-resumed/config.txt" && fail "a ReLU run's config.txt names an activation"
grep -qx "architecture = 784-3-10" "$work/old-resumed/config.txt" || fail "the old checkpoint did not resume as 784-3-10"
head -c 12 "$work/old-resumed/last.ckpt" | tail -c 4 | od -An -tu4 | grep -qw 1 ||
  fail "a ReLU checkpoint is no longer written as format version 1"
head -c 12 "$work/tanh-straight/last.ckpt" | tail -c 4 | od -An -tu4 | grep -qw 2 ||
  fail "a tanh checkpoint is not written as format version 2"

echo "== bad --activation values exit 2 with the fix"
expect 2 "unknown activation 'swish'; use relu, sigmoid, tanh or leaky_relu\[:alpha\]" \
  "$bin" train "${common[@]}" --activation swish --out "$work/bad"
expect 2 "leaky_relu's alpha must be a number in \[0, 1\)" "$bin" train "${common[@]}" --activation leaky_relu:1.5 --out "$work/bad"
expect 2 "leaky_relu's alpha must be a number in \[0, 1\)" "$bin" train "${common[@]}" --activation leaky_relu: --out "$work/bad"
expect 2 "only leaky_relu takes a parameter" "$bin" train "${common[@]}" --activation tanh:0.5 --out "$work/bad"
echo "activation_mnist.sh: all good"
