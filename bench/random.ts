/**
 * Benchmark inputs. A module of its own, without a main, so that a bundled benchmark
 * (bench/gpu-pack.sh bundles bench/webgpu-gemm.ts) does not run another benchmark's main.
 */
export function randomArray(length: number, seed: number): Float32Array {
  // A small LCG: benchmarks need plausible values, not statistical quality.
  const out = new Float32Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}
