#!/usr/bin/env bash
# Fuzzes the three parsers of untrusted files with libFuzzer under ASan and UBSan:
#   fuzz_idx         parse_idx          (tests/fuzz/fuzz_idx.cpp,        seeds tests/fuzz/corpus)
#   fuzz_pgm         parse_pgm          (tests/fuzz/fuzz_pgm.cpp,        seeds tests/fuzz/corpus_pgm)
#   fuzz_checkpoint  decode_checkpoint  (tests/fuzz/fuzz_checkpoint.cpp, seeds tests/fuzz/corpus_checkpoint)
#
#   tools/fuzz.sh [SECONDS=90] [FUZZER...]
#
# SECONDS is the total, shared equally by the fuzzers run (all three by default, so 90 gives
# 30 s each). Builds build/fuzz with clang++, runs each fuzzer on a copy of its seeds with
# memory capped (-rss_limit_mb=2048, -malloc_limit_mb=1024: a file that makes a parser ask
# for more is a bug), prints the executions of each, and exits non-zero if one found a
# crash (the input is saved under build/fuzz/artifacts/). Without clang++ it prints a skip line.
set -euo pipefail

seconds="${1:-90}"
shift || true
fuzzers=("$@")
[[ ${#fuzzers[@]} -gt 0 ]] || fuzzers=(fuzz_idx fuzz_pgm fuzz_checkpoint)
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$repo_root/build/fuzz"

clang=""
for candidate in clang++ clang++-14 clang++-15 clang++-16 clang++-17 clang++-18; do
  if command -v "$candidate" >/dev/null; then clang="$candidate"; break; fi
done
if [[ -z "$clang" ]]; then
  echo "fuzz.sh: SKIPPED, clang++ not found (libFuzzer needs clang)"
  exit 0
fi

per=$(( seconds / ${#fuzzers[@]} ))
(( per >= 1 )) || per=1

sanitizers="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
cmake -S "$repo_root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$clang" -DCMAKE_CXX_FLAGS="$sanitizers" \
  -DCHAINRULE_FUZZ=ON -DCHAINRULE_OPENMP=OFF -DCHAINRULE_BENCH=OFF >/dev/null
cmake --build "$build" --target "${fuzzers[@]}" -j 2

mkdir -p "$build/artifacts"
failed=()
for fuzzer in "${fuzzers[@]}"; do
  case "$fuzzer" in
    fuzz_idx) seeds="$repo_root/tests/fuzz/corpus" ;;
    fuzz_pgm) seeds="$repo_root/tests/fuzz/corpus_pgm" ;;
    fuzz_checkpoint) seeds="$repo_root/tests/fuzz/corpus_checkpoint" ;;
    *) echo "fuzz.sh: unknown fuzzer '$fuzzer'; use fuzz_idx, fuzz_pgm or fuzz_checkpoint" >&2; exit 2 ;;
  esac
  corpus="$build/corpus/$fuzzer"
  mkdir -p "$corpus"
  cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
  log="$build/$fuzzer.log"
  echo "Fuzzing $fuzzer for $per s (log: $log) ..."
  status=0
  "$build/$fuzzer" "$corpus" -max_total_time="$per" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -max_len=16384 -print_final_stats=1 -artifact_prefix="$build/artifacts/$fuzzer-" >"$log" 2>&1 || status=$?
  runs="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)"
  if [[ -z "$runs" ]]; then  # no final stats after a crash: take the last progress line
    runs="$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)"
  fi
  echo "$fuzzer: ${runs:-unknown} executions in about $per s, corpus now $(ls "$corpus" | wc -l) inputs"
  if [[ $status -ne 0 ]]; then
    echo "fuzz.sh: $fuzzer FAILED, it found a problem (exit $status). Report:" >&2
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written|deadly signal|malloc\(' "$log" >&2 || tail -30 "$log" >&2
    failed+=("$fuzzer")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: no crash found."
