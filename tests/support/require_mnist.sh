# Sourced by the shell tests that need real MNIST:
#   source tests/support/require_mnist.sh; require_mnist NAME DATA_DIR
# Returns when DATA_DIR holds the four MNIST files (either name spelling, raw or .gz).
# Otherwise exits 77, which ctest reports as skipped, or 1 when CHAINRULE_REQUIRE_MNIST=1
# (CI sets it, so that a missing download fails instead of skipping).
require_mnist() {
  local name=$1 data=$2 f
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    local dotted=${f/-idx/.idx}  # the other spelling: train-images.idx3-ubyte
    if [[ ! -e "$data/$f" && ! -e "$data/$f.gz" && ! -e "$data/$dotted" && ! -e "$data/$dotted.gz" ]]; then
      if [[ "${CHAINRULE_REQUIRE_MNIST:-0}" == 1 ]]; then
        echo "$name: MNIST ($f) is missing from $data and CHAINRULE_REQUIRE_MNIST=1; run tools/fetch_mnist.sh" >&2
        exit 1
      fi
      echo "$name: MNIST ($f) not found in $data; skipped (tools/fetch_mnist.sh fetches it)"
      exit 77
    fi
  done
}
