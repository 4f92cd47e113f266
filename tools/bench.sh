#!/usr/bin/env bash
# chainrule against PyTorch on OpenBLAS, the same training in the same run: whole epochs of
# the reference network 784-128-10 (Adam, batch 128) on real MNIST, for each kernel path
# this CPU can run (AVX-512, AVX2 + FMA), one thread each and each side's best setting.
# docs/performance.md explains the figures; its tables are this script's output.
#
#   tools/bench.sh                        every path, batch 128, 3 rounds of 4 epochs
#   REPS=5 EPOCHS=6 BATCHES="128 32" tools/bench.sh
#   KERNELS="avx2" tools/bench.sh         one path only (avx512, avx2, portable)
#   BUILD=build/mybuild tools/bench.sh    an existing build folder instead of build/release
#   PORTABLE=1 tools/bench.sh             also the portable binary (a build without
#                                          -march=native: build/portable) against this one
#   LENET=0 tools/bench.sh                skip the LeNet-5 section (LENET_REPS rounds of
#                                          LENET_EPOCHS epochs: 2 and 2 by default)
#
# The anchor. PyTorch (Debian's python3-torch, the system /usr/bin/python3) runs its products
# through whatever libblas.so.3 the system resolves; with only libblas3 installed that is the
# reference BLAS, ten times slower than OpenBLAS, and a ratio against it would flatter
# chainrule: the script then prints no ratio. As root it installs what the anchor needs
# (tools/deps.sh, CHAINRULE_BENCH_PACKAGES); otherwise it says what to install. It prints the
# OpenBLAS version and the core OpenBLAS chose (OPENBLAS_VERBOSE=2), and runs PyTorch on the
# OpenBLAS kernels that match each of chainrule's paths: OPENBLAS_CORETYPE=SkylakeX against
# AVX-512, Haswell against AVX2 + FMA.
#
# Fair measuring on a busy machine. The runs are interleaved (ours, theirs, ours, theirs ...,
# REPS rounds), so that the machine's noise falls on both sides, and every figure is the
# median over all rounds of epochs 2..EPOCHS (epoch 1 also sizes every buffer). Both sides do
# the same work: "steps" is the training part of an epoch (469 steps at batch 128); "steps+val"
# adds the forward pass over the 10000 test images that follows each epoch. "1 thread" pins
# both sides to one thread (PyTorch: torch and OpenBLAS); "best" is each side's fastest
# setting of those tried (chainrule: 1 thread, `--threads 0` and every core; PyTorch: one
# thread, and its own default). A benchmark: it prints, it never fails a test, ctest never runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

epochs="${EPOCHS:-4}"
reps="${REPS:-3}"
batches="${BATCHES:-128}"
build="${BUILD:-build/release}"
python=/usr/bin/python3
cores="$(nproc)"

# ---- Build (release preset) and data ----
# (stderr is kept for errors; CMake's "GLOB mismatch!" notes, when files were added, are not.)
quiet_build() { cmake --build "$@" >/dev/null 2> >(grep -v 'GLOB mismatch' >&2); }
if [ "$build" = build/release ]; then
  [ -f build/release/build.ninja ] || cmake --preset release >/dev/null
  quiet_build --preset release --target chainrule bench_train
else
  quiet_build "$build" --target chainrule bench_train
fi
portable_build=build/portable  # the portable preset: release without -march=native
if [ "${PORTABLE:-0}" = 1 ]; then
  [ -f "$portable_build/build.ninja" ] || cmake --preset portable >/dev/null
  quiet_build "$portable_build" --target bench_train
