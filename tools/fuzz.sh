#!/usr/bin/env bash
# Fuzzes the IDX parser (tests/fuzz/fuzz_idx.cpp) with libFuzzer under ASan and UBSan.
#
#   tools/fuzz.sh [SECONDS=60]
#
# Builds build/fuzz with clang++, runs for SECONDS on a copy of tests/fuzz/corpus,
# prints the number of executions, and exits non-zero if the fuzzer found a crash
# (the input is saved under build/fuzz/artifacts/). Without clang++ it prints a skip line.
set -euo pipefail

seconds="${1:-60}"
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

sanitizers="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
cmake -S "$repo_root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$clang" -DCMAKE_CXX_FLAGS="$sanitizers" \
  -DCHAINRULE_FUZZ=ON -DCHAINRULE_OPENMP=OFF -DCHAINRULE_BENCH=OFF >/dev/null
cmake --build "$build" --target fuzz_idx -j 2

corpus="$build/corpus"
mkdir -p "$corpus" "$build/artifacts"
cp -n "$repo_root"/tests/fuzz/corpus/* "$corpus"/ 2>/dev/null || true

log="$build/fuzz_idx.log"
echo "Fuzzing parse_idx for $seconds s (log: $log) ..."
status=0
"$build/fuzz_idx" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$build/artifacts/" >"$log" 2>&1 || status=$?

runs="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)"
if [[ -z "$runs" ]]; then  # no final stats after a crash: take the last progress line
  runs="$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)"
fi
echo "fuzz_idx: ${runs:-unknown} executions in about $seconds s, corpus now $(ls "$corpus" | wc -l) inputs"

if [[ $status -ne 0 ]]; then
  echo "fuzz.sh: FAILED, the fuzzer found a problem (exit $status). Report:" >&2
  grep -E 'ERROR|SUMMARY|runtime error|Test unit written|deadly signal' "$log" >&2 || tail -30 "$log" >&2
  exit 1
fi
echo "fuzz.sh: no crash found."
