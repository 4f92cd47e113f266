#!/usr/bin/env bash
# Asserts a bug's gradient-check signature (docs/bugs.md):
#   check_gradcheck_bug.sh CHAINRULE BUG EXPECTED_EXIT [REGEX...]
# runs `chainrule gradcheck --inject-bug BUG`, expects that exit code, and expects
# every REGEX to match a line of the report (e.g. a FAIL row naming a tensor).
set -u
bin=$1 bug=$2 want=$3
shift 3
out=$("$bin" gradcheck --inject-bug "$bug" 2>&1)
code=$?
status=0
if [ "$code" != "$want" ]; then
  echo "FAIL: gradcheck --inject-bug $bug exited $code, expected $want"
  status=1
fi
for re in "$@"; do
  if ! grep -Eq -- "$re" <<<"$out"; then
    echo "FAIL: no line of the report matches: $re"
    status=1
  fi
done
if [ $status != 0 ]; then echo "---- report ----"; echo "$out"; fi
exit $status
