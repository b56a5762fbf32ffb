/**
 * The native GEMM and convolution kernels against the TypeScript reference, on every SIMD path
 * this CPU supports (forced with setSimdLevel, and once through RANDLAB_SIMD in a child process).
 *
 * Shapes are chosen to reach every branch of the blocked GEMM: sizes 1, sizes that are not
 * multiples of the register tile or vector width, k beyond one KC block, n beyond one NC block,
 * products split over threads by rows, by columns and by k, narrow products computed transposed;
 * and every convolution plan: one image
 * or many, images batched side by side in one GEMM (small outputs) with an uneven last chunk, the
 * pointwise shortcut, strides, paddings 0/1/2, 1×1 to 7×7 and non-square kernels and inputs.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Conv2dParams, GemmParams, SgdParams } from '../src/kernels/interface.js';
import { nativeAddon } from '../src/kernels/native.js';
import { referenceKernels as ref } from '../src/kernels/reference/index.js';
import { conv2dParams } from '../src/tensor/ops/util.js';
import { Rng } from '../src/tensor/rng.js';
import { randomArray } from './helpers/random.js';
import { supportedSimdLevels, withSimdLevel, type SimdControl } from './helpers/simd-levels.js';

interface GemmConvAddon extends SimdControl {
  gemm(a: Float32Array, b: Float32Array, c: Float32Array, p: GemmParams): void;
  sgdUpdate(param: Float32Array, grad: Float32Array, momentumBuffer: Float32Array | null, p: SgdParams): void;
  gemmSgdUpdate(
    a: Float32Array,
    b: Float32Array,
    param: Float32Array,
    momentumBuffer: Float32Array | null,
    p: Omit<GemmParams, 'beta'>,
    sgd: SgdParams,
  ): void;
  conv2dForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, p: Conv2dParams): void;
  conv2dBackwardData(dy: Float32Array, w: Float32Array, dx: Float32Array, p: Conv2dParams): void;
  conv2dBackwardFilter(
    x: Float32Array,
    dy: Float32Array,
    dw: Float32Array,
    dbias: Float32Array | null,
    p: Conv2dParams,
  ): void;
  gemmKernelName(): string;
  threadCount(): number;
}

const loaded = nativeAddon();
const addon = loaded !== null && typeof loaded.gemm === 'function' ? (loaded as unknown as GemmConvAddon) : null;
const rng = new Rng(7, 'native-gemm-conv');

/** max |actual − expected| / max(1, max |expected|): float32 blocking changes the rounding of
 *  long sums, but a wrong element (bad index, missed tile, stale buffer) is off by O(1). */
function expectClose(actual: Float32Array, expected: Float32Array, what: string, tolerance = 1e-5): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = 0;
  let worstAt = -1;
  let scale = 1;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    if (!(diff <= worst)) {
      worst = Number.isNaN(diff) ? Infinity : diff;
      worstAt = i;
    }
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  if (!(worst / scale <= tolerance)) {
    throw new Error(
      `${what}: element ${worstAt} is ${actual[worstAt]}, reference ${expected[worstAt]} (relative error ${worst / scale})`,
    );
  }
}

// ---- GEMM --------------------------------------------------------------------------------------

type Shape = [m: number, n: number, k: number];
const GEMM_SHAPES: Shape[] = [
  [1, 1, 1],
  [1, 7, 3],
  [5, 1, 9],
  [3, 17, 1],
  [17, 33, 65], // not multiples of any tile or vector width
  [13, 47, 300], // k spans two KC blocks
  [150, 53, 40], // m spans two MC blocks of rows
  [3, 4100, 5], // n spans two NC blocks
  [200, 300, 150], // split over threads
  [128, 520, 96], // the MLP's batch of rows, split by columns
  [5, 7, 5000], // too few tiles to share: split over k and summed
  [130, 10, 70], // narrow C (10 classes): computed as Cᵀ and merged transposed
  // A larger than L2 read in place (2 k blocks of 260, last row panel packed) against B panels of 48 + 32
  // columns (a batch times weights, NT, computed as Cᵀ), of 40 columns, and of 16.
  [80, 1010, 520],
  [1030, 40, 520],
  [1030, 16, 520],
];
const SCALINGS: Array<[alpha: number, beta: number]> = [
  [1, 0],
  [0.5, 1],
  [-2, 0.25],
];

