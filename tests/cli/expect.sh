#!/usr/bin/env bash
# Runs a command and checks its exit code and that its output (stdout + stderr) matches a regex.
#   tests/cli/expect.sh EXPECTED_CODE REGEX COMMAND [ARGS...]
# Prints the output, and on a mismatch what was expected; exits 0 when both match, 1 otherwise.
set -u
expected=$1 regex=$2
shift 2
output=$("$@" 2>&1)
code=$?
printf '%s\n' "$output"
if [[ $code -ne $expected ]]; then
  echo "expect.sh: exit code $code, expected $expected: $*" >&2
  exit 1
fi
if ! grep -Eq -- "$regex" <<<"$output"; then
  echo "expect.sh: output does not match /$regex/: $*" >&2
  exit 1
fi
exit 0
