#!/usr/bin/env bash
# chainrule's test command (README): installs what is missing, fetches real MNIST,
# then configures, builds and runs every test with the release preset and again
# with the asan preset (AddressSanitizer + UndefinedBehaviorSanitizer), runs the
# unit tests once more built without -march=native (the kernels' portable path, as on a
# CPU without AVX-512), runs the MPI tests when Open MPI is installed (cmake --preset mpi;
# as root it installs Open MPI), and runs the three fuzzers (IDX, checkpoint, PGM) briefly.
# Warnings are errors here.
#
#   tools/test.sh                 everything
#   tools/test.sh --preset release   one preset only (release, debug or asan), no portable or mpi build
#   tools/test.sh --no-fuzz       skip the fuzzers
set -euo pipefail
cd "$(dirname "$0")/.."

presets=(release asan)
portable=1
fuzz=1
while [ $# -gt 0 ]; do
  case "$1" in
    --preset) presets=("${2:?--preset needs a name: release, debug or asan}"); portable=0; shift 2 ;;
    --no-fuzz) fuzz=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "tools/test.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done

# shellcheck source=tools/deps.sh
source tools/deps.sh
chainrule_ensure_packages

echo "== fetching real MNIST (tools/fetch_mnist.sh)"
tools/fetch_mnist.sh
export CHAINRULE_REQUIRE_MNIST=1   # the real-data tests must run, not skip

jobs=$(nproc 2>/dev/null || echo 2)
for preset in "${presets[@]}"; do
  echo "== $preset: configure, build, test"
  cmake --preset "$preset" -DCHAINRULE_WERROR=ON >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  ctest --preset "$preset" -j "$jobs"
done

# The MPI build (-DCHAINRULE_MPI=ON): the chainrule program only, and its mpi-labelled tests.
mpi=0
if [ "$portable" = 1 ] && chainrule_ensure_mpi; then
  echo "== mpi: train --data-parallel under mpirun (CHAINRULE_MPI=ON)"
  cmake --preset mpi -DCHAINRULE_WERROR=ON >/dev/null
  cmake --build --preset mpi -j "$jobs"   # chainrule only
  ctest --preset mpi
  mpi=1
fi

if [ "$portable" = 1 ]; then
  echo "== portable: unit tests built without -march=native (CHAINRULE_NATIVE=OFF)"
  cmake --preset portable -DCHAINRULE_WERROR=ON >/dev/null
  cmake --build --preset portable -j "$jobs"   # chainrule_tests only
  build/portable/chainrule_tests
fi

if [ "$fuzz" = 1 ]; then
  echo "== fuzzing the IDX parser, the checkpoint decoder and the PGM reader (tools/fuzz.sh)"
  tools/fuzz.sh 60
fi
echo "== tools/test.sh: all passed (${presets[*]}$([ "$portable" = 1 ] && echo ", portable")$([ "$mpi" = 1 ] && echo ", mpi"))"
