/**
 * Native GEMM and convolution benchmarks.
 *
 *   npx tsx bench/kernels.ts [--json] [--all-simd] [--quick]
 *
 * Prints GFLOP/s of the headline kernels (`gemm-1024`: m = n = k = 1024; `conv3x3-64-64-32x32-b128`:
 * forward 3×3 pad-1 conv, batch 128, 64→64 channels at 32×32), the MLP training GEMMs, and forward /
 * backward-data / backward-filter times of every distinct conv layer of cnn2, VGG16 and ResNet18 on
 * CIFAR (batch 128). Each number is the best of several repetitions: the machine is shared, and the
 * best run is the one least disturbed. `--all-simd` repeats gemm-1024 on every SIMD path the CPU has.
 * `benchKernels()` returns the headline numbers for `randlab bench`.
 */
import { fileURLToPath } from 'node:url';
import type { Conv2dParams, GemmParams } from '../src/kernels/interface.js';
import { loadNativeKernels } from '../src/kernels/native.js';
import { conv2dParams } from '../src/tensor/ops/util.js';
import { randomArray } from './random.js';

interface NativeAddon {
  gemm(a: Float32Array, b: Float32Array, c: Float32Array, p: GemmParams): void;
  conv2dForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, p: Conv2dParams): void;
  conv2dBackwardData(dy: Float32Array, w: Float32Array, dx: Float32Array, p: Conv2dParams): void;
  conv2dBackwardFilter(
    x: Float32Array,
    dy: Float32Array,
    dw: Float32Array,
    dbias: Float32Array | null,
    p: Conv2dParams,
  ): void;
  simdLevel(): string;
  setSimdLevel(level: string): string;
  gemmKernelName(): string;
  threadCount(): number;
}

export interface KernelResult {
  kernel: string;
  gflops: number;
}

export interface TimedResult extends KernelResult {
  ms: number;
}

/** The addon the engine would load (RANDLAB_NATIVE_PATH can point at another build). */
function loadAddon(): NativeAddon {
  const { addon, reason } = loadNativeKernels();
  if (!addon) throw new Error(`bench/kernels.ts: the native kernels are unavailable: ${reason}`);
  return addon as unknown as NativeAddon;
}

/** Best wall time (ms) of `fn` over repetitions, after one warm-up; stops after ~`budgetMs`. */
function bestTimeMs(fn: () => void, budgetMs: number, minReps = 3, maxReps = 50): number {
  fn();
  let best = Infinity;
  const start = performance.now();
  for (let rep = 0; rep < maxReps; rep++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
    if (rep + 1 >= minReps && performance.now() - start > budgetMs) break;
  }
  return best;
}

function gemmParams(m: number, n: number, k: number, transA = false, transB = false): GemmParams {
  return { m, n, k, transA, transB, alpha: 1, beta: 0 };
}

function benchGemm(addon: NativeAddon, name: string, p: GemmParams, budgetMs: number): TimedResult {
  const a = randomArray(p.m * p.k, 1);
  const b = randomArray(p.k * p.n, 2);
  const c = new Float32Array(p.m * p.n);
  const ms = bestTimeMs(() => addon.gemm(a, b, c, p), budgetMs);
  return { kernel: name, gflops: (2 * p.m * p.n * p.k) / (ms * 1e6), ms };
}

/** A square k×k convolution over size×size images, the same stride and padding on both axes. */
export function convParams(
  n: number,
  c: number,
  size: number,
  outC: number,
  k: number,
  stride: number,
  pad: number,
): Conv2dParams {
  return conv2dParams(n, c, size, size, outC, [k, k], [stride, stride], [pad, pad]);
}

function convFlops(p: Conv2dParams): number {
  return 2 * p.n * p.outH * p.outW * p.outC * p.c * p.kh * p.kw;
}

type ConvPass = 'fwd' | 'bwd-data' | 'bwd-filter';

function benchConv(
  addon: NativeAddon,
  name: string,
  p: Conv2dParams,
  passes: ConvPass[],
  budgetMs: number,
): TimedResult[] {
  const x = randomArray(p.n * p.c * p.h * p.w, 3);
  const w = randomArray(p.outC * p.c * p.kh * p.kw, 4);
  const bias = randomArray(p.outC, 5);
  const y = new Float32Array(p.n * p.outC * p.outH * p.outW);
  const dy = randomArray(y.length, 6);
  const dx = new Float32Array(x.length);
  const dw = new Float32Array(w.length);
  const dbias = new Float32Array(p.outC);
  const run: Record<ConvPass, () => void> = {
    fwd: () => addon.conv2dForward(x, w, bias, y, p),
    'bwd-data': () => addon.conv2dBackwardData(dy, w, dx, p),
    'bwd-filter': () => addon.conv2dBackwardFilter(x, dy, dw, dbias, p),
  };
  return passes.map((pass) => {
    const ms = bestTimeMs(run[pass], budgetMs);
    return { kernel: `${name}-${pass}`, gflops: convFlops(p) / (ms * 1e6), ms };
  });
}

const HEADLINE_CONV = convParams(128, 64, 32, 64, 3, 1, 1);

/** The headline numbers, for `randlab bench`. */
export async function benchKernels(): Promise<KernelResult[]> {
  const addon = loadAddon();
  const gemm = benchGemm(addon, 'gemm-1024', gemmParams(1024, 1024, 1024), 1000);
  const [conv] = benchConv(addon, 'conv3x3-64-64-32x32-b128', HEADLINE_CONV, ['fwd'], 2000);
  return [
    { kernel: gemm.kernel, gflops: gemm.gflops },
    { kernel: 'conv3x3-64-64-32x32-b128', gflops: conv!.gflops },
  ];
}

