#!/usr/bin/env bash
# Runs the gradient checker on seeds 1 to LAST (default 1000) and prints the worst margin of
# each side: how close correct code came to failing, and how close each mistake came to passing.
#
#   tools/gradcheck_seeds.sh [LAST=1000] [BUILD=build/release]
#
# 1. `chainrule gradcheck --seeds 1-LAST`: the whole standard suite, 784-128-10 included,
#    must pass on every seed.
# 2. chainrule_gradcheck_teeth 1 LAST: a relative slip of 1e-6 in each entry (|a| >= 1% of
#    its tensor's largest) of each tensor of the 6-5-3 network, and each gradient bug of the
#    zoo, must fail on every seed; correct code and relu-mask-from-output must pass.
#    A bug that fails these small checks fails `chainrule gradcheck --inject-bug NAME --seed N`,
#    so this is the whole zoo on every seed, at a fraction of the cost of the full suite.
# Takes about 6 minutes for 1000 seeds on a 2-core machine. Exits 1 if anything went wrong.
set -euo pipefail
last="${1:-1000}"
build="${2:-build/release}"
cd "$(dirname "$0")/.."
bin="$build/chainrule"
teeth="$build/chainrule_gradcheck_teeth"
for f in "$bin" "$teeth"; do
  [[ -x "$f" ]] || { echo "gradcheck_seeds.sh: $f not found; build first: cmake --preset release && cmake --build --preset release" >&2; exit 2; }
done
[[ "$last" =~ ^[1-9][0-9]*$ ]] || { echo "gradcheck_seeds.sh: LAST must be a whole number >= 1, not '$last'" >&2; exit 2; }

status=0
echo "== 1. correct code, the whole suite, seeds 1-$last"
"$bin" gradcheck --seeds "1-$last" || status=1

echo "== 2. single-entry slips of 1e-6 and the bug zoo (small checks), seeds 1-$last"
"$teeth" 1 "$last" || status=1

[[ $status == 0 ]] && echo "gradcheck_seeds.sh: every correct check passed and every mistake was caught on seeds 1-$last"
exit $status
