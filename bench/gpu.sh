#!/usr/bin/env bash
# One call on a GPU machine: randlab's WebGPU backend against PyTorch CUDA, and randlab's CPU path
# against PyTorch CPU on all of that machine's cores, each pair measured there, side by side.
# Prepare here with `bash bench/gpu-pack.sh`, then run there with the device tool:
#   carry: [".gpu", "dist", "build"]   command: bash bench/gpu.sh   timeout_s: 600
# Results land in $OUT (the device tool's return folder; ./gpu-bench-out when unset): one JSON
# object per line per stage, the log, and summary.md, the table for bench/RESULTS.md.
# Every stage has its own time limit, so a slow or failing stage costs its own numbers only, and
# the stages run in order of importance so that a cut-off call still returns the headline ones.
#   GPU_BENCH_QUICK=1     few steps and a 1024³ GEMM: a dry run of the script's mechanics
#   GPU_BENCH_SOFTWARE=1  accept a software WebGPU adapter (SwiftShader), for that dry run here
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-bench-out}
mkdir -p "$OUT"
quick=${GPU_BENCH_QUICK:-0}
models=mlp,cnn2,vgg16,resnet18
if [ "$quick" = 1 ]; then
  steps=10 webgpu_steps=1 gemm=256 webgpu_models=mlp webgpu_batch=8 cpu_models=mlp,cnn2 small_cpu_models=mlp
else
  steps=20 webgpu_steps=20 gemm=4096 webgpu_models=$models webgpu_batch=128 cpu_models=$models small_cpu_models=vgg16,resnet18
fi
threads=$(nproc)

log() { echo "[gpu.sh $(date -u +%T)] $*" | tee -a "$OUT/log.txt" >&2; }

# Runs one stage under a time limit; its stdout goes to $OUT/<name>.jsonl, its stderr to the log.
stage() {
  local name=$1 limit=$2
  shift 2
  log "stage $name (limit ${limit}s): $*"
  local start=$SECONDS
  timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.jsonl" 2>>"$OUT/log.txt"
  local status=$?
  log "stage $name: exit $status after $((SECONDS - start))s"
  [ "$status" = 0 ] || echo "{\"stage\":\"$name\",\"failed\":\"exit $status\"}" >>"$OUT/$name.jsonl"
}

setup_node() {
  if [ -f .gpu/node.xz ]; then
    mkdir -p /tmp/randlab-node/bin
    xz -dc .gpu/node.xz >/tmp/randlab-node/bin/node && chmod +x /tmp/randlab-node/bin/node
    export PATH=/tmp/randlab-node/bin:$PATH
  fi
  command -v node >/dev/null || { log "no node: run bench/gpu-pack.sh here and carry .gpu"; exit 1; }
  if [ -f .gpu/node_modules.tar.xz ] && [ ! -d node_modules/webgpu ]; then tar -xJf .gpu/node_modules.tar.xz; fi
  log "node $(node --version); $(nproc) cores; $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null)"
}

# Dawn reaches the NVIDIA driver through the Vulkan loader; the CUDA image may have neither the
# loader nor the driver's manifest where the loader looks (the device tool's README, "Vulkan").
setup_vulkan() {
  if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
    for deb in .gpu/debs/*.deb; do [ -f "$deb" ] && dpkg -x "$deb" /; done
    ldconfig
  fi
  local nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -f "$nvidia_icd" ] && ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1; then
    export VK_DRIVER_FILES=$nvidia_icd
    log "VK_DRIVER_FILES=$nvidia_icd"
  fi
}

# The WebGPU numbers mean nothing on a software adapter: refuse one unless this is the dry run.
require_hardware_adapter() {
  node bin/randlab.js devices --json >"$OUT/devices.json" 2>>"$OUT/log.txt"
  node bin/randlab.js devices 2>&1 | tee -a "$OUT/log.txt" >&2
  if [ "${GPU_BENCH_SOFTWARE:-0}" != 1 ] &&
    ! node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.exit(d.webgpu.ok && !d.webgpu.adapter.isFallbackAdapter ? 0 : 1)' "$OUT/devices.json"; then
    log "no hardware WebGPU adapter: the webgpu stages are skipped (see devices.json)"
    return 1
  fi
}

setup_node
setup_vulkan
# The first Python that has torch (the CUDA image keeps it in a venv; Debian's is /usr/bin/python3).
python=
for candidate in /opt/torch/.venv/bin/python3 python3 /usr/bin/python3; do
  if "$candidate" -c 'import torch' 2>/dev/null; then python=$candidate && break; fi
done
[ -n "$python" ] || log "no Python with torch: the PyTorch stages will fail"
has_cuda=$(${python:-python3} -c 'import torch; print(int(torch.cuda.is_available()))' 2>/dev/null || echo 0)

if require_hardware_adapter; then
  stage webgpu-train 200 node bin/randlab.js bench --device webgpu --models "$webgpu_models" --steps "$webgpu_steps" \
    --batch "$webgpu_batch" --no-kernels --no-loader --json
  stage webgpu-gemm 60 node .gpu/bench/webgpu-gemm.mjs --size "$gemm" --reps 5 --json
fi
if [ "$has_cuda" = 1 ]; then
  stage pytorch-cuda-fp32 60 "${python:-python3}" bench/pytorch.py --device cuda --tf32 off --models "$models" \
    --steps "$steps" --gemm-size "$gemm" --json
  stage pytorch-cuda-default 60 "${python:-python3}" bench/pytorch.py --device cuda --tf32 default --models "$models" \
    --steps "$steps" --gemm-size "$gemm" --json
else
  log "torch sees no CUDA GPU: the PyTorch CUDA stages are skipped"
fi
stage randlab-cpu 120 node bin/randlab.js bench --threads "$threads" --models "$cpu_models" --steps 10 \
  --no-kernels --no-loader --json
stage randlab-cpu-2 60 node bin/randlab.js bench --threads 2 --models "$small_cpu_models" --steps 10 \
  --no-kernels --no-loader --json
stage pytorch-cpu 150 "${python:-python3}" bench/pytorch.py --threads "$threads" --models "$cpu_models" --steps 10 --json
node .gpu/bench/gpu-summary.mjs "$OUT" >"$OUT/summary.md" 2>>"$OUT/log.txt" && cat "$OUT/summary.md"
log "done in ${SECONDS}s"
