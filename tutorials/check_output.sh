#!/bin/sh
# Usage: check_output.sh PROGRAM README.md
#
# Runs PROGRAM and checks that its standard output is EXACTLY the text of the
# README's fenced blocks whose info string is "text output", joined in order:
#
#     ```text output
#     loss = 0.1234
#     ```
#
# Other fenced blocks (```cpp, ```sh, plain ```text) are not checked.
# On a mismatch it prints a unified diff (--- README, +++ program) and fails.
# A program that exits with status 77 cannot run here (e.g. real MNIST is missing):
# its output is shown and this script exits 77 too, which ctest reports as skipped
# (SKIP_RETURN_CODE 77 in tutorials/CMakeLists.txt).
set -u
program=$1
readme=$2

work=$(mktemp -d) || exit 2
trap 'rm -rf "$work"' EXIT

awk '
  /^```text output[ \t]*$/ { inside = 1; blocks++; next }
  inside && /^```[ \t]*$/  { inside = 0; next }
  inside                   { print }
  END { if (inside) { print "check_output: a ```text output block is not closed" > "/dev/stderr"; exit 3 }
        if (blocks == 0) { print "check_output: no ```text output block in the README" > "/dev/stderr"; exit 3 } }
' "$readme" > "$work/expected" || { echo "check_output: cannot read the output blocks of $readme"; exit 1; }

"$program" > "$work/actual"
status=$?
if [ $status -eq 77 ]; then
  cat "$work/actual"
  echo "check_output: skipped: $program exited with status 77 (something it needs is missing; see above)"
  exit 77
fi
if [ $status -ne 0 ]; then
  echo "check_output: $program exited with status $status"
  cat "$work/actual"
  exit 1
fi

if diff -u --label "README ($readme)" --label "program ($program)" "$work/expected" "$work/actual"; then
  echo "check_output: the program printed exactly what the README shows ($(wc -l < "$work/actual") lines)"
  exit 0
fi
echo "check_output: the program's output differs from the README's \`\`\`text output blocks (diff above)."
echo "  Either the lesson's numbers are stale or the program changed; see tutorials/README.md."
exit 1
