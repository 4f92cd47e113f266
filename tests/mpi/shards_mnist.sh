#!/usr/bin/env bash
# --shards P on 2000 real MNIST images, one process (no MPI needed):
#   --shards 1 is the plain run, bit for bit, and config.txt does not mention shards;
#   --shards 2 differs from the plain run by float rounding only (the sum's order changed);
#   --shards 2 is recorded as "shards = 2", kept by --resume, and resumes bit-exact.
#   tests/mpi/shards_mnist.sh CHAINRULE_BINARY MNIST_DIR WORK_DIR
# Exits 77 (skipped) when MNIST is missing, unless CHAINRULE_REQUIRE_MNIST=1 (then fails).
set -euo pipefail
bin=$1 data=$2 work=$3
here=$(dirname "$0")
# shellcheck source=tests/support/require_mnist.sh
source "$here/../support/require_mnist.sh"
require_mnist shards_mnist.sh "$data"
rm -rf "$work" && mkdir -p "$work"
fail() { echo "shards_mnist.sh: $*" >&2; exit 1; }
common=(--data "$data" --limit 2000 --batch 100 --seed 5 --progress lines --threads 1 --log-grads 4)
strip() { cut -d, -f1-5 "$1"; }  # history.csv without its seconds column
export_run() { "$bin" export --model "$1/last.ckpt" --data "$data" --out "$1/export" >/dev/null; }
same_weights() {
  local f
  for f in "$1"/export/*.npy; do cmp "$f" "$2/export/$(basename "$f")" || fail "$(basename "$f"): $1 and $2 differ"; done
  [[ "$(strip "$1/history.csv")" == "$(strip "$2/history.csv")" ]] || fail "history.csv: $1 and $2 differ"
}

echo "== plain, --shards 1 and --shards 2, 2 epochs"
"$bin" train "${common[@]}" --epochs 2 --out "$work/plain"
"$bin" train "${common[@]}" --epochs 2 --shards 1 --out "$work/one"
"$bin" train "${common[@]}" --epochs 2 --shards 2 --out "$work/two" | tee "$work/two.log"
for r in plain one two; do export_run "$work/$r"; done
same_weights "$work/plain" "$work/one"
cmp "$work/plain/config.txt" "$work/one/config.txt" || fail "--shards 1 changed config.txt"
cmp "$work/plain/steps.csv" "$work/one/steps.csv" || fail "--shards 1 changed steps.csv"
grep -q "^shards" "$work/plain/config.txt" && fail "a plain run's config.txt mentions shards"
grep -qx "shards = 2" "$work/two/config.txt" || fail "config.txt does not record shards = 2"
grep -q "data parallel: each batch in 2 shard(s), all in this process" "$work/two.log" || fail "no data-parallel header"
diff=$("$here/npy_maxdiff.sh" "$work/plain/export" "$work/two/export")
echo "largest |plain - shards 2| weight difference after 2 epochs: $diff"
awk -v d="$diff" 'BEGIN { exit !(d < 1e-4) }' || fail "--shards 2 is $diff away from the plain run: more than rounding"

echo "== --shards 2: 1 epoch, then resume (without --shards) to 2"
"$bin" train "${common[@]}" --epochs 1 --shards 2 --out "$work/resumed"
"$bin" train --resume "$work/resumed/last.ckpt" --data "$data" --epochs 2 --progress lines | tee "$work/resume.log"
grep -q "data parallel: each batch in 2 shard(s)" "$work/resume.log" || fail "the resume did not keep --shards 2"
export_run "$work/resumed"
same_weights "$work/two" "$work/resumed"
cmp "$work/two/steps.csv" "$work/resumed/steps.csv" || fail "steps.csv differs after the resume"
echo "shards_mnist.sh: all checks passed"