fi
data=data/mnist
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  [ -f "$data/$f" ] || [ -f "$data/$f.gz" ] || { tools/fetch_mnist.sh "$data"; break; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# ---- chainrule's kernel paths on this CPU ----
flags="$(grep -m1 '^flags' /proc/cpuinfo || true)"
has_flag() { [[ " $flags " == *" $1 "* ]]; }
if [ -n "${KERNELS:-}" ]; then
  paths="$KERNELS"
else
  paths=""
  has_flag avx512f && paths+=" avx512"
  has_flag avx2 && has_flag fma && paths+=" avx2"
  [ -n "$paths" ] || paths=" portable"
fi
# The OpenBLAS kernels that match a path of ours (none for the portable path: no ratio).
coretype_for() {
  case "$1" in
    avx512) echo SkylakeX ;;
    avx2) echo Haswell ;;
    *) echo "" ;;
  esac
}

echo "chainrule bench: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $cores cores," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  $reps interleaved rounds of $epochs epochs per setting, batch ${batches// /, }; kernel paths:$paths"
echo "  FLOPs of the products: $(awk 'BEGIN { printf "%.2f", 60000 * 2 * (2*784*128 + 3*128*10) / 1e9 }') GFLOP per epoch of steps (nominal), $(awk 'BEGIN { printf "%.3f", 10000 * 2 * (784*128 + 128*10) / 1e9 }') GFLOP per validation"
echo "  $build/bench_train: $(env -u CHAINRULE_KERNELS "$build/bench_train" --info 1 | tr '\n' ' ')"

# ---- The anchor: PyTorch on OpenBLAS ----
# shellcheck source=tools/deps.sh
source tools/deps.sh
missing="$(chainrule_missing_packages "${CHAINRULE_BENCH_PACKAGES[@]}")"
have_torch=0 honest=0
if [ -n "$missing" ] && [ "$(id -u)" -eq 0 ]; then
  chainrule_ensure_packages "${CHAINRULE_BENCH_PACKAGES[@]}"
  missing=""
fi
if [ -n "$missing" ]; then
  echo "PyTorch anchor: missing Debian packages: $missing"
  echo "  install them with: sudo apt-get install -y $missing"
  echo "  (without root: apt-get download libopenblas0-pthread; dpkg-deb -x libopenblas0-pthread_*.deb /tmp/openblas;"
  echo "   then run with LD_LIBRARY_PATH=/tmp/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread)"
fi
if "$python" -c "import torch, numpy" 2>/dev/null; then
  have_torch=1
  # With OPENBLAS_CORETYPE unset: the core OpenBLAS picks for this CPU by itself.
  env -u OPENBLAS_CORETYPE OPENBLAS_VERBOSE=2 OPENBLAS_NUM_THREADS=1 "$python" tools/bench/torch_mnist.py --blas-info \
    >"$work/blas" 2>"$work/blas.err" || true
  blas_lib="$(awk '$1 == "blas_library" { $1 = ""; printf "%s%s", sep, substr($0, 2); sep = ", " }' "$work/blas")"
  echo "PyTorch $(awk '$1 == "torch" { print $2 }' "$work/blas"), BLAS: ${blas_lib:-none found}"
  if grep -q '^openblas_config' "$work/blas"; then
    honest=1
    echo "  $(awk '$1 == "openblas_config" { $1 = ""; print substr($0, 2); exit }' "$work/blas")"
    echo "  the core OpenBLAS chooses by itself (OPENBLAS_VERBOSE=2): $(grep -m1 -i 'core' "$work/blas.err" | sed 's/^ *//' || echo '?')"
    [ -z "${OPENBLAS_CORETYPE:-}" ] ||
      echo "  (this environment sets OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE; the runs below set it for each path)"
    for p in $paths; do
      ct="$(coretype_for "$p")"
      [ -n "$ct" ] || continue
      got="$(OPENBLAS_VERBOSE=2 OPENBLAS_CORETYPE="$ct" OPENBLAS_NUM_THREADS=1 "$python" -c "import torch" 2>&1 | grep -m1 -i 'core' | sed 's/^ *//' || true)"
      echo "  against chainrule's $p path: OPENBLAS_CORETYPE=$ct ($got)"
    done
  else
    echo "  NOT OpenBLAS: PyTorch runs on the reference BLAS here, so no ratio is printed."
    echo "  Install OpenBLAS (as root: apt-get install libopenblas0-pthread) and run again."
  fi
else
  echo "PyTorch comparison skipped: /usr/bin/python3 cannot import torch and numpy"
fi

# ---- The runs, interleaved ----
# Each setting: a label, then the command. Its output files are $work/LABEL.REP.
labels=() commands=()
add() { labels+=("$1"); shift; commands+=("$*"); }
for batch in $batches; do
  for p in $paths; do
    ct="$(coretype_for "$p")"
    ours="CHAINRULE_KERNELS=$p $build/bench_train --data $data --batch $batch --epochs $epochs"
    theirs="OPENBLAS_CORETYPE=$ct $python tools/bench/torch_mnist.py --data $data --batch $batch --epochs $epochs"
    add "ours-$p-b$batch-t1" "$ours --threads 1"
    [ "$have_torch" = 1 ] && [ -n "$ct" ] && add "torch-$p-b$batch-t1" "$theirs --threads 1"
    add "ours-$p-b$batch-t0" "$ours --threads 0"
    [ "$cores" -gt 1 ] && add "ours-$p-b$batch-t$cores" "$ours --threads $cores"
    [ "$have_torch" = 1 ] && [ -n "$ct" ] && add "torch-$p-b$batch-default" "$theirs --threads 0"
    if [ "${PORTABLE:-0}" = 1 ]; then
      add "portable-$p-b$batch-t1" "CHAINRULE_KERNELS=$p $portable_build/bench_train --data $data --batch $batch --epochs $epochs --threads 1"
    fi
  done
done
for rep in $(seq 1 "$reps"); do
  for i in "${!labels[@]}"; do
    # shellcheck disable=SC2086  # a command line of words without spaces, split on purpose
    env ${commands[$i]} >"$work/${labels[$i]}.$rep"
  done
done

# ---- Medians ----
# pooled KEY LABEL: the values of "KEY E S" for epochs E >= 2 of every round.
pooled() { cat "$work/$2".* | awk -v k="$1" '$1 == k && $2 >= 2 { print $3 }'; }
# pooled_sum LABEL: epoch_s + val_s per epoch >= 2 of every round.
pooled_sum() {
  for f in "$work/$1".*; do
    awk '$1 == "epoch_s" && $2 >= 2 { e[$2] = $3 } $1 == "val_s" && $2 >= 2 { v[$2] = $3 }
         END { for (k in e) print e[k] + v[k] }' "$f"
  done
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) printf "%.4f\n", v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
first() { awk -v k="$1" '$1 == k { print $2; exit }' "$work/$2.1"; }
declare -A steps both
for l in "${labels[@]}"; do
  steps[$l]="$(pooled epoch_s "$l" | median)"
  both[$l]="$(pooled_sum "$l" | median)"
done

# Single-core FP32 peak of a path: FMA units x lanes x 2 FLOP x clock. PEAK_GHZ defaults to
# the clock /proc/cpuinfo reports (a virtual machine may not show the boost clock).
ghz="${PEAK_GHZ:-$(awk -F: '/cpu MHz/ { printf "%.2f", $2 / 1000; exit }' /proc/cpuinfo)}"
# An AMD Zen 4 (family 25 with AVX-512) runs a 512-bit FMA as two 256-bit halves: one
# 512-bit FMA per cycle, two 256-bit ones. FMA_UNITS_512 overrides the AVX-512 count.
fma_units="${FMA_UNITS:-2}"
fma_units_512="$fma_units"
if grep -q '^vendor_id.*AuthenticAMD' /proc/cpuinfo && grep -q '^cpu family[[:space:]]*: 25$' /proc/cpuinfo &&
  grep -q '^flags.* avx512f' /proc/cpuinfo; then
  fma_units_512=1
fi
fma_units_512="${FMA_UNITS_512:-$fma_units_512}"
peak_of() {  # GFLOP/s of one core on a path's vectors (empty for the portable path)
  case "$1" in
    *avx512*) awk -v g="$ghz" -v u="$fma_units_512" 'BEGIN { printf "%.0f", u * 16 * 2 * g }' ;;
    *avx2*) awk -v g="$ghz" -v u="$fma_units" 'BEGIN { printf "%.0f", u * 8 * 2 * g }' ;;
    *) echo "" ;;
  esac
}
# The FLOPs of steps+validation: nominal (every multiply-add of the shapes) and done (after
# zero skipping; bench_train counts them on its batches). PyTorch does the nominal work.
flops_of() {  # flops_of LABEL nominal|done
  local ours="$1"
  [[ "$ours" == torch-* ]] && ours="ours-${1#torch-}" && ours="${ours%-default}" && ours="${ours%-t1}-t1"
  if [ "$2" = nominal ] || [[ "$1" == torch-* ]]; then
    awk -v a="$(first gflop_per_epoch "$ours")" -v b="$(first gflop_val "$ours")" 'BEGIN { print a + b }'
  else
    awk -v a="$(first gflop_done_per_epoch "$ours")" -v b="$(first gflop_val_done "$ours")" 'BEGIN { print a + b }'
  fi
}
echo
echo "GFLOP per epoch of steps+validation (${labels[0]}): nominal $(flops_of "${labels[0]}" nominal)," \
  "done after zero skipping $(flops_of "${labels[0]}" "done"); single-core FP32 peak at $ghz GHz: AVX-512 $(peak_of avx512) ($fma_units_512 FMA/cycle), AVX2 $(peak_of avx2) ($fma_units FMA/cycle) GFLOP/s"
