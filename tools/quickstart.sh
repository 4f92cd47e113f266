#!/usr/bin/env bash
# chainrule's main job (README): install what is missing, build the release preset,
# fetch real MNIST, and run the gradient check of every layer and of 784-128-10.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=tools/deps.sh
source tools/deps.sh
chainrule_ensure_packages

echo "== building (release preset)"
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc 2>/dev/null || echo 2)" --target chainrule

echo "== fetching real MNIST"
tools/fetch_mnist.sh

echo "== checking every backward pass numerically"
build/release/chainrule gradcheck
