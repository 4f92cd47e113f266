#!/usr/bin/env bash
# chainrule doctor on awkward run folders: FIFOs in place of its files (must not hang),
# CRLF line ends, a header-only history.csv, a steps.csv whose last line was cut short.
#   tests/cli/doctor_files.sh CHAINRULE_BINARY WORK_DIR
set -euo pipefail
bin=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
fail() { echo "doctor_files.sh: $*" >&2; exit 1; }
expect() { "$(dirname "$0")/expect.sh" "$@"; }
header='epoch,loss,accuracy,val_loss,val_accuracy,seconds'
two_epochs() { printf '%s\n1,2.0,0.30,1.9,0.40,1.0\n2,1.0,0.70,0.9,0.75,1.0\n' "$header" >"$1/history.csv"; }

for f in history.csv config.txt diagnostics.txt; do
  echo "== $f is a FIFO: exit 2 naming it, no hang"
  d="$work/fifo-$f" && mkdir -p "$d"
  [[ $f == history.csv ]] || two_epochs "$d"
  mkfifo "$d/$f"
  expect 2 "'$d/$f' is a FIFO" timeout 10 "$bin" doctor "$d"
done

echo "== CRLF history.csv reads like LF"
d="$work/crlf" && mkdir -p "$d"
two_epochs "$d" && sed -i 's/$/\r/' "$d/history.csv"
expect 0 "no problem found" "$bin" doctor "$d"

echo "== header-only history.csv: nothing to judge yet (not 'the loss falls')"
d="$work/header" && mkdir -p "$d"
printf '%s\n' "$header" >"$d/history.csv"
expect 0 "nothing to judge yet: no epoch is recorded" "$bin" doctor "$d"
"$bin" doctor "$d" | grep -q "the loss falls" && fail "doctor says the loss falls with no epoch recorded"

echo "== steps.csv with a cut-short last line: the whole lines are read"
d="$work/partial" && mkdir -p "$d"
{
  echo "step,epoch,loss,dense1.W:grad_norm,relu1:dead_fraction,softmax_saturation"
  for s in $(seq 1 30); do echo "$s,1,$(awk -v s="$s" 'BEGIN { printf "%.4f", 2.3 - s * 0.05 }'),0.5,0.1,0.1"; done
  printf '31,1,0.7'
} >"$d/steps.csv"
expect 0 "30 logged steps from steps.csv \(its cut-short last line ignored\)" "$bin" doctor "$d"
echo "doctor_files.sh: all checks passed"