printf '%-28s %8s %9s %7s %8s %9s %9s %9s %8s\n' "run (medians)" "steps s" "+val s" "threads" "step us" \
  "GFLOP/s" "done/s" "%peak" "RSS MiB"
for l in "${labels[@]}"; do
  steps_per_epoch="$(first steps_per_epoch "$l")"
  nominal="$(flops_of "$l" nominal)" done_="$(flops_of "$l" "done")" peak="$(peak_of "$l")"
  printf '%-28s %8s %9s %7s %8s %9s %9s %9s %8s\n' "$l" "${steps[$l]}" "${both[$l]}" "$(first threads "$l")" \
    "$(awk -v s="${steps[$l]}" -v n="$steps_per_epoch" 'BEGIN { printf "%.1f", 1e6 * s / n }')" \
    "$(awk -v s="${both[$l]}" -v g="$nominal" 'BEGIN { printf "%.1f", g / s }')" \
    "$(awk -v s="${both[$l]}" -v g="$done_" 'BEGIN { printf "%.1f", g / s }')" \
    "$(awk -v s="${both[$l]}" -v g="$nominal" -v d="$done_" -v p="$peak" \
        'BEGIN { if (p == "") print "-"; else printf "%.0f/%.0f", 100 * g / s / p, 100 * d / s / p }')" \
    "$(cat "$work/$l".* | awk '$1 == "peak_rss_mib" && $2 > m { m = $2 } END { print m }')"
