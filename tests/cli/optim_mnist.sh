#!/usr/bin/env bash
# --weight-decay, --optimizer adamw and --lr-schedule end to end on a slice of real MNIST:
# config.txt and the checkpoint record them, resume is bit-exact with each (across a step of
# the schedule, and with plateau), the header says what the printed loss holds, a new
# --weight-decay on resume is applied and listed, and weight decay lowers the weights' norm.
#   tests/cli/optim_mnist.sh CHAINRULE_BINARY MNIST_DIR WORK_DIR
# Exits 77 (skipped) when MNIST is missing, unless CHAINRULE_REQUIRE_MNIST=1 (then fails).
set -euo pipefail
bin=$1 data=$2 work=$3
here=$(dirname "$0")
# shellcheck source=tests/support/require_mnist.sh
source "$here/../support/require_mnist.sh"
require_mnist optim_mnist.sh "$data"
rm -rf "$work" && mkdir -p "$work"
fail() { echo "optim_mnist.sh: $*" >&2; exit 1; }
expect() { "$here/expect.sh" "$@"; }
common=(--data "$data" --limit 500 --validation 0.2 --batch 50 --threads 1 --log-grads 3 --progress lines --seed 4)
strip() { cut -d, -f1-5 "$1"; }  # history.csv without its seconds column

# straight_and_resumed NAME ARGS...: 3 epochs at once, and 1 + resume to 3; same history and steps.csv
straight_and_resumed() {
  local name=$1
  shift
  expect 0 "Epoch 3/3" "$bin" train "${common[@]}" --epochs 3 "$@" --out "$work/$name-straight"
  expect 0 "Epoch 1/1" "$bin" train "${common[@]}" --epochs 1 "$@" --out "$work/$name-resumed"
  expect 0 "Epoch 3/3" "$bin" train --resume "$work/$name-resumed/last.ckpt" --data "$data" --epochs 3 --progress lines
  [[ "$(strip "$work/$name-straight/history.csv")" == "$(strip "$work/$name-resumed/history.csv")" ]] ||
    fail "$name: the resumed history differs from the straight one"
  cmp -s "$work/$name-straight/steps.csv" "$work/$name-resumed/steps.csv" || fail "$name: steps.csv differs after resume"
}

echo "== adamw with weight decay and a step schedule (a cut at every epoch, so the resume crosses one)"
straight_and_resumed adamw --optimizer adamw --weight-decay 0.05 --lr-schedule step:1:0.5
for line in "optimizer = adamw" "weight_decay = 0.05" "lr_schedule = step:1:0.5"; do
  grep -qx "$line" "$work/adamw-straight/config.txt" || fail "config.txt does not record '$line'"
  grep -qx "$line" "$work/adamw-resumed/config.txt" || fail "the resumed config.txt does not record '$line'"
done
expect 0 "weight decay: decoupled \(adamw\), on the weight matrices; loss is the cross-entropy alone" \
  "$bin" train "${common[@]}" --epochs 1 --optimizer adamw --weight-decay 0.05 --out "$work/adamw-header"
expect 0 "adamw\(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-07, weight_decay=0.05\)" \
  "$bin" train "${common[@]}" --epochs 1 --optimizer adamw --weight-decay 0.05 --out "$work/adamw-header2"

echo "== sgd with the L2 penalty and a plateau schedule"
straight_and_resumed l2 --optimizer sgd --lr 0.1 --weight-decay 0.001 --lr-schedule plateau:1:0.5
grep -qx "weight_decay = 0.001" "$work/l2-straight/config.txt" || fail "config.txt does not record weight_decay = 0.001"
expect 0 "weight decay: L2 on the weight matrices; loss = cross-entropy \+ 0.001/2 \|\|W\|\|\^2 \(val_loss is the cross-entropy alone\)" \
  "$bin" train "${common[@]}" --epochs 1 --optimizer sgd --lr 0.1 --weight-decay 0.001 --out "$work/l2-header"

echo "== a new --weight-decay on resume is applied and listed"
expect 0 "changed on resume: .*weight_decay 0.001 -> 0.002" \
  "$bin" train --resume "$work/l2-straight/last.ckpt" --data "$data" --epochs 4 --weight-decay 0.002 --out "$work/l2-more"
grep -qx "weight_decay = 0.002" "$work/l2-more/config.txt" || fail "the resumed run does not record weight_decay = 0.002"

echo "== a resume from adam to adamw is refused"
expect 0 "Epoch 1/1" "$bin" train "${common[@]}" --epochs 1 --out "$work/adam"
expect 2 "trained with adam, this run asks for adamw" \
  "$bin" train --resume "$work/adam/last.ckpt" --data "$data" --epochs 2 --optimizer adamw --weight-decay 0.01

echo "== without the new options nothing new is recorded"
! grep -q "weight_decay\|lr_schedule" "$work/adam/config.txt" || fail "a default run records weight_decay or lr_schedule"

echo "== weight decay lowers the final weight norm (sgd: L2; adamw: decoupled)"
# sum of squares of a float32 .npy (version 1: the header length is bytes 8-9, little-endian)
norm2() {
  local len
  len=$(od -An -tu1 -j8 -N2 "$1" | awk '{ print $1 + 256 * $2 }')
  od -An -v -tf4 -j $((10 + len)) "$1" | awk '{ for (i = 1; i <= NF; i++) s += $i * $i } END { printf "%.6f\n", s }'
}
for pair in "sgd --lr 0.1:0.05" "adamw --lr 0.01:0.5"; do  # lr lambda = 0.005 per step, 16 steps
  opts=${pair%%:*} lambda=${pair##*:}
  name=${opts%% *}
  # shellcheck disable=SC2086
  "$bin" train "${common[@]}" --epochs 2 --optimizer $opts --out "$work/norm-$name-0" > /dev/null
  # shellcheck disable=SC2086
  "$bin" train "${common[@]}" --epochs 2 --optimizer $opts --weight-decay "$lambda" --out "$work/norm-$name-wd" > /dev/null
  "$bin" export --model "$work/norm-$name-0/last.ckpt" --out "$work/norm-$name-0/E" > /dev/null
  "$bin" export --model "$work/norm-$name-wd/last.ckpt" --out "$work/norm-$name-wd/E" > /dev/null
  for W in dense1.W dense2.W; do
    a=$(norm2 "$work/norm-$name-0/E/$W.npy") b=$(norm2 "$work/norm-$name-wd/E/$W.npy")
    echo "$name: ||$W||^2 = $a without, $b with --weight-decay $lambda"
    awk -v a="$a" -v b="$b" 'BEGIN { exit !(b < 0.95 * a) }' || fail "$name: --weight-decay $lambda did not lower ||$W||^2 ($a -> $b)"
  done
done
echo "optim_mnist.sh: all checks passed"
