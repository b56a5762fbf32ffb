#!/usr/bin/env bash
# Compiles and links the native addon for arm64 (aarch64 Linux) with Debian's cross compiler, as
# a check that the portable path builds there: every x86 kernel sits behind #if defined(__x86_64__),
# and arm64 runs the generic GEMM and scalar loops. Nothing is run (that needs an arm64 Node).
#
#   apt-get install -y g++-aarch64-linux-gnu     # once
#   tools/cross-compile-arm64.sh [--out FILE]    # exit status 0 when every file compiles and links
#
# --out keeps the linked addon (tools/arm64-check.sh runs it under qemu).
# Warnings fail the check too (-Werror), and the linked addon must leave no randlab symbol undefined.
set -euo pipefail
keep=""
if [[ "${1:-}" == "--out" ]]; then keep=$(realpath -m "$2"); fi
cd "$(dirname "$0")/.."
cxx=${CXX_AARCH64:-aarch64-linux-gnu-g++}
command -v "$cxx" >/dev/null || { echo "cross-compile-arm64: $cxx not found (apt-get install -y g++-aarch64-linux-gnu)" >&2; exit 2; }
node_include=$(node -p "require('path').join(process.execPath, '..', '..', 'include', 'node')")
addon_include=$(node -p "require('node-addon-api').include_dir")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for source in native/src/*.cc; do
  "$cxx" -std=c++17 -O2 -Wall -Wextra -Werror -fPIC -pthread -DNAPI_VERSION=8 -DNAPI_DISABLE_CPP_EXCEPTIONS \
    -I"$node_include" -I"$addon_include" -Inative/src -c "$source" -o "$out/$(basename "$source" .cc).o"
done
"$cxx" -shared -pthread -o "$out/randlab_native.node" "$out"/*.o
undefined=$("${cxx%g++}nm" -uC "$out/randlab_native.node" | grep 'randlab::' || true)
if [[ -n "$undefined" ]]; then
  echo "cross-compile-arm64: undefined randlab symbols:" >&2
  echo "$undefined" >&2
  exit 1
fi
file "$out/randlab_native.node" | sed "s|$out/||"
if [[ -n "$keep" ]]; then mkdir -p "$(dirname "$keep")" && cp "$out/randlab_native.node" "$keep"; fi
echo "cross-compile-arm64: $(ls native/src/*.cc | wc -l) files compiled and linked for aarch64"
