#!/usr/bin/env bash
# Asserts a training-pipeline bug's signature on real MNIST (docs/bugs.md):
#   check_pipeline_bug.sh CHAINRULE DATA_DIR WORK_DIR BUG EXPECTED_FINDING
# trains 250 steps (8000 images, batch 32) with the bug switched on, then expects
# - `chainrule train` itself to state EXPECTED_FINDING (a [finding-id]) in plain words, and
# - `chainrule doctor` to name EXPECTED_FINDING as the first (most specific) cause.
# BUG "none" with EXPECTED_FINDING "none": a clean run, where doctor must find nothing.
# Exits 77 (skipped) when MNIST is missing, unless CHAINRULE_REQUIRE_MNIST=1.
set -u
bin=$1 data=$2 work=$3 bug=$4 want=$5
# shellcheck source=tests/support/require_mnist.sh
source "$(dirname "$0")/../support/require_mnist.sh"
require_mnist check_pipeline_bug.sh "$data"
run="$work/bug-$bug"
rm -rf "$run"
args=(train --data "$data" --limit 8000 --batch 32 --epochs 1 --log-grads 5 --progress lines --out "$run")
[ "$bug" != none ] && args+=(--inject-bug "$bug")
train_out=$("$bin" "${args[@]}" 2>&1)
code=$?
doctor_out=$("$bin" doctor "$run" 2>&1)
status=0
if [ "$code" != 0 ]; then echo "FAIL: train exited $code"; status=1; fi
if [ "$want" = none ]; then
  grep -q "no problem found" <<<"$doctor_out" || { echo "FAIL: doctor found a problem in a clean run"; status=1; }
  grep -q "warning:" <<<"$train_out" && { echo "FAIL: train warned about a clean run"; status=1; }
else
  first=$(grep -E '^  1\. ' <<<"$doctor_out")
  grep -q "\[$want\]" <<<"$first" || { echo "FAIL: doctor's first cause is not [$want]: $first"; status=1; }
  grep -q "\[$want\]" <<<"$train_out" || { echo "FAIL: train did not state [$want]"; status=1; }
fi
if [ $status != 0 ]; then printf -- '---- train ----\n%s\n---- doctor ----\n%s\n' "$train_out" "$doctor_out"; fi
exit $status
