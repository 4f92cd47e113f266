#!/usr/bin/env bash
# sweep.sh -- a small hyper-parameter grid: every learning rate x weight decay x seed is one
# `chainrule train` run in its own run folder, and one CSV row per run collects the results.
#
#   tools/sweep.sh [--lr LIST] [--weight-decay LIST] [--seeds LIST] [--out DIR] [--chainrule BIN]
#                  [-- TRAIN_OPTIONS...]
#
#   --lr LIST            learning rates, comma-separated          (default 0.0003,0.001,0.003)
#   --weight-decay LIST  weight decays, comma-separated           (default 0,0.0001,0.001)
#   --seeds LIST         seeds, comma-separated                   (default 1,2,3)
#   --out DIR            where the runs and sweep.csv go          (default runs/sweep)
#   --chainrule BIN      the chainrule binary                     (default build/release/chainrule)
#   -- TRAIN_OPTIONS     passed to every run, e.g. -- --optimizer adamw --epochs 5 --limit 10000
#
# Writes DIR/RUN/ (a normal run folder each: history.csv, checkpoints, ...; RUN is
# lr<LR>-wd<WD>-seed<SEED>) and DIR/sweep.csv, one row per run, appended as each run ends:
#   lr,weight_decay,seed,epochs,final_val_loss,final_val_accuracy,best_val_loss,best_val_accuracy,status,run
# final_* are the last epoch's, best_* the lowest val_loss and the highest val_accuracy of any
# epoch; status is ok, or diverged (the run stopped on a non-finite loss; its values are empty).
# Draw it:  gnuplot -e "in='DIR/sweep.csv'; out='DIR/sweep.png'" tools/plots/sweep.gp
#
# The runs validate on a held-out 0.1 of the training set unless TRAIN_OPTIONS give
# --validation: a learning rate chosen by its score on the test set makes that score
# optimistic, like a checkpoint chosen on it. Evaluate the chosen settings on test once, at the end.
# A run folder that already holds a run is refused by chainrule train: give a new --out,
# or pass -- --overwrite.
#
# Exit status: 0 when every run trained (diverged runs count: they are results), 1 when a run
# failed otherwise, 2 for a usage error.
set -euo pipefail

usage() { sed -n '4,14p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "sweep.sh: $*" >&2; exit 2; }

lrs="0.0003,0.001,0.003" wds="0,0.0001,0.001" seeds="1,2,3" out="runs/sweep"
bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/release/chainrule"
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --lr) lrs="${2:?--lr needs a list, e.g. --lr 0.001,0.01}"; shift 2 ;;
    --weight-decay) wds="${2:?--weight-decay needs a list, e.g. --weight-decay 0,0.0001}"; shift 2 ;;
    --seeds) seeds="${2:?--seeds needs a list, e.g. --seeds 1,2,3}"; shift 2 ;;
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    --chainrule) bin="${2:?--chainrule needs the binary}"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) echo "sweep.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

# check_list NAME LIST PATTERN EXAMPLE: a non-empty comma-separated list whose items match PATTERN
check_list() {
  local item
  [[ -n "$2" && "$2" != *, && "$2" != ,* && "$2" != *,,* ]] || die "$1 '$2': give values separated by commas, e.g. $1 $4"
  IFS=',' read -r -a items <<< "$2"
  for item in "${items[@]}"; do
    [[ "$item" =~ $3 ]] || die "$1 '$2': '$item' is not a valid value; e.g. $1 $4"
  done
}
number='^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$'
check_list --lr "$lrs" "$number" 0.001,0.01
check_list --weight-decay "$wds" "$number" 0,0.0001
check_list --seeds "$seeds" '^[0-9]+$' 1,2,3
[[ -x "$bin" ]] || die "no chainrule binary at '$bin': build it (cmake --build --preset release) or give --chainrule BIN"
for arg in "${extra[@]+"${extra[@]}"}"; do
  case "$arg" in
    --lr|--weight-decay|--seed|--out|--name|--resume) die "pass $arg to sweep.sh itself (or not at all), not after --" ;;
  esac
done
validation=(--validation 0.1)
for arg in "${extra[@]+"${extra[@]}"}"; do [[ "$arg" == --validation ]] && validation=(); done

mkdir -p "$out" || die "--out '$out': cannot create the folder"
csv="$out/sweep.csv"
header="lr,weight_decay,seed,epochs,final_val_loss,final_val_accuracy,best_val_loss,best_val_accuracy,status,run"
if [[ -f "$csv" && "$(head -n 1 "$csv")" != "$header" ]]; then die "'$csv' exists and is not a sweep.csv; give another --out"; fi
[[ -f "$csv" ]] || echo "$header" > "$csv"

# summary HISTORY: epochs,final_val_loss,final_val_accuracy,best_val_loss,best_val_accuracy
# (columns found by their header names, wherever they stand)
summary() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
           { e = $col["epoch"]; vl = $col["val_loss"] + 0; va = $col["val_accuracy"] + 0
             if (n == 0 || vl < bl) bl = vl
             if (n == 0 || va > ba) ba = va
             n++; fl = vl; fa = va }
           END { if (n == 0) exit 1; printf "%d,%.6g,%.6g,%.6g,%.6g\n", e, fl, fa, bl, ba }' "$1"
}

IFS=',' read -r -a lr_list <<< "$lrs"
IFS=',' read -r -a wd_list <<< "$wds"
IFS=',' read -r -a seed_list <<< "$seeds"
total=$(( ${#lr_list[@]} * ${#wd_list[@]} * ${#seed_list[@]} ))
count=0 failed=0
for lr in "${lr_list[@]}"; do
  for wd in "${wd_list[@]}"; do
    for seed in "${seed_list[@]}"; do
      count=$((count + 1))
      run="lr$lr-wd$wd-seed$seed"
      echo "== run $count/$total: --lr $lr --weight-decay $wd --seed $seed  ($out/$run)"
      status=ok
      if "$bin" train --lr "$lr" --weight-decay "$wd" --seed "$seed" --out "$out/$run" --progress lines \
           "${validation[@]+"${validation[@]}"}" "${extra[@]+"${extra[@]}"}" > "$out/$run.log" 2>&1; then
        :
      else
        code=$?
        if [[ $code -eq 1 ]] && grep -q "training stopped: the loss is" "$out/$run.log"; then
          status=diverged
        else
          echo "sweep.sh: the run failed (exit $code); its output ($out/$run.log) ends:" >&2
          tail -n 5 "$out/$run.log" >&2
          failed=$((failed + 1))
          continue
        fi
      fi
      grep "^Epoch" "$out/$run.log" | tail -n 1 || true
      if [[ $status == ok ]] && values=$(summary "$out/$run/history.csv"); then
        echo "$lr,$wd,$seed,$values,ok,$run" >> "$csv"
      else
        echo "$lr,$wd,$seed,,,,,,diverged,$run" >> "$csv"
      fi
    done
  done
done
echo "sweep.sh: $((count - failed)) of $total runs in $csv"
echo "draw it:  gnuplot -e \"in='$csv'; out='$out/sweep.png'\" tools/plots/sweep.gp"
[[ $failed -eq 0 ]] || exit 1
