#!/usr/bin/env bash
# mpirun -np P chainrule train --data-parallel, against chainrule train --shards P (one process),
# on 2000 real MNIST images. One check per call:
#   tests/mpi/data_parallel.sh CHAINRULE_BINARY MNIST_DIR WORK_DIR same P    bit-identical weights and history after 1 epoch
#   tests/mpi/data_parallel.sh ... resume P   a P-rank run resumed by P ranks, and by one process, = --shards P straight
#   tests/mpi/data_parallel.sh ... kill P     killing one rank ends the whole run within 10 s, non-zero
#   tests/mpi/data_parallel.sh ... fail P     a rank that fails (a bad option on rank 0 only) stops every rank, naming it
#   tests/mpi/data_parallel.sh ... mismatch P --shards other than P is refused by every rank
# Exits 77 (skipped) when MNIST is missing, unless CHAINRULE_REQUIRE_MNIST=1 (then fails).
set -euo pipefail
bin=$1 data=$2 work=$3 check=$4 P=$5
here=$(dirname "$0")
# shellcheck source=tests/support/require_mnist.sh
source "$here/../support/require_mnist.sh"
require_mnist data_parallel.sh "$data"
rm -rf "$work" && mkdir -p "$work"
fail() { echo "data_parallel.sh: $*" >&2; exit 1; }
mpi=(mpirun -np "$P" --oversubscribe)          # 4 ranks on 2 cores is fine
[[ "$(id -u)" == 0 ]] && mpi+=(--allow-run-as-root)  # CI runs as root
# In containers the kernel may refuse the cross-process memory copies Open MPI's shared-memory
# transport tries first (it prints "Read -1, expected ..."): copy through shared memory instead.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
common=(--data "$data" --limit 2000 --batch 128 --seed 7 --progress lines --threads 1)
strip() { cut -d, -f1-5 "$1"; }  # history.csv without its seconds column
same_weights() {  # same_weights RUN_A RUN_B: the exported .npy files are identical byte for byte
  "$bin" export --model "$1/last.ckpt" --data "$data" --out "$1/export" >/dev/null
  "$bin" export --model "$2/last.ckpt" --data "$data" --out "$2/export" >/dev/null
  local n=0 f
  for f in "$1"/export/*.npy; do
    cmp "$f" "$2/export/$(basename "$f")" || fail "$(basename "$f") differs between $1 and $2"
    n=$((n + 1))
  done
  [[ $n -ge 4 ]] || fail "export wrote only $n .npy files"
  [[ "$(strip "$1/history.csv")" == "$(strip "$2/history.csv")" ]] || fail "history.csv differs between $1 and $2"
  echo "identical: $1 and $2 ($n weight files, history.csv)"
}

case "$check" in
  same)
    "${mpi[@]}" "$bin" train "${common[@]}" --epochs 1 --data-parallel --out "$work/mpi" | tee "$work/mpi.log"
    grep -q "data parallel: each batch in $P shard(s), one per MPI rank" "$work/mpi.log" || fail "no data-parallel header"
    [[ $(grep -c "^Epoch 1/1" "$work/mpi.log") == 1 ]] || fail "more than rank 0 printed the epoch line"
    grep -qx "shards = $P" "$work/mpi/config.txt" || fail "config.txt does not record shards = $P"
    "$bin" train "${common[@]}" --epochs 1 --shards "$P" --out "$work/shards"
    same_weights "$work/mpi" "$work/shards"
    ;;
  resume)
    "${mpi[@]}" "$bin" train "${common[@]}" --epochs 1 --data-parallel --out "$work/mpi"
    cp -r "$work/mpi" "$work/mpi-copy"
    echo "== $P ranks resume $P ranks' checkpoint"
    "${mpi[@]}" "$bin" train --resume "$work/mpi/last.ckpt" --data "$data" --epochs 2 --data-parallel --progress lines
    echo "== one process resumes $P ranks' checkpoint (its settings keep shards = $P)"
    "$bin" train --resume "$work/mpi-copy/last.ckpt" --data "$data" --epochs 2 --progress lines --out "$work/one"
    echo "== --shards $P straight for 2 epochs"
    "$bin" train "${common[@]}" --epochs 2 --shards "$P" --out "$work/straight"
    same_weights "$work/mpi" "$work/straight"
    same_weights "$work/one" "$work/straight"
    ;;
  kill)
    # A run long enough to be killed in the middle: all 60000 images, 1000 epochs (on a quiet
    # machine two ranks take about 0.1 s an epoch, so 5 epochs could end before the kill).
    "${mpi[@]}" "$bin" train --data "$data" --epochs 1000 --progress lines --threads 1 --data-parallel \
      --out "$work/killed" >"$work/kill.log" 2>&1 &
    runner=$!
    victim=
    for _ in $(seq 1 600); do  # up to 60 s for the ranks to start training
      if grep -q "data parallel" "$work/kill.log" 2>/dev/null; then
        for pid in $(pgrep -P "$runner" || true); do  # mpirun's children: the ranks
          if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$((P - 1))"; then victim=$pid; fi
        done
      fi
      [[ -n "$victim" ]] && break
      sleep 0.1
    done
    [[ -n "$victim" ]] || { kill "$runner" 2>/dev/null || true; cat "$work/kill.log"; fail "found no rank $((P - 1)) to kill"; }
    sleep 1
    echo "== killing rank $((P - 1)) (pid $victim)"
    start=$(date +%s.%N)
    kill -KILL "$victim" || { cat "$work/kill.log"; fail "rank $((P - 1)) (pid $victim) had already ended"; }
    code=0
    for _ in $(seq 1 100); do kill -0 "$runner" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$runner" 2>/dev/null; then
      kill -KILL "$runner" 2>/dev/null || true
      cat "$work/kill.log"
      fail "the run was still going 10 s after rank $((P - 1)) was killed"
    fi
    wait "$runner" || code=$?
    took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    cat "$work/kill.log"
    [[ $code != 0 ]] || fail "mpirun exited 0 after a rank was killed"
    grep -qi "rank $((P - 1))" "$work/kill.log" || fail "no message names rank $((P - 1))"
    echo "the run ended $took s after the kill, exit code $code"
    ;;
  fail)
    # Rank 0 alone meets a run folder that holds another run; the other ranks never look.
    mkdir -p "$work/taken" && echo "epoch,loss" >"$work/taken/history.csv"
    set +e
    timeout 60 "${mpi[@]}" "$bin" train "${common[@]}" --epochs 1 --data-parallel --out "$work/taken" >"$work/fail.log" 2>&1
    code=$?
    set -e
    cat "$work/fail.log"
    [[ $code != 124 ]] || fail "the run hung (killed by timeout after 60 s)"
    [[ $code != 0 ]] || fail "the run exited 0 although rank 0 failed"
    grep -q "chainrule: rank 0 of $P failed" "$work/fail.log" || fail "no message names rank 0"
    ;;
  mismatch)
    # Every rank refuses --shards that is not the number of ranks, before any data is read.
    set +e
    timeout 60 "${mpi[@]}" "$bin" train "${common[@]}" --epochs 1 --data-parallel --shards $((P + 1)) \
      --out "$work/mismatch" >"$work/mismatch.log" 2>&1
    code=$?
    set -e
    cat "$work/mismatch.log"
    [[ $code != 124 && $code != 0 ]] || fail "exit code $code: expected a prompt failure"
    grep -q -- "--shards $((P + 1)) with --data-parallel under $P MPI rank(s)" "$work/mismatch.log" ||
      fail "the message does not explain the --shards mismatch"
    [[ ! -e "$work/mismatch/history.csv" ]] || fail "a refused run wrote history.csv"
    ;;
  *) fail "unknown check '$check'" ;;
esac