function checkGemm(
  a: GemmConvAddon,
  [m, n, k]: Shape,
  transA: boolean,
  transB: boolean,
  alpha: number,
  beta: number,
): void {
  const p: GemmParams = { m, n, k, transA, transB, alpha, beta };
  const A = randomArray(rng, m * k);
  const B = randomArray(rng, k * n);
  const C = randomArray(rng, m * n);
  // beta = 0 must not read C: poison it with NaN.
  if (beta === 0) C.fill(NaN);
  const expected = Float32Array.from(C);
  ref.gemm(A, B, expected, p);
  a.gemm(A, B, C, p);
  expectClose(C, expected, `gemm ${JSON.stringify(p)} at ${a.simdLevel()}`);
}

// ---- convolution -------------------------------------------------------------------------------

const CONV_CASES: Array<[string, Conv2dParams]> = [
  ['3x3 pad 1 on a 7x5 input', conv2dParams(3, 4, 7, 5, 6, [3, 3], [1, 1], [1, 1])],
  ['3x3 valid, batch 1 (stages split over threads)', conv2dParams(1, 3, 9, 11, 8, [3, 3], [1, 1], [0, 0])],
  ['3x3 stride 2 pad 1', conv2dParams(3, 5, 12, 10, 7, [3, 3], [2, 2], [1, 1])],
  ['5x5 stride 2 pad 2', conv2dParams(2, 3, 9, 7, 4, [5, 5], [2, 2], [2, 2])],
  ['7x7 pad 3', conv2dParams(2, 2, 9, 9, 5, [7, 7], [1, 1], [3, 3])],
  ['non-square 3x2 kernel, strides 2x1, pads 0x1', conv2dParams(4, 3, 6, 7, 2, [3, 2], [2, 1], [0, 1])],
  ['1x1 stride 2 (shortcut)', conv2dParams(3, 6, 8, 8, 10, [1, 1], [2, 2], [0, 0])],
  [
    '1x1 stride 1 on a large plane (pointwise shortcut, one image a GEMM)',
    conv2dParams(2, 3, 32, 33, 4, [1, 1], [1, 1], [0, 0]),
  ],
  ['1x1 stride 1 on small planes (images batched)', conv2dParams(5, 6, 4, 4, 8, [1, 1], [1, 1], [0, 0])],
  [
    '3x3 pad 1 on 2x2 planes, images batched with an uneven last chunk',
    conv2dParams(9, 16, 2, 2, 20, [3, 3], [1, 1], [1, 1]),
  ],
  [
    '3x3 pad 1 on 4x4 planes, more channels than one register tile',
    conv2dParams(5, 16, 4, 4, 33, [3, 3], [1, 1], [1, 1]),
  ],
  ['first layer: 3 channels, 3x3, 30x30 output', conv2dParams(2, 3, 32, 32, 9, [3, 3], [1, 1], [0, 0])],
  ['kernel larger than the padded input (empty output)', conv2dParams(2, 3, 4, 4, 5, [5, 5], [1, 1], [0, 0])],
  // Winograd F(2x2, 3x3) path (3x3, stride 1, pad 1, >= 64 channels): even and odd planes, 1x1.
  ['Winograd: 64 -> 128 channels on 6x6 planes', conv2dParams(3, 64, 6, 6, 128, [3, 3], [1, 1], [1, 1])],
  [
    'Winograd forward, direct backward filter: 128 -> 64 channels on 10x9 planes',
    conv2dParams(2, 128, 10, 9, 64, [3, 3], [1, 1], [1, 1]),
  ],
  [
    'Winograd: 96 -> 96 channels on odd 5x7 planes (partial tiles)',
    conv2dParams(2, 96, 5, 7, 96, [3, 3], [1, 1], [1, 1]),
  ],
  ['Winograd: 128 -> 67 channels on 1x1 planes', conv2dParams(3, 128, 1, 1, 67, [3, 3], [1, 1], [1, 1])],
  ['Winograd: batch 1, 64 -> 64 channels on 3x4 planes', conv2dParams(1, 64, 3, 4, 64, [3, 3], [1, 1], [1, 1])],
];

