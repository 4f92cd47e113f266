#!/usr/bin/env bash
# One run per folder (docs/cli.md, "The run folder"), without MNIST: every check below
# happens before the data is read.
#   tests/cli/run_folder.sh CHAINRULE_BINARY WORK_DIR
set -euo pipefail
bin=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
fail() { echo "run_folder.sh: $*" >&2; exit 1; }
expect() { "$(dirname "$0")/expect.sh" "$@"; }
command -v flock >/dev/null || { echo "run_folder.sh: flock (util-linux) is missing; skipped"; exit 77; }

echo "== a folder locked by another process: exit 2 at once, naming its PID"
mkdir -p "$work/busy"
flock "$work/busy/run.lock" sh -c 'echo $$ > "$1"; exec sleep 30' sh "$work/busy/run.lock" &
holder=$!
for _ in $(seq 50); do [[ -s "$work/busy/run.lock" ]] && break; sleep 0.1; done
pid=$(cat "$work/busy/run.lock")
expect 2 "--out: run folder '$work/busy' is in use by another run \(PID $pid," \
  "$bin" train --data "$work/no-mnist" --out "$work/busy" || { kill "$holder"; fail "a second run was not refused"; }
kill "$holder"
wait "$holder" 2>/dev/null || true
[[ ! -e "$work/busy/config.txt" ]] || fail "the refused run wrote config.txt"

echo "== a folder holding a run, without --resume: refused, with the ways out"
mkdir -p "$work/done"
printf 'lr = 5\n' >"$work/done/config.txt"
printf 'epoch,loss,accuracy,val_loss,val_accuracy,seconds\n' >"$work/done/history.csv"
expect 2 "--out: run folder '$work/done' already holds a run \(config.txt, history.csv\); continue it with --resume $work/done/last.ckpt, give another --out or --name, or pass --overwrite" \
  "$bin" train --data "$work/no-mnist" --out "$work/done"
grep -q "lr = 5" "$work/done/config.txt" || fail "the refused run touched config.txt"

echo "== --overwrite gets past the check (and then stops at the missing data; the old run is kept until a run really starts)"
expect 2 "MNIST folder not found" "$bin" train --data "$work/no-mnist" --out "$work/done" --overwrite
[[ -e "$work/done/config.txt" && ! -e "$work/done/run.lock" ]] || fail "a run that never started changed the folder"

echo "== a refused run leaves no folder behind"
expect 2 "MNIST folder not found" "$bin" train --data "$work/no-mnist" --out "$work/new"
[[ ! -e "$work/new" ]] || fail "a run that never started left $work/new"
echo "run_folder.sh: all checks passed"
