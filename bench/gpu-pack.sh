#!/usr/bin/env bash
# Packs what bench/gpu.sh needs on a GPU machine that has no Node and no package registry, into
# .gpu/ (git-ignored). Run here, in a built checkout (after `npm ci`), then hand the device tool
#   carry: [".gpu", "dist", "build"]   command: bash bench/gpu.sh
# What travels, and why this way:
# - node.xz: this machine's own Node 20 binary. Debian's `nodejs` package is Node 18 (bookworm), and
#   the installed Node 20 comes from NodeSource and cannot be fetched with `apt-get download`; the
#   binary needs only glibc and libstdc++, which every CUDA image has. better-sqlite3's addon is
#   built for Node 20's ABI, so the Node must be this one.
# - node_modules.tar.xz: the production dependencies (`npm ls --omit=dev`), without the other
#   platforms' WebGPU binaries, better-sqlite3's sources, source maps and docs: about 17 MB.
# - debs/: the Vulkan loader (libvulkan1), which Dawn opens to reach the NVIDIA driver; amd64
#   packages whatever this machine is (the device tool's README describes the same step).
# - bench/*.mjs: bench/webgpu-gemm.ts and bench/gpu-summary.ts bundled with esbuild, since tsx does
#   not travel. They sit two folders below the checkout's root, as dist/kernels does, so the GEMM
#   benchmark finds build/Release.
# The whole tree that travels must stay under the device tool's 64 MiB; the script prints the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
pack=.gpu
rm -rf "$pack" && mkdir -p "$pack/debs" "$pack/bench"

node_binary=$(command -v node)
case "$(node --version)" in
  v20.*) ;;
  *) echo "bench/gpu-pack.sh: needs Node 20 here (found $(node --version) at $node_binary)" >&2; exit 1 ;;
esac
echo "packing $node_binary ($(node --version))"
xz -T0 -6 -c "$node_binary" >"$pack/node.xz"

echo "packing the production node_modules"
npm ls --omit=dev --all --parseable 2>/dev/null | sed "s|^$root/||" | grep '^node_modules/' |
  awk -F/ '{ if ($2 ~ /^@/) print $1"/"$2"/"$3; else print $1"/"$2 }' | sort -u >"$pack/packages.txt"
tar -cJf "$pack/node_modules.tar.xz" \
  --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' \
  --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='node_modules/better-sqlite3/deps' \
  --exclude='node_modules/better-sqlite3/src' --exclude='node_modules/better-sqlite3/build/Release/obj*' \
  --exclude='node_modules/better-sqlite3/build/Release/.deps' --exclude='*.map' --exclude='*.md' \
  -T "$pack/packages.txt"

echo "downloading the Vulkan loader (amd64)"
apt_lists=$(mktemp -d)
mkdir -p "$apt_lists/partial"
apt_options=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$apt_lists")
apt-get "${apt_options[@]}" update >/dev/null
(cd "$pack/debs" && apt-get "${apt_options[@]}" download libvulkan1 >/dev/null)
rm -rf "$apt_lists"

for script in webgpu-gemm gpu-summary; do
  echo "bundling bench/$script.ts"
  npx esbuild "bench/$script.ts" --bundle --platform=node --format=esm --packages=external \
    --outfile="$pack/bench/$script.mjs" --log-level=warning
done

for needed in dist/cli/main.js build/Release/randlab_native.node; do
  [ -f "$needed" ] || { echo "bench/gpu-pack.sh: $needed is missing: run npm ci (or npm run build) first" >&2; exit 1; }
done
du -sh "$pack" dist build
echo "tracked files: $(git ls-files -z | du -ch --files0-from=- | tail -1 | cut -f1)"
echo "ready: carry [\".gpu\", \"dist\", \"build\"] and run: bash bench/gpu.sh"
