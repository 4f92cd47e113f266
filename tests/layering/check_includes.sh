#!/usr/bin/env bash
# The layering of src/ (docs/architecture.md, "Layers of the house"), checked: every
# #include "chainrule/..." of a unit must name a unit it may depend on. A new arrow that
# points back up fails here with the file and the line.
#   check_includes.sh SRC_DIR
set -u
src=${1:?usage: check_includes.sh SRC_DIR}
# unit: the units it may include (besides itself)
declare -A allowed=(
  [aligned]=""
  [tensor]="aligned"
  [rng]=""
  [text]=""
  [kernels]="aligned tensor"
  [init]="aligned tensor rng"
  [layers]="aligned tensor rng kernels"
  [loss]="aligned tensor kernels layers"
  [penalty]="aligned tensor layers"
  [model]="aligned tensor rng kernels init layers loss"
  [network]="aligned tensor rng text kernels init layers loss model"
  [optim]="aligned tensor kernels layers penalty"
  [gradcheck]="aligned tensor rng kernels init layers loss penalty model"
  [data]="aligned tensor rng kernels"
  [io]="aligned tensor rng kernels layers loss model network optim data"
  [bugs]="aligned tensor rng kernels init layers loss penalty model optim data"
  [train]="aligned tensor rng text kernels init layers loss penalty model network optim data io bugs"
)
unit_of() {  # src/chainrule/layers/dense.cpp -> layers; src/chainrule/loss.cpp -> loss
  local rel=${1#"$src"/chainrule/}
  case "$rel" in
    fast/aligned.hpp) echo aligned ;;  # the tensor's allocator: a leaf
    fast/*) echo kernels ;;            # the kernels' fast path, quarantined in its own folder
    */*) echo "${rel%%/*}" ;;
    *) rel=${rel%.*}; echo "$rel" ;;
  esac
}
status=0
while IFS= read -r -d '' file; do
  from=$(unit_of "$file")
  [[ -v "allowed[$from]" ]] || { echo "check_includes: $file: unit '$from' is not in the layering table"; status=1; continue; }
  while IFS=: read -r line inc; do
    to=$(unit_of "$src/$inc")
    [[ "$to" == "$from" ]] && continue
    if [[ " ${allowed[$from]} " != *" $to "* ]]; then
      echo "check_includes: $file:$line: $from includes $inc ($to), an arrow the layering does not allow"
      status=1
    fi
  done < <(grep -n -o '#include "chainrule/[^"]*"' "$file" | sed 's/#include "//; s/"$//')
done < <(find "$src/chainrule" -name '*.hpp' -print0 -o -name '*.cpp' -print0)
[[ $status == 0 ]] && echo "check_includes: every include in $src/chainrule follows the layering"
exit $status