/** Distinct conv layers of the benchmark models (CIFAR, batch 128), with the models using each. */
export const MODEL_CONV_LAYERS: Array<{ name: string; models: string; p: Conv2dParams }> = [
  { name: 'conv3x3-3-256-32x32-valid', models: 'cnn2', p: convParams(128, 3, 32, 256, 3, 1, 0) },
  { name: 'conv3x3-3-64-32x32', models: 'vgg16,resnet18', p: convParams(128, 3, 32, 64, 3, 1, 1) },
  { name: 'conv3x3-64-64-32x32', models: 'vgg16,resnet18', p: convParams(128, 64, 32, 64, 3, 1, 1) },
  { name: 'conv3x3-64-128-16x16', models: 'vgg16', p: convParams(128, 64, 16, 128, 3, 1, 1) },
  { name: 'conv3x3-128-128-16x16', models: 'vgg16,resnet18', p: convParams(128, 128, 16, 128, 3, 1, 1) },
  { name: 'conv3x3-128-256-8x8', models: 'vgg16', p: convParams(128, 128, 8, 256, 3, 1, 1) },
  { name: 'conv3x3-256-256-8x8', models: 'vgg16,resnet18', p: convParams(128, 256, 8, 256, 3, 1, 1) },
  { name: 'conv3x3-256-512-4x4', models: 'vgg16', p: convParams(128, 256, 4, 512, 3, 1, 1) },
  { name: 'conv3x3-512-512-4x4', models: 'vgg16,resnet18', p: convParams(128, 512, 4, 512, 3, 1, 1) },
  { name: 'conv3x3-512-512-2x2', models: 'vgg16', p: convParams(128, 512, 2, 512, 3, 1, 1) },
  { name: 'conv3x3s2-64-128-32x32', models: 'resnet18', p: convParams(128, 64, 32, 128, 3, 2, 1) },
  { name: 'conv3x3s2-128-256-16x16', models: 'resnet18', p: convParams(128, 128, 16, 256, 3, 2, 1) },
  { name: 'conv3x3s2-256-512-8x8', models: 'resnet18', p: convParams(128, 256, 8, 512, 3, 2, 1) },
  { name: 'conv1x1s2-64-128-32x32', models: 'resnet18', p: convParams(128, 64, 32, 128, 1, 2, 0) },
  { name: 'conv1x1s2-128-256-16x16', models: 'resnet18', p: convParams(128, 128, 16, 256, 1, 2, 0) },
  { name: 'conv1x1s2-256-512-8x8', models: 'resnet18', p: convParams(128, 256, 8, 512, 1, 2, 0) },
];

/** GEMMs of one MLP (3072-1024-1024-10) training step at batch 128; Linear weights are [out, in]. */
const MLP_GEMMS: Array<{ name: string; p: GemmParams }> = [
  { name: 'gemm-mlp-fwd-128x1024x3072-nt', p: gemmParams(128, 1024, 3072, false, true) },
  { name: 'gemm-mlp-dW-1024x3072x128-tn', p: gemmParams(1024, 3072, 128, true, false) },
  { name: 'gemm-mlp-dX-128x3072x1024-nn', p: gemmParams(128, 3072, 1024, false, false) },
  { name: 'gemm-mlp-fwd-128x1024x1024-nt', p: gemmParams(128, 1024, 1024, false, true) },
];

interface CliOptions {
  json: boolean;
  allSimd: boolean;
  quick: boolean;
}

function parseArgs(argv: string[]): CliOptions {
  const known = new Set(['--json', '--all-simd', '--quick']);
  for (const arg of argv)
    if (!known.has(arg))
      throw new Error(`bench/kernels.ts: unknown argument ${arg} (expected --json, --all-simd, --quick)`);
  return { json: argv.includes('--json'), allSimd: argv.includes('--all-simd'), quick: argv.includes('--quick') };
}

function report(result: TimedResult & { models?: string }, json: boolean): void {
  if (json) {
    console.log(
      JSON.stringify({
        kernel: result.kernel,
        gflops: +result.gflops.toFixed(1),
        ms: +result.ms.toFixed(3),
        ...(result.models ? { models: result.models } : {}),
      }),
    );
  } else {
    console.log(
      `${result.kernel.padEnd(44)} ${result.gflops.toFixed(1).padStart(8)} GFLOP/s ${result.ms.toFixed(3).padStart(10)} ms${result.models ? `  (${result.models})` : ''}`,
    );
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const addon = loadAddon();
  const budget = options.quick ? 200 : 1000;
  if (!options.json)
    console.log(
      `native kernels: simd ${addon.simdLevel()}, gemm ${addon.gemmKernelName()}, ${addon.threadCount()} threads`,
    );

  const levels = options.allSimd ? ['avx512', 'avx2', 'generic'] : [addon.simdLevel()];
  const original = addon.simdLevel();
  for (const level of levels) {
    try {
      addon.setSimdLevel(level);
    } catch {
      continue; // this CPU lacks the level
    }
    const name = options.allSimd ? `gemm-1024-${level}` : 'gemm-1024';
    report(benchGemm(addon, name, gemmParams(1024, 1024, 1024), budget), options.json);
  }
  addon.setSimdLevel(original);

  report(benchConv(addon, 'conv3x3-64-64-32x32-b128', HEADLINE_CONV, ['fwd'], 2 * budget)[0]!, options.json);
  for (const { name, p } of MLP_GEMMS) report(benchGemm(addon, name, p, budget), options.json);
  for (const { name, models, p } of MODEL_CONV_LAYERS) {
    for (const result of benchConv(addon, name, p, ['fwd', 'bwd-data', 'bwd-filter'], budget)) {
      report({ ...result, models }, options.json);
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
