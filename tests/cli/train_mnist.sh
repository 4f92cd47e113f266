#!/usr/bin/env bash
# End to end on a slice of real MNIST: train 1 epoch on 2000 images, evaluate, resume to
# epoch 2, and the failure paths (corrupt checkpoint, other architecture, divergence).
#   tests/cli/train_mnist.sh CHAINRULE_BINARY MNIST_DIR WORK_DIR
# Exits 77 (skipped) when MNIST is missing, unless CHAINRULE_REQUIRE_MNIST=1 (then fails).
set -euo pipefail
bin=$1 data=$2 work=$3
# shellcheck source=tests/support/require_mnist.sh
source "$(dirname "$0")/../support/require_mnist.sh"
require_mnist train_mnist.sh "$data"
rm -rf "$work" && mkdir -p "$work"
fail() { echo "train_mnist.sh: $*" >&2; exit 1; }
expect() { "$(dirname "$0")/expect.sh" "$@"; }

echo "== train 1 epoch on 2000 images"
expect 0 "Epoch 1/1 - 57/57" "$bin" train --data "$data" --limit 2000 --validation 0.1 --batch 32 --epochs 1 --threads 1 --log-grads 4 \
  --progress lines --out "$work/run"
for f in history.csv config.txt last.ckpt best.ckpt steps.csv; do [[ -s "$work/run/$f" ]] || fail "missing $f"; done
[[ $(wc -l <"$work/run/history.csv") -eq 2 ]] || fail "history.csv should have a header and 1 row"
[[ $(wc -l <"$work/run/steps.csv") -eq 16 ]] || fail "steps.csv should have a header and 15 rows (step 1, then steps 4, 8, ..., 56)"
val=$(tail -n 1 "$work/run/history.csv" | cut -d, -f5)
awk -v v="$val" 'BEGIN { exit !(v > 0.8) }' || fail "val_accuracy $val after 1 epoch on 2000 images; expected > 0.8"

echo "== evaluate"
expect 0 '"accuracy": 0\.[789]' "$bin" evaluate --model "$work/run/best.ckpt" --data "$data" --json
[[ -s "$work/run/confusion.csv" && -s "$work/run/misclassified.csv" ]] || fail "evaluate wrote no CSV files"
[[ $(wc -l <"$work/run/confusion.csv") -eq 11 ]] || fail "confusion.csv should have 11 lines"

echo "== resume to epoch 2"
expect 0 "Epoch 2/2" "$bin" train --resume "$work/run/last.ckpt" --epochs 2 --progress lines
[[ $(wc -l <"$work/run/history.csv") -eq 3 ]] || fail "history.csv should have 2 rows after resuming"

echo "== resume into another architecture"
expect 2 "holds a 784-128-10 network, but this run asks for 784-64-10" \
  "$bin" train --resume "$work/run/last.ckpt" --epochs 3 --hidden 64

echo "== corrupt checkpoint"
cp "$work/run/last.ckpt" "$work/bad.ckpt"
printf '\x55' | dd of="$work/bad.ckpt" bs=1 seek=1000 conv=notrunc status=none
expect 2 "bad.ckpt: corrupt checkpoint \(CRC32" "$bin" evaluate --model "$work/bad.ckpt" --data "$data"

echo "== divergence stops with exit 1"
expect 1 "training stopped: the loss is -?(nan|inf) at epoch 1" \
  "$bin" train --data "$data" --limit 512 --validation 0.1 --epochs 1 --optimizer sgd --lr 1e30 --out "$work/nan" --progress lines
grep -q "learning rate is too high" <("$bin" train --data "$data" --limit 512 --validation 0.1 --epochs 1 \
  --optimizer sgd --lr 1e30 --out "$work/nan" --overwrite 2>&1) || fail "the divergence message suggests no cause"
echo "train_mnist.sh: all checks passed"
