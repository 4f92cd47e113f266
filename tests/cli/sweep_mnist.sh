#!/usr/bin/env bash
# tools/sweep.sh on a slice of real MNIST: a 2 x 2 x 1 grid (two learning rates, two weight
# decays, one seed; --limit 500, 1 epoch) writes one sweep.csv row per run whose values are
# those of the run's own history.csv, and tools/plots/sweep.gp draws it (when gnuplot is there).
#   tests/cli/sweep_mnist.sh SOURCE_DIR CHAINRULE_BINARY MNIST_DIR WORK_DIR
# Exits 77 (skipped) when MNIST is missing, unless CHAINRULE_REQUIRE_MNIST=1 (then fails).
set -euo pipefail
src=$1 bin=$2 data=$3 work=$4
here=$(dirname "$0")
# shellcheck source=tests/support/require_mnist.sh
source "$here/../support/require_mnist.sh"
require_mnist sweep_mnist.sh "$data"
rm -rf "$work" && mkdir -p "$work"
fail() { echo "sweep_mnist.sh: $*" >&2; exit 1; }

"$src/tools/sweep.sh" --chainrule "$bin" --lr 0.001,0.01 --weight-decay 0,0.001 --seeds 7 --out "$work/sweep" \
  -- --data "$data" --limit 500 --epochs 1 --batch 50 --threads 1 || fail "sweep.sh failed"
csv="$work/sweep/sweep.csv"
cat "$csv"
[[ "$(head -n 1 "$csv")" == "lr,weight_decay,seed,epochs,final_val_loss,final_val_accuracy,best_val_loss,best_val_accuracy,status,run" ]] ||
  fail "sweep.csv has the wrong header"
[[ $(($(wc -l < "$csv") - 1)) -eq 4 ]] || fail "expected 4 rows, one per run"
for lr in 0.001 0.01; do
  for wd in 0 0.001; do
    row=$(grep "^$lr,$wd,7,1," "$csv") || fail "no row for lr $lr, weight decay $wd, seed 7, 1 epoch"
    IFS=, read -r _ _ _ _ fl fa bl ba status run <<< "$row"
    [[ "$status" == ok && "$run" == "lr$lr-wd$wd-seed7" ]] || fail "row '$row': status or run is wrong"
    # one epoch: final = best, and both equal the run's history.csv (columns by name)
    hist="$work/sweep/$run/history.csv"
    want=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { printf "%.6g,%.6g\n", $c["val_loss"], $c["val_accuracy"] }' "$hist")
    [[ "$fl,$fa" == "$want" && "$bl,$ba" == "$want" ]] || fail "row '$row' does not match $hist ($want)"
    awk -v a="$fa" 'BEGIN { exit !(a > 0.1 && a <= 1) }' || fail "val accuracy $fa is not above chance"
    grep -qx "lr = $lr" "$work/sweep/$run/config.txt" || fail "$run did not train with lr $lr"
    grep -q "holdout 0.1 of train" "$work/sweep/$run/config.txt" || fail "$run did not validate on a held-out 0.1"
    if [[ $wd == 0 ]]; then ! grep -q "^weight_decay" "$work/sweep/$run/config.txt" || fail "$run records a weight decay"
    else grep -qx "weight_decay = $wd" "$work/sweep/$run/config.txt" || fail "$run did not train with weight decay $wd"; fi
  done
done
# The weight decay changed the runs: the two rows of one lr differ.
[[ "$(grep '^0.01,0,' "$csv" | cut -d, -f5)" != "$(grep '^0.01,0.001,' "$csv" | cut -d, -f5)" ]] ||
  fail "weight decay 0.001 gave the same val_loss as 0"

echo "== bad grids are refused before any run"
if msg=$("$src/tools/sweep.sh" --chainrule "$bin" --lr 0.001,,0.01 --out "$work/bad" 2>&1); then fail "an empty list item was accepted"; fi
grep -q -- "--lr '0.001,,0.01': give values separated by commas" <<< "$msg" || fail "no message for the bad --lr list: $msg"
if msg=$("$src/tools/sweep.sh" --chainrule "$bin" --weight-decay -1 --out "$work/bad" 2>&1); then fail "a negative weight decay was accepted"; fi
grep -q -- "'-1' is not a valid value" <<< "$msg" || fail "no message for the negative weight decay: $msg"
if msg=$("$src/tools/sweep.sh" --chainrule "$bin" --out "$work/bad" -- --lr 0.1 2>&1); then fail "--lr after -- was accepted"; fi
grep -q -- "pass --lr to sweep.sh itself" <<< "$msg" || fail "no message for --lr after --: $msg"
[[ ! -e "$work/bad/sweep.csv" ]] || fail "a refused sweep wrote sweep.csv"

if command -v gnuplot > /dev/null 2>&1; then
  echo "== sweep.gp draws it"
  gnuplot -e "in='$csv'; out='$work/sweep.png'" "$src/tools/plots/sweep.gp" || fail "sweep.gp failed"
  [[ "$(head -c 8 "$work/sweep.png" | od -An -tx1 | tr -d ' \n')" == "89504e470d0a1a0a" ]] || fail "sweep.gp wrote no PNG"
  [[ $(wc -c < "$work/sweep.png") -gt 20000 ]] || fail "sweep.png is nearly empty"
fi
echo "sweep_mnist.sh: all checks passed"