function checkConv(a: GemmConvAddon, name: string, p: Conv2dParams, withBias: boolean): void {
  const what = `${name} ${withBias ? 'with' : 'without'} bias at ${a.simdLevel()}`;
  const x = randomArray(rng, p.n * p.c * p.h * p.w);
  const w = randomArray(rng, p.outC * p.c * p.kh * p.kw);
  const bias = withBias ? randomArray(rng, p.outC) : null;
  const ySize = p.n * p.outC * p.outH * p.outW;
  const dy = randomArray(rng, ySize);

  // Outputs start as NaN: every kernel must overwrite them completely.
  const y = new Float32Array(ySize).fill(NaN);
  const yRef = new Float32Array(ySize);
  a.conv2dForward(x, w, bias, y, p);
  ref.conv2dForward(x, w, bias, yRef, p);
  expectClose(y, yRef, `conv2dForward: ${what}`);

  const dx = new Float32Array(x.length).fill(NaN);
  const dxRef = new Float32Array(x.length);
  a.conv2dBackwardData(dy, w, dx, p);
  ref.conv2dBackwardData(dy, w, dxRef, p);
  expectClose(dx, dxRef, `conv2dBackwardData: ${what}`);

  const dw = new Float32Array(w.length).fill(NaN);
  const dwRef = new Float32Array(w.length);
  const dbias = withBias ? new Float32Array(p.outC).fill(NaN) : null;
  const dbiasRef = withBias ? new Float32Array(p.outC) : null;
  a.conv2dBackwardFilter(x, dy, dw, dbias, p);
  ref.conv2dBackwardFilter(x, dy, dwRef, dbiasRef, p);
  expectClose(dw, dwRef, `conv2dBackwardFilter dw: ${what}`);
  if (dbias && dbiasRef) expectClose(dbias, dbiasRef, `conv2dBackwardFilter dbias: ${what}`);
}

// Weight gradients gᵀ·x [out, in] fused with their SGD step: updated tile by tile as the GEMM
// computes them (both thread splits, edge tiles in both directions), or computed whole first where
// the GEMM would split k, block k or compute Cᵀ; and A stored [m, k], which sgemm may read in place.
const FUSED_SGD_SHAPES: Array<[m: number, n: number, k: number, transA: boolean]> = [
  [41, 200, 64, true],
  [300, 50, 128, true],
  [1024, 520, 128, true],
  [7, 9, 3, true],
  [13, 47, 300, true], // k spans two KC blocks
  [5, 7, 5000, true], // split over k
  [64, 10, 128, true], // narrow: computed as Cᵀ
  [2200, 60, 240, false], // sgemm reads A in place here
];

function checkFusedSgd(a: GemmConvAddon, [m, n, k, transA]: (typeof FUSED_SGD_SHAPES)[number], sgd: SgdParams): void {
  const p = { m, n, k, transA, transB: false, alpha: 0.75 };
  const A = randomArray(rng, m * k);
  const B = randomArray(rng, k * n);
  const param = randomArray(rng, m * n);
  const buffer = sgd.momentum ? randomArray(rng, m * n) : null;
  const separate = { param: Float32Array.from(param), buffer: buffer && Float32Array.from(buffer) };
  const grad = new Float32Array(m * n);
  a.gemm(A, B, grad, { ...p, beta: 0 });
  a.sgdUpdate(separate.param, grad, separate.buffer, sgd);
  const reference = { param: Float32Array.from(param), buffer: buffer && Float32Array.from(buffer) };
  ref.gemmSgdUpdate(A, B, reference.param, reference.buffer, p, sgd);
  a.gemmSgdUpdate(A, B, param, buffer, p, sgd);
  const what = `gemmSgdUpdate ${JSON.stringify(p)} ${JSON.stringify(sgd)} at ${a.simdLevel()}`;
  // The same arithmetic as the two kernels in sequence, so the same bits; and the reference's values.
  expect(Array.from(param), `${what}: param against gemm then sgdUpdate`).toEqual(Array.from(separate.param));
  if (buffer)
    expect(Array.from(buffer), `${what}: buffer against gemm then sgdUpdate`).toEqual(Array.from(separate.buffer!));
  expectClose(param, reference.param, `${what}: param against the reference`);
  if (buffer) expectClose(buffer, reference.buffer!, `${what}: buffer against the reference`);
}

