#!/bin/sh
# expect.sh RC PROGRAM NAME PATTERN...: runs `PROGRAM NAME`, asserts its exit code is RC
# and that its output holds every PATTERN (fixed strings). Prints the output when it fails.
rc_wanted=$1 program=$2 name=$3
shift 3
out=$("$program" $name 2>&1)
rc=$?
status=0
if [ "$rc" != "$rc_wanted" ]; then
  echo "expected exit code $rc_wanted, got $rc"
  status=1
fi
for pattern in "$@"; do
  if ! printf '%s\n' "$out" | grep -qF -- "$pattern"; then
    echo "missing from the output: $pattern"
    status=1
  fi
done
if [ $status != 0 ]; then
  echo "---- output of $program $name"
  printf '%s\n' "$out"
fi
exit $status