done
echo "(GFLOP/s: nominal FLOPs of steps+validation / their time; done/s: the FLOPs done after zero skipping;"
echo " %peak: both as a share of one core's peak on the path's vectors, nominal/done)"

# Where chainrule's one-thread step goes, per phase (bench_train's phase_us, median of the rounds).
echo
echo "chainrule, 1 thread, µs per step by phase (median of the rounds):"
for batch in $batches; do
  for p in $paths; do
    l="ours-$p-b$batch-t1"
    printf '  %-22s' "$p b$batch"
    for phase in make_batch zero_grad forward loss_forward loss_backward backward probe optimizer accuracy; do
      printf ' %s %s' "$phase" "$(cat "$work/$l".* | awk -v k="$phase" '$1 == "phase_us" && $2 == k { print $3 }' | median | awk '{ printf "%.1f", $1 }')"
    done
    echo
  done
done

# The best of a side: the label with the smallest figure among those given.
best_of() {
  local -n t="$1"
  local l b="" bl=""
  shift
  for l in "$@"; do
    [ -f "$work/$l.1" ] || continue
    if [ -z "$b" ] || awk -v x="${t[$l]}" -v y="$b" 'BEGIN { exit !(x < y) }'; then b="${t[$l]}" bl="$l"; fi
  done
  echo "$bl"
}
ratio_line() {  # ratio_line WHAT TABLE OURS THEIRS
  local -n t="$2"
  awk -v w="$1" -v o="${t[$3]}" -v p="${t[$4]}" -v ol="$3" -v pl="$4" \
    'BEGIN { printf "    %-10s %.3f s / %.3f s = %.2f   (%s / %s)\n", w, o, p, o / p, ol, pl }'
}
echo
if [ "$have_torch" = 1 ] && [ "$honest" = 1 ]; then
  for batch in $batches; do
    for p in $paths; do
      ct="$(coretype_for "$p")"
      [ -n "$ct" ] || { echo "chainrule $p, batch $batch: no OpenBLAS kernels to match, no ratio"; continue; }
      echo "chainrule ($p) / PyTorch (OpenBLAS $ct), batch $batch:"
      echo "  1 thread each:"
      ratio_line steps steps "ours-$p-b$batch-t1" "torch-$p-b$batch-t1"
      ratio_line steps+val both "ours-$p-b$batch-t1" "torch-$p-b$batch-t1"
      echo "  best setting of each:"
      for what in steps both; do
        o="$(best_of "$what" "ours-$p-b$batch-t1" "ours-$p-b$batch-t0" "ours-$p-b$batch-t$cores")"
        t="$(best_of "$what" "torch-$p-b$batch-t1" "torch-$p-b$batch-default")"
        ratio_line "$([ "$what" = both ] && echo steps+val || echo steps)" "$what" "$o" "$t"
      done
    done
  done
