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

echo "== resume to epoch 2, after a kill -9 left last.ckpt.tmp behind"
printf 'half a checkpoint' >"$work/run/last.ckpt.tmp"
expect 0 "note: removed last.ckpt.tmp from $work/run/" "$bin" train --resume "$work/run/last.ckpt" --epochs 2 --progress lines
[[ ! -e "$work/run/last.ckpt.tmp" ]] || fail "the stale last.ckpt.tmp is still there"
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
echo "== resume: an invalid optimizer option is refused, a valid one applied and recorded"
expect 2 "--beta1 must be in \[0, 1\), got 5" "$bin" train --resume "$work/run/last.ckpt" --epochs 3 --beta1 5
out=$("$bin" train --resume "$work/run/last.ckpt" --epochs 3 --beta1 0.8 --lr 1e-12 --out "$work/other" --progress lines)
grep -q "changed on resume: lr 0.001 -> 1e-12, beta1 0.9 -> 0.8" <<<"$out" || fail "the resume does not say what it changed"
grep -qx "beta1 = 0.8" "$work/other/config.txt" || fail "config.txt does not record beta1 0.8"
model=$(sed -n 's/^Next: chainrule evaluate --model //p' <<<"$out")
[[ $model == "$work/other/best.ckpt" && -s $model ]] || fail "the printed model '$model' is not the new folder's best.ckpt"
expect 0 "accuracy" "$bin" evaluate --model "$model" --data "$data"

echo "== bounds that need the data: the memory estimate, an empty validation set"
expect 2 "784-1000000-10 with batch 128 needs about [0-9.]+ GiB .* above the limit of 4 GiB" \
  "$bin" train --data "$data" --limit 100 --hidden 1000000 --out "$work/huge"
[[ ! -e "$work/huge" ]] || fail "a refused run left its folder"
expect 2 "--validation 0.0001 of 2000 training images gives 0 validation and 2000 training images" \
  "$bin" train --data "$data" --limit 2000 --validation 0.0001 --out "$work/v"

echo "== a finished run folder: reuse without --resume is refused, --overwrite clears the old run"
expect 2 "already holds a run \(config.txt, history.csv, steps.csv, last.ckpt, best.ckpt, confusion.csv" \
  "$bin" train --data "$data" --limit 500 --epochs 1 --out "$work/run"
expect 0 "--overwrite: removed the earlier run's config.txt, history.csv, steps.csv, last.ckpt, best.ckpt" \
  "$bin" train --data "$data" --limit 500 --epochs 1 --out "$work/run" --overwrite --progress lines
[[ ! -e "$work/run/steps.csv" && ! -e "$work/run/confusion.csv" ]] || fail "--overwrite left files of the old run"
[[ $(wc -l <"$work/run/history.csv") -eq 2 ]] || fail "history.csv should hold the new run's 1 epoch"
echo "== validation: held out by default and test used once at the end; --validation test warns in one line"
out=$("$bin" train --data "$data" --limit 500 --epochs 1 --progress lines --out "$work/heldout")
grep -q "450 training images, validation: holdout 0.1 of train (50 images)" <<<"$out" || fail "the default is not a held-out 0.1"
! grep -q "^warning: validating on the test set" <<<"$out" || fail "a held-out run warned about the test set"
grep -q "^Next: chainrule evaluate --model $work/heldout/best.ckpt$" <<<"$out" || fail "Next does not name best.ckpt"
grep -q "the test set, once, at the end" <<<"$out" || fail "Next does not say to evaluate on test once"
out=$("$bin" train --data "$data" --limit 500 --epochs 1 --progress lines --validation test --out "$work/ontest")
[[ $(grep -c "^warning: validating on the test set: .* overstates the accuracy on new digits" <<<"$out") -eq 1 ]] ||
  fail "--validation test should print exactly one warning line"
grep -q "^Next: chainrule evaluate --model $work/ontest/last.ckpt$" <<<"$out" || fail "Next should name last.ckpt"
tail -n 1 "$work/ontest/history.csv" | grep -q ",0.001,epochs$" || fail "history.csv's last row lacks lr and stop"

echo "== --early-stopping on resume: stops where a straight run stops; a stopped run is not resumed"
"$bin" train --data "$data" --limit 1000 --epochs 50 --batch 32 --lr 0.003 --early-stopping 2 --progress lines \
  --out "$work/es" >/dev/null
stopped=$(tail -n 1 "$work/es/history.csv" | cut -d, -f1)
tail -n 1 "$work/es/history.csv" | grep -q ",early_stopping$" || fail "the 50-epoch run did not stop early"
(( stopped < 50 )) || fail "early stopping ran all 50 epochs"
expect 2 "stopped early: val_loss did not improve by more than 0 for 2 epochs" \
  "$bin" train --resume "$work/es/last.ckpt" --epochs 60
"$bin" train --data "$data" --limit 1000 --epochs $((stopped - 1)) --batch 32 --lr 0.003 --early-stopping 2 \
  --progress lines --out "$work/es2" >/dev/null
"$bin" train --resume "$work/es2/last.ckpt" --epochs 50 --progress lines >/dev/null
cmp <(cut -d, -f1-5,7,8 "$work/es/history.csv") <(cut -d, -f1-5,7,8 "$work/es2/history.csv") ||
  fail "the resumed run's history differs from the straight one"
"$bin" export --model "$work/es/last.ckpt" --out "$work/es/npy" >/dev/null
"$bin" export --model "$work/es2/last.ckpt" --out "$work/es2/npy" >/dev/null
for f in "$work/es/npy"/*.npy; do cmp "$f" "$work/es2/npy/$(basename "$f")" || fail "$(basename "$f") differs after the resume"; done
out=$("$bin" doctor "$work/es")
grep -q "the run stopped early after epoch $stopped" <<<"$out" || fail "doctor does not say the run stopped early"

echo "train_mnist.sh: all checks passed"
