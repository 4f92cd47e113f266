#!/usr/bin/env bash
# Measures whole training epochs of the reference network 784-128-10 (Adam, batch 128
# and 32) on real MNIST and prints a table; with PyTorch available (Debian's
# python3-torch, the system /usr/bin/python3), trains the same network there in the same
# run and prints the ratio. docs/performance.md explains the figures.
#
#   tools/bench.sh                 4 epochs per configuration, threads 1 and 2
#   EPOCHS=6 THREADS="1" tools/bench.sh
#   BUILD=build/h-perf2 tools/bench.sh   use an existing build folder instead of build/release
#
# Figures are medians over epochs 2..N (epoch 1 also sizes every buffer). "epoch s" is
# wall-clock training time without validation; "cpu s" is the CPU time of all threads in
# that epoch (on a busy machine, a one-thread run's CPU time is what its wall time would
# be on a quiet one). A benchmark: it prints, it never fails a test, ctest never runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

epochs="${EPOCHS:-4}"
threads_list="${THREADS:-1 2}"
build="${BUILD:-build/release}"
python=/usr/bin/python3

# ---- Build (release preset) and data ----
# (stderr is kept for errors; CMake's "GLOB mismatch!" notes, when files were added, are not.)
if [ "$build" = build/release ]; then
  [ -f build/release/build.ninja ] || cmake --preset release >/dev/null
  cmake --build --preset release --target chainrule bench_train >/dev/null 2> >(grep -v 'GLOB mismatch' >&2)
else
  cmake --build "$build" --target chainrule bench_train >/dev/null 2> >(grep -v 'GLOB mismatch' >&2)
fi
data=data/mnist
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  [ -f "$data/$f" ] || [ -f "$data/$f.gz" ] || { tools/fetch_mnist.sh "$data"; break; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# value KEY FILE: the first number after "KEY " in a bench output file.
value() { awk -v k="$1" '$1 == k { print $2; exit }' "$2"; }

rows=()
# row LABEL FILE: one table row from a bench_train or torch_mnist output file.
row() {
  local f="$2"
  rows+=("$(printf '%-26s %8s %8s %9s %8s %8s %9s' "$1" "$(value epoch_s_median "$f")" \
    "$(value epoch_cpu_s_median "$f")" "$(value step_us "$f")" "$(value gflops "$f")" \
    "$(awk '$1 == "val_s" { v = $3 } END { print v }' "$f")" "$(value peak_rss_mib "$f")")")
}

echo "chainrule bench: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $epochs epochs per run"
echo "FLOPs of the products: $(awk 'BEGIN { printf "%.2f", 60000 * 2 * (2*784*128 + 3*128*10) / 1e9 }') GFLOP per epoch (any batch size)"
for batch in 128 32; do
  for t in $threads_list; do
    out="$work/ours-$batch-$t"
    "$build/bench_train" --data "$data" --batch "$batch" --epochs "$epochs" --threads "$t" >"$out"
    row "chainrule b$batch t$t" "$out"
    if [ "$t" != 1 ]; then
      OMP_WAIT_POLICY=passive "$build/bench_train" --data "$data" --batch "$batch" --epochs "$epochs" --threads "$t" >"$out.passive"
      row "chainrule b$batch t$t passive" "$out.passive"
    fi
  done
done

# The CLI end to end: peak RSS of `chainrule train` (10000 validation images each epoch included).
run="$work/run"
/usr/bin/time -f '%M %e' -o "$work/time" "$build/chainrule" train --data "$data" --epochs 3 --batch 128 \
  --threads 1 --out "$run" >/dev/null
read -r rss_kib wall <"$work/time"
history_epoch="$(awk -F, 'NR > 1 { print $NF }' "$run/history.csv" | tail -n +2 | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"

have_torch=0
if "$python" -c "import torch, numpy" 2>/dev/null; then
  have_torch=1
  for batch in 128 32; do
    for t in 1 0; do
      out="$work/torch-$batch-$t"
      "$python" tools/bench/torch_mnist.py --data "$data" --batch "$batch" --epochs "$epochs" --threads "$t" >"$out"
      label="pytorch b$batch t$(value threads "$out")"
      [ "$t" = 0 ] && label="pytorch b$batch default"
      row "$label" "$out"
    done
  done
fi

echo
printf '%-26s %8s %8s %9s %8s %8s %9s\n' "run" "epoch s" "cpu s" "step us" "GFLOP/s" "val s" "RSS MiB"
printf '%s\n' "${rows[@]}"
echo
echo "chainrule train (CLI, batch 128, 1 thread, 3 epochs): ${wall} s wall, peak RSS $((rss_kib / 1024)) MiB," \
  "median epoch incl. validation (history.csv, epochs 2..3) ${history_epoch} s"
if [ "$have_torch" = 1 ]; then
  for batch in 128 32; do
    ours="$work/ours-$batch-1" theirs="$work/torch-$batch-1"
    awk -v b="$batch" -v o="$(value epoch_s_median "$ours")" -v p="$(value epoch_s_median "$theirs")" \
      -v oc="$(value epoch_cpu_s_median "$ours")" -v pc="$(value epoch_cpu_s_median "$theirs")" \
      'BEGIN { printf "ours / PyTorch, batch %s, 1 thread each: %.2f (wall), %.2f (CPU time)\n", b, o / p, oc / pc }'
    # The fastest epoch of each side, whatever its thread setting (the files of this run).
    best_ours="$(for f in "$work"/ours-"$batch"-*; do value epoch_s_median "$f"; done | sort -g | head -n 1)"
    best_theirs="$(for f in "$work"/torch-"$batch"-*; do value epoch_s_median "$f"; done | sort -g | head -n 1)"
    awk -v b="$batch" -v o="$best_ours" -v p="$best_theirs" \
      'BEGIN { printf "ours / PyTorch, batch %s, fastest setting of each: %.3f s / %.3f s = %.2f\n", b, o, p, o / p }'
  done
  echo "PyTorch's BLAS: $("$python" -c "import torch; print(*sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l}))")"
else
  echo "PyTorch comparison skipped: /usr/bin/python3 cannot import torch and numpy"
fi
