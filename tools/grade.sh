#!/usr/bin/env bash
# Grades the backward passes you wrote in tutorials/exercises/ (tutorials/exercises/README.md):
# builds your files against the library (release preset) and runs the gradient checker on them.
#
#   tools/grade.sh                 every exercise, then a summary
#   tools/grade.sh dense           one exercise (dense relu sigmoid softmax_cross_entropy
#                                  softmax_jacobian dropout batchnorm mse network conv2d maxpool2d)
#   tools/grade.sh --list          the exercises
#   tools/grade.sh --solutions     the same grader on tutorials/exercises/solutions/ (don't peek)
# Exit code: 0 when every graded exercise passes, 1 when one fails, 2 when your code does not build.
set -uo pipefail
cd "$(dirname "$0")/.."

target=chainrule_grade
args=()
for a in "$@"; do
  case "$a" in
    --solutions) target=chainrule_grade_solutions ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) args+=("$a") ;;
  esac
done

if [ ! -f build/release/build.ninja ]; then
  cmake --preset release >/dev/null || exit 2
fi
if ! out=$(cmake --build --preset release --target "$target" 2>&1); then
  printf '%s\n' "$out" | grep -E 'error|Error' | head -n 20
  echo "tools/grade.sh: your exercise files do not compile (the first errors above)" >&2
  exit 2
fi
exec "build/release/$target" "${args[@]}"
