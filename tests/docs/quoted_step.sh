#!/usr/bin/env bash
# tutorials/10-training/README.md quotes train_step; the quote must be the function itself.
#   quoted_step.sh SOURCE_DIR
set -u
root=${1:?usage: quoted_step.sh SOURCE_DIR}
extract() { awk '/^StepResult train_step\(/ { on = 1 } on { print } on && /^}$/ { exit }' "$1"; }
source_text=$(extract "$root/src/chainrule/train/step.cpp")
quoted=$(extract "$root/tutorials/10-training/README.md")
if [[ -z "$source_text" ]]; then echo "quoted_step: train_step not found in src/chainrule/train/step.cpp"; exit 1; fi
if [[ "$source_text" != "$quoted" ]]; then
  echo "quoted_step: tutorials/10-training/README.md no longer quotes train_step as step.cpp has it:"
  diff <(echo "$quoted") <(echo "$source_text")
  exit 1
fi
echo "quoted_step: tutorial 10 quotes train_step exactly ($(wc -l <<<"$source_text") lines)"