elif [ "$have_torch" = 1 ]; then
  echo "No ratio: PyTorch runs on the reference BLAS ($blas_lib), not OpenBLAS (see above)."
fi
if [ "${PORTABLE:-0}" = 1 ]; then
  for batch in $batches; do
    for p in $paths; do
      awk -v p="$p" -v b="$batch" -v o="${both["portable-$p-b$batch-t1"]}" -v n="${both["ours-$p-b$batch-t1"]}" \
        -v name="$build" 'BEGIN { printf "portable binary / %s, path %s, batch %s, 1 thread, steps+val: %.3f s / %.3f s = %.3f\n", name, p, b, o, n, o / n }'
    done
  done
fi

# ---- LeNet-5: chainrule's `--model lenet5` against the same network in PyTorch ----
# bench_train --model lenet5 runs the step of `chainrule train --model lenet5` (the MLP's harness,
# call for call); tools/bench/torch_lenet5.py the same network in PyTorch, with its convolutions
# on oneDNN (PyTorch's default) and, as a second setting, on its im2col path over OpenBLAS
# (--conv blas): the ratio is against the faster of the two. One thread each, batch 128, on the
# first kernel path above (and its OpenBLAS core), interleaved rounds, medians of epochs 2..N.
# "CPU s" is the CPU time of the steps of an epoch (all threads): on a busy machine, near what
# the wall clock of a quiet one would show.
if [ "${LENET:-1}" != 0 ]; then
  lenet_epochs="${LENET_EPOCHS:-2}" lenet_reps="${LENET_REPS:-2}"
  lp="${paths# }" && lp="${lp%% *}"
  lct="$(coretype_for "$lp")"
  lenet_labels=() lenet_commands=()
  ladd() { lenet_labels+=("$1"); shift; lenet_commands+=("$*"); }
  ladd "ours-lenet5-$lp-t1" "CHAINRULE_KERNELS=$lp $build/bench_train --model lenet5 --data $data --batch 128 --epochs $lenet_epochs --threads 1"
  if [ "$have_torch" = 1 ] && [ -n "$lct" ]; then
    for conv in onednn blas; do
      ladd "torch-lenet5-$conv-t1" "OPENBLAS_CORETYPE=$lct $python tools/bench/torch_lenet5.py --data $data --batch 128 --epochs $lenet_epochs --threads 1 --conv $conv"
    done
  fi
  for rep in $(seq 1 "$lenet_reps"); do
    for i in "${!lenet_labels[@]}"; do
      # shellcheck disable=SC2086  # a command line of words without spaces, split on purpose
      env ${lenet_commands[$i]} >"$work/${lenet_labels[$i]}.$rep"
    done
  done
  declare -A lenet_cpu
  for l in "${lenet_labels[@]}"; do
    steps[$l]="$(pooled epoch_s "$l" | median)"
    both[$l]="$(pooled_sum "$l" | median)"
    lenet_cpu[$l]="$(pooled epoch_cpu_s "$l" | median)"
  done
  echo
  echo "LeNet-5 ($(first model "ours-lenet5-$lp-t1")), batch 128, 1 thread each, path $lp:" \
    "$lenet_reps interleaved rounds of $lenet_epochs epochs, medians of epochs 2..$lenet_epochs"
  echo "  nominal GFLOP: $(first gflop_per_epoch "ours-lenet5-$lp-t1") per epoch of steps, $(first gflop_val "ours-lenet5-$lp-t1") per validation"
  printf '%-28s %8s %9s %8s %9s %9s %8s %10s\n' "run (medians)" "steps s" "+val s" "ms/step" "GFLOP/s" "CPU s" "RSS MiB" "val acc"
  for l in "${lenet_labels[@]}"; do
    printf '%-28s %8s %9s %8s %9s %9s %8s %10s\n' "$l" "${steps[$l]}" "${both[$l]}" \
      "$(awk -v s="${steps[$l]}" -v n="$(first steps_per_epoch "$l")" 'BEGIN { printf "%.2f", 1e3 * s / n }')" \
      "$(awk -v s="${steps[$l]}" -v g="$(first gflop_per_epoch "$l")" 'BEGIN { printf "%.1f", g / s }')" \
      "${lenet_cpu[$l]}" \
      "$(cat "$work/$l".* | awk '$1 == "peak_rss_mib" && $2 > m { m = $2 } END { print m }')" \
      "$(awk -v e="$lenet_epochs" '$1 == "val_accuracy" && $2 == e { print $3 }' "$work/$l.1")"
  done
  if [ "$have_torch" = 1 ] && [ "$honest" = 1 ] && [ -n "$lct" ]; then
    echo "chainrule ($lp) / PyTorch (the faster of oneDNN and OpenBLAS $lct convolutions), LeNet-5, batch 128, 1 thread each (target <= 0.5):"
    for what in steps both; do
      t="$(best_of "$what" torch-lenet5-onednn-t1 torch-lenet5-blas-t1)"
      ratio_line "$([ "$what" = both ] && echo steps+val || echo steps)" "$what" "ours-lenet5-$lp-t1" "$t"
    done
    t="$(best_of lenet_cpu torch-lenet5-onednn-t1 torch-lenet5-blas-t1)"
    ratio_line "steps CPU" lenet_cpu "ours-lenet5-$lp-t1" "$t"
  elif [ "$have_torch" = 1 ]; then
    echo "No LeNet-5 ratio: PyTorch runs on the reference BLAS, or path $lp has no OpenBLAS kernels to match (see above)."
  fi
fi

# The CLI end to end: peak RSS of `chainrule train` (10000 validation images each epoch included).
run="$work/run"
/usr/bin/time -f '%M %e' -o "$work/time" "$build/chainrule" train --data "$data" --epochs 3 --batch 128 \
  --threads 1 --out "$run" >"$work/train.log"
read -r rss_kib wall <"$work/time"
echo
echo "chainrule train (CLI, batch 128, 1 thread, 3 epochs): ${wall} s wall, peak RSS $((rss_kib / 1024)) MiB;" \
  "its first line: $(head -n 1 "$work/train.log")"