describe.skipIf(addon === null)('native gemm and conv', () => {
  const native = addon!;

  describe.each(addon ? supportedSimdLevels(addon) : [])('at SIMD level %s', (level) => {
    it('gemm matches the reference for every transpose, shape and alpha/beta', () => {
      withSimdLevel(native, level, () => {
        expect(native.gemmKernelName().startsWith(level)).toBe(true);
        let variant = 0;
        for (const shape of GEMM_SHAPES) {
          for (const transA of [false, true]) {
            for (const transB of [false, true]) {
              const [alpha, beta] = SCALINGS[variant++ % SCALINGS.length]!;
              checkGemm(native, shape, transA, transB, alpha, beta);
            }
          }
        }
      });
    });

    it('gemmSgdUpdate equals gemm then sgdUpdate bit for bit, for every path of the GEMM and SGD option', () => {
      withSimdLevel(native, level, () => {
        const settings: SgdParams[] = [
          { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, firstStep: false },
          { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 5e-4, nesterov: true, firstStep: true },
          { lr: 0.2, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, firstStep: false },
          { lr: 0.1, momentum: 0.5, dampening: 0.3, weightDecay: 1e-3, nesterov: false, firstStep: false },
        ];
        FUSED_SGD_SHAPES.forEach((shape, i) => checkFusedSgd(native, shape, settings[i % settings.length]!));
      });
    });

    it('conv2d forward, backward data and backward filter match the reference', () => {
      withSimdLevel(native, level, () => {
        CONV_CASES.forEach(([name, p], i) => checkConv(native, name, p, i % 2 === 0));
      });
    });
  });

  it('Winograd convolution split into many chunks of images matches the reference and is deterministic', () => {
    const withChunk = native as unknown as { setWinogradChunkFloats(floats: number): number };
    const previous = withChunk.setWinogradChunkFloats(16 * 9 * (64 + 80) * 2); // two 5x5 images a chunk
    try {
      const p = conv2dParams(7, 64, 5, 5, 80, [3, 3], [1, 1], [1, 1]);
      checkConv(native, 'Winograd in chunks of two images', p, true);
      const x = randomArray(rng, p.n * p.c * p.h * p.w);
      const dy = randomArray(rng, p.n * p.outC * p.outH * p.outW);
      const run = () => {
        const dw = new Float32Array(p.outC * p.c * 9);
        native.conv2dBackwardFilter(x, dy, dw, null, p);
        return dw;
      };
      const first = run();
      for (let i = 0; i < 3; i++) expect(run()).toEqual(first);
    } finally {
      withChunk.setWinogradChunkFloats(previous);
    }
    expect(() => withChunk.setWinogradChunkFloats(-1)).toThrow(/setWinogradChunkFloats: floats must be 0/);
  });

  it('backward filter sums over threads in a fixed order: repeated calls are bit-identical', () => {
    const p = conv2dParams(12, 8, 6, 6, 16, [3, 3], [1, 1], [1, 1]);
    const x = randomArray(rng, p.n * p.c * p.h * p.w);
    const dy = randomArray(rng, p.n * p.outC * p.outH * p.outW);
    const run = () => {
      const dw = new Float32Array(p.outC * p.c * 9);
      const dbias = new Float32Array(p.outC);
      native.conv2dBackwardFilter(x, dy, dw, dbias, p);
      return [...dw, ...dbias];
    };
    const first = run();
    for (let i = 0; i < 5; i++) expect(run()).toEqual(first);
  });

  it('gemm with k = 0 or alpha = 0 scales C by beta without reading A and B', () => {
    for (const [k, alpha] of [
      [0, 1],
      [4, 0],
    ] as const) {
      const c = Float32Array.from([1, 2, 3, 4, 5, 6]);
      const a = new Float32Array(2 * k).fill(NaN);
      const b = new Float32Array(k * 3).fill(NaN);
      native.gemm(a, b, c, { m: 2, n: 3, k, transA: false, transB: false, alpha, beta: 0.5 });
      expect(Array.from(c)).toEqual([0.5, 1, 1.5, 2, 2.5, 3]);
      c.fill(NaN);
      native.gemm(a, b, c, { m: 2, n: 3, k, transA: false, transB: false, alpha, beta: 0 });
      expect(Array.from(c)).toEqual([0, 0, 0, 0, 0, 0]);
    }
  });

  it('RANDLAB_SIMD selects the SIMD path in a fresh process', () => {
    const addonPath =
      process.env.RANDLAB_NATIVE_PATH ||
      fileURLToPath(new URL('../build/Release/randlab_native.node', import.meta.url));
    for (const level of supportedSimdLevels(native)) {
      const script = `const a = require(${JSON.stringify(addonPath)});
        const c = new Float32Array(4);
        a.gemm(Float32Array.of(1, 2, 3, 4), Float32Array.of(5, 6, 7, 8), c, { m: 2, n: 2, k: 2, transA: false, transB: false, alpha: 1, beta: 0 });
        console.log(a.simdLevel(), a.gemmKernelName().split('-')[0], Array.from(c).join(','));`;
      const child = spawnSync(process.execPath, ['-e', script], {
        env: { ...process.env, RANDLAB_SIMD: level },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(child.status, child.stderr).toBe(0);
      expect(child.stdout.trim()).toBe(`${level} ${level} 19,22,43,50`);
    }
  });

  it('rejects missing, mistyped and short buffers and inconsistent geometry with a TypeError naming them', () => {
    const p: GemmParams = { m: 2, n: 3, k: 4, transA: false, transB: true, alpha: 1, beta: 0 };
    const f = (length: number) => new Float32Array(length);
    expect(() => native.gemm(f(7), f(12), f(6), p)).toThrow(/gemm: a has 7 elements, expected 8/);
    expect(() => native.gemm(f(8), f(12), f(5), p)).toThrow(TypeError);
    expect(() => native.gemm(f(8), new Float64Array(12) as unknown as Float32Array, f(6), p)).toThrow(
      /b must be a Float32Array/,
    );
    expect(() => native.gemm(f(8), f(12), f(6), { ...p, m: -1 })).toThrow(/p\.m/);

    const q = conv2dParams(2, 3, 5, 5, 4, [3, 3], [1, 1], [1, 1]);
    const [xs, ws, ys] = [2 * 3 * 25, 4 * 3 * 9, 2 * 4 * 25];
    expect(() => native.conv2dForward(f(xs), f(ws), f(3), f(ys), q)).toThrow(/conv2dForward: bias has 3 elements/);
    expect(() => native.conv2dForward(f(xs), f(ws), null, f(ys), { ...q, outH: 4 })).toThrow(/outH/);
    expect(() => native.conv2dForward(f(xs), f(ws), null, f(ys), { ...q, strideH: 0 })).toThrow(/strideH/);
    expect(() => native.conv2dBackwardData(f(ys), f(ws), f(xs - 1), q)).toThrow(/conv2dBackwardData: dx has/);
    expect(() => native.conv2dBackwardFilter(f(xs), f(ys), f(ws), undefined as unknown as null, q)).not.toThrow();
    expect(() => native.conv2dBackwardFilter(f(xs), f(ys - 1), f(ws), null, q)).toThrow(/dy has/);
  });
});
