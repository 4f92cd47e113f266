#!/usr/bin/env bash
# plot.sh -- draw every picture that a run folder's files allow, with the gnuplot scripts in tools/plots/.
#
#   tools/plot.sh RUN_DIR [--png|--svg|--term]
#
#   --png   (default) write RUN_DIR/plots/*.png
#   --svg   write RUN_DIR/plots/*.svg
#   --term  draw the loss and accuracy curves in this terminal (text), write nothing
#
# Which picture needs which file, and which chainrule command writes that file:
#   loss, accuracy, loss_accuracy   history.csv        chainrule train
#   grad_stats, grad_norms          steps.csv          chainrule train --log-grads EVERY
#   signals                         steps.csv          the same, with its act_std and dz_std columns
#   confusion                       confusion.csv      chainrule evaluate
#   misclassified                   misclassified.csv  chainrule evaluate
#   digits                          digits.csv         chainrule export
#   weights                         weights1.csv       chainrule export
# Pictures whose file is missing are skipped with a note saying which command writes it.
#
# Exit status: 0 when every picture that could be drawn was drawn; 1 when a picture failed or the
# run folder holds no usable file; 2 for a usage error, a missing run folder or a missing gnuplot.
set -euo pipefail

usage() { echo "usage: tools/plot.sh RUN_DIR [--png|--svg|--term]   (e.g. tools/plot.sh runs/mnist-128)"; }

run_dir=""
mode="png"
for arg in "$@"; do
  case "$arg" in
    --png) mode="png" ;;
    --svg) mode="svg" ;;
    --term) mode="term" ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "plot.sh: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
    *)
      if [[ -n "$run_dir" ]]; then echo "plot.sh: give one run folder, not '$run_dir' and '$arg'" >&2; exit 2; fi
      run_dir="$arg" ;;
  esac
done
if [[ -z "$run_dir" ]]; then usage >&2; exit 2; fi
run_dir="${run_dir%/}"

plots_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/plots"   # the .gp scripts

if ! command -v gnuplot > /dev/null 2>&1; then
  echo "plot.sh: gnuplot is not installed. Install it with:  sudo apt-get install gnuplot-nox" >&2
  exit 2
fi
if [[ ! -d "$run_dir" ]]; then
  echo "plot.sh: no run folder '$run_dir' (a training run writes its files into runs/NAME/: chainrule train)" >&2
  exit 2
fi

# has_rows FILE: true when FILE exists and holds at least one data row below its header.
has_rows() { [[ -f "$1" ]] && [[ "$(head -n 2 "$1" | wc -l)" -ge 2 ]]; }

# ---- --term: loss and accuracy as text -----------------------------------------------------------
if [[ "$mode" == "term" ]]; then
  history="$run_dir/history.csv"
  if ! has_rows "$history"; then
    echo "plot.sh: no usable '$history' (chainrule train writes it, one row per epoch)" >&2
    exit 1
  fi
  gnuplot -e "in='$history'; fmt='dumb'" "$plots_dir/loss.gp"
  gnuplot -e "in='$history'; fmt='dumb'" "$plots_dir/accuracy.gp"
  exit 0
fi

# ---- Pictures: name | script | input file | the command that writes the input ---------------------
pictures=(
  "loss|loss.gp|history.csv|chainrule train"
  "accuracy|accuracy.gp|history.csv|chainrule train"
  "loss_accuracy|loss_accuracy.gp|history.csv|chainrule train"
  "grad_stats|grad_stats.gp|steps.csv|chainrule train --log-grads EVERY"
  "grad_norms|grad_norms.gp|steps.csv|chainrule train --log-grads EVERY"
  "signals|signals.gp|steps.csv|chainrule train --log-grads EVERY"
  "confusion|confusion.gp|confusion.csv|chainrule evaluate"
  "misclassified|misclassified.gp|misclassified.csv|chainrule evaluate"
  "digits|digits.gp|digits.csv|chainrule export"
  "weights|weights.gp|weights1.csv|chainrule export"
)

out_dir="$run_dir/plots"
mkdir -p "$out_dir"
drawn=0
skipped=0
failed=0
for entry in "${pictures[@]}"; do
  IFS='|' read -r name script input writer <<< "$entry"
  in_file="$run_dir/$input"
  out_file="$out_dir/$name.$mode"
  if [[ ! -f "$in_file" ]]; then
    echo "skipped  $name.$mode: no $input (written by: $writer)"
    skipped=$((skipped + 1))
    continue
  fi
  if ! has_rows "$in_file"; then
    echo "skipped  $name.$mode: $input has no data rows yet (written by: $writer)"
    skipped=$((skipped + 1))
    continue
  fi
  if [[ "$name" == signals ]] && ! head -n 1 "$in_file" | grep -q ':dz_std'; then
    echo "skipped  $name.$mode: $input has no act_std/dz_std columns (written by an older chainrule train --log-grads; train again)"
    skipped=$((skipped + 1))
    continue
  fi
  if messages=$(gnuplot -e "in='$in_file'; out='$out_file'; fmt='$mode'" "$plots_dir/$script" 2>&1); then
    echo "drew     $out_file  (from $input)"
    drawn=$((drawn + 1))
  else
    echo "FAILED   $name.$mode from $in_file; gnuplot said:" >&2
    printf '%s\n' "$messages" | tail -n 5 | sed 's/^/           /' >&2
    rm -f "$out_file"
    failed=$((failed + 1))
  fi
done

echo "plot.sh: drew $drawn, skipped $skipped, failed $failed (pictures in $out_dir/)"
if [[ $failed -gt 0 ]]; then exit 1; fi
if [[ $drawn -eq 0 ]]; then
  echo "plot.sh: nothing to draw in '$run_dir': none of history.csv, steps.csv, confusion.csv, misclassified.csv, digits.csv, weights1.csv is there" >&2
  rmdir "$out_dir" 2> /dev/null || true
  exit 1
fi
