/**
 * The native kernels (except GEMM and convolution, tested with their own code) against the
 * TypeScript reference, at every SIMD level this CPU supports, on awkward shapes: length 1, sizes
 * that are not multiples of the vector width, 7×5 planes, padded and strided windows, BatchNorm
 * 1-d and 2-d, and sizes large enough to be split across threads. Then argument validation and
 * the backend loader.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type {
  AdamParams,
  BatchNormParams,
  KernelName,
  Kernels,
  Pool2dParams,
  SgdParams,
} from '../src/kernels/interface.js';
import { loadNativeKernels, nativeAddon, nativeCoverage } from '../src/kernels/native.js';
import { referenceKernels as ref } from '../src/kernels/reference/index.js';
import { Rng } from '../src/tensor/rng.js';
import { randomArray, randomLabelValues } from './helpers/random.js';
import { simdControl, supportedSimdLevels, useSimdLevel } from './helpers/simd-levels.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = loadNativeKernels().addon;
const rng = new Rng(2024, 'native-kernels');

/** The addon's own export (never the TypeScript fallback), so a comparison cannot pass trivially. */
function native<K extends KernelName>(name: K): Kernels[K] {
  const fn = addon?.[name];
  if (typeof fn !== 'function') throw new Error(`the addon does not export ${name}`);
  return fn as unknown as Kernels[K];
}

/** Per element |actual − expected| ≤ tolerance · max(1, |expected|); NaN must match NaN. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tolerance = 1e-5): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!(Math.abs(a - e) <= tolerance * Math.max(1, Math.abs(e)))) {
      throw new Error(`${what}[${i}]: native ${a}, reference ${e} (tolerance ${tolerance})`);
    }
  }
}

/** Bit-for-bit equality up to NaN payloads (Object.is tells −0 from +0). */
function expectExact(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i]))
      throw new Error(`${what}[${i}]: native ${actual[i]}, reference ${expected[i]}`);
  }
}

const copy = (a: Float32Array): Float32Array => Float32Array.from(a);
/** Random values rounded to quarters, so ties (max pooling) and exact zeros (relu) are common. */
function coarseArray(length: number, low = -2, high = 2): Float32Array {
  const a = randomArray(rng, length, low, high);
  for (let i = 0; i < a.length; i++) a[i] = Math.round(a[i]! * 4) / 4;
  return a;
}
function withSpecialValues(a: Float32Array): Float32Array {
  const specials = [NaN, -0, 0, Infinity, -Infinity];
  for (let s = 0; s < specials.length && s * 7 < a.length; s++) a[s * 7] = specials[s]!;
  return a;
}

// Lengths around the vector widths (4, 8, 16 floats), and one above the threads' split threshold.
const LENGTHS = [1, 3, 8, 15, 16, 17, 33, 127, 1000, 100_003];

describe.skipIf(addon === null)('native kernels', () => {
  describe.each(addon ? supportedSimdLevels(simdControl(addon)) : [])('at SIMD level %s', (level) => {
    useSimdLevel(simdControl(addon!), level);

    describe('element-wise', () => {
      it('reluForward and reluBackward match exactly, NaN, ±0 and ±∞ included, also in place', () => {
        for (const n of LENGTHS) {
          const x = withSpecialValues(coarseArray(n));
          const expected = new Float32Array(n);
          ref.reluForward(x, expected);
          const y = new Float32Array(n).fill(7);
          native('reluForward')(x, y);
          expectExact(y, expected, `relu(${n})`);
          const inPlace = copy(x);
          native('reluForward')(inPlace, inPlace);
          expectExact(inPlace, expected, `relu in place (${n})`);

          const dy = randomArray(rng, n);
          const dxExpected = new Float32Array(n);
          ref.reluBackward(expected, dy, dxExpected);
          const dx = new Float32Array(n).fill(7);
          native('reluBackward')(expected, dy, dx);
          expectExact(dx, dxExpected, `reluBackward(${n})`);
        }
      });

      it('add and mul match exactly, also in place', () => {
        for (const n of LENGTHS) {
          const a = withSpecialValues(randomArray(rng, n, -3, 3));
          const b = randomArray(rng, n, -3, 3);
          for (const op of ['add', 'mul'] as const) {
            const expected = new Float32Array(n);
            ref[op](a, b, expected);
            const out = new Float32Array(n);
            native(op)(a, b, out);
            expectExact(out, expected, `${op}(${n})`);
            const inPlace = copy(a);
            native(op)(inPlace, b, inPlace);
            expectExact(inPlace, expected, `${op} in place (${n})`);
          }
        }
      });

      it('axpy, scale and fill match', () => {
        for (const n of LENGTHS) {
          const x = randomArray(rng, n, -3, 3);
          const y = randomArray(rng, n, -3, 3);
          const yExpected = copy(y);
          ref.axpy(-0.37, x, yExpected);
          native('axpy')(-0.37, x, y);
          expectClose(y, yExpected, `axpy(${n})`, 1e-6);

          const scaled = new Float32Array(n);
          const scaledExpected = new Float32Array(n);
          ref.scale(x, 1.7, scaledExpected);
          native('scale')(x, 1.7, scaled);
          expectClose(scaled, scaledExpected, `scale(${n})`, 1e-6);

          const filled = new Float32Array(n);
          const filledExpected = new Float32Array(n);
          ref.fill(filledExpected, 0.1);
          native('fill')(filled, 0.1);
          expectExact(filled, filledExpected, `fill(${n})`);
        }
      });

      it('sum and sumSquares accumulate in float64', () => {
        for (const n of [...LENGTHS, 0, 1_000_001]) {
          const x = randomArray(rng, n, -1, 1.5);
          let magnitude = 0;
          for (let i = 0; i < n; i++) magnitude += Math.abs(x[i]!) + x[i]! * x[i]!;
          // float32 accumulation would be off by ~1e-7 · magnitude, float64 by ~1e-16.
          expect(Math.abs(native('sum')(x) - ref.sum(x)), `sum(${n})`).toBeLessThanOrEqual(
            1e-12 * Math.max(1, magnitude),
          );
          expect(Math.abs(native('sumSquares')(x) - ref.sumSquares(x)), `sumSquares(${n})`).toBeLessThanOrEqual(
            1e-12 * Math.max(1, magnitude),
          );
        }
        // 1 + 2²⁴ ones: float32 accumulation would stop growing at 2²⁴.
        const ones = new Float32Array((1 << 24) + 1).fill(1);
        expect(native('sum')(ones)).toBe((1 << 24) + 1);
      });

      it('addRowVector matches exactly and sumRows within float64 rounding', () => {
        const shapes: Array<[number, number]> = [
          [1, 1],
          [1, 17],
          [7, 5],
          [33, 10],
          [128, 10],
          [3, 1000],
          [5000, 13],
          [40, 2049],
          [70_000, 1],
        ];
        for (const [rows, cols] of shapes) {
          const bias = randomArray(rng, cols);
          const y = randomArray(rng, rows * cols);
          const yExpected = copy(y);
          ref.addRowVector(yExpected, bias, rows, cols);
          native('addRowVector')(y, bias, rows, cols);
          expectExact(y, yExpected, `addRowVector(${rows}×${cols})`);

          for (const beta of [0, 1] as const) {
            const start = randomArray(rng, cols);
            const out = copy(start);
            const outExpected = copy(start);
            ref.sumRows(y, outExpected, rows, cols, beta);
            native('sumRows')(y, out, rows, cols, beta);
            expectClose(out, outExpected, `sumRows(${rows}×${cols}, beta ${beta})`, 1e-6);
          }
        }
      });
    });

    describe('pooling', () => {
      const pool = (
        n: number,
        c: number,
        h: number,
        w: number,
        kh: number,
        kw: number,
        sh: number,
        sw: number,
        ph: number,
        pw: number,
      ): Pool2dParams => ({
        n,
        c,
        h,
        w,
        kh,
        kw,
        strideH: sh,
        strideW: sw,
        padH: ph,
        padW: pw,
        outH: Math.floor((h + 2 * ph - kh) / sh) + 1,
        outW: Math.floor((w + 2 * pw - kw) / sw) + 1,
      });
      const GEOMETRIES: Pool2dParams[] = [
        pool(2, 3, 7, 5, 2, 2, 2, 2, 0, 0), // 7×5: the last row is left out
        pool(1, 1, 1, 1, 1, 1, 1, 1, 0, 0),
        pool(1, 2, 7, 5, 3, 3, 2, 2, 1, 1),
        pool(2, 2, 7, 5, 3, 3, 1, 1, 1, 1), // overlapping windows
        pool(3, 2, 6, 9, 2, 3, 1, 2, 1, 1), // rectangular window, unequal strides
        pool(1, 3, 5, 7, 3, 2, 3, 1, 0, 1),
        pool(2, 2, 9, 11, 2, 3, 2, 3, 1, 1), // a stride other than 1 and 2
        pool(1, 2, 6, 70, 3, 3, 1, 1, 1, 1), // rows wider than the native kernel's 16-column blocks
        pool(2, 2, 12, 45, 3, 3, 2, 2, 0, 0),
        pool(4, 16, 32, 32, 2, 2, 2, 2, 0, 0), // large enough to split across threads
        pool(2, 8, 33, 31, 3, 3, 2, 2, 1, 1),
      ];
      const describeGeometry = (p: Pool2dParams): string =>
        `[${p.n},${p.c},${p.h},${p.w}] k${p.kh}×${p.kw} s${p.strideH},${p.strideW} p${p.padH},${p.padW}`;

      it('maxPool2dForward matches values and indices exactly (ties keep the first, NaN wins)', () => {
        for (const p of GEOMETRIES) {
          const x = coarseArray(p.n * p.c * p.h * p.w);
          for (let i = 11; i < x.length; i += 97) x[i] = NaN;
          // A plane of −∞: nothing beats the initial −∞, so every index is its window's first position.
          x.fill(-Infinity, 0, p.h * p.w);
          const outSize = p.n * p.c * p.outH * p.outW;
          const y = new Float32Array(outSize);
          const indices = new Int32Array(outSize).fill(-5);
          const yExpected = new Float32Array(outSize);
          const indicesExpected = new Int32Array(outSize);
          ref.maxPool2dForward(x, yExpected, indicesExpected, p);
          native('maxPool2dForward')(x, y, indices, p);
          expectExact(y, yExpected, `maxPool y ${describeGeometry(p)}`);
          expectExact(indices, indicesExpected, `maxPool indices ${describeGeometry(p)}`);
        }
      });

      it('maxPool2dBackward matches', () => {
        for (const p of GEOMETRIES) {
          const x = coarseArray(p.n * p.c * p.h * p.w);
          const outSize = p.n * p.c * p.outH * p.outW;
          const indices = new Int32Array(outSize);
          ref.maxPool2dForward(x, new Float32Array(outSize), indices, p);
          const dy = randomArray(rng, outSize);
          const dx = new Float32Array(x.length).fill(3);
          const dxExpected = new Float32Array(x.length);
          ref.maxPool2dBackward(dy, indices, dxExpected, p);
          native('maxPool2dBackward')(dy, indices, dx, p);
          expectClose(dx, dxExpected, `maxPool dx ${describeGeometry(p)}`, 1e-6);
        }
      });

      it('avgPool2dForward and avgPool2dBackward match (padding counts in the divisor)', () => {
        for (const p of GEOMETRIES) {
          const x = randomArray(rng, p.n * p.c * p.h * p.w, -2, 2);
          const outSize = p.n * p.c * p.outH * p.outW;
          const y = new Float32Array(outSize);
          const yExpected = new Float32Array(outSize);
          ref.avgPool2dForward(x, yExpected, p);
          native('avgPool2dForward')(x, y, p);
          expectClose(y, yExpected, `avgPool y ${describeGeometry(p)}`, 1e-6);

          const dy = randomArray(rng, outSize);
          const dx = new Float32Array(x.length).fill(3);
          const dxExpected = new Float32Array(x.length);
          ref.avgPool2dBackward(dy, dxExpected, p);
          native('avgPool2dBackward')(dy, dx, p);
          expectClose(dx, dxExpected, `avgPool dx ${describeGeometry(p)}`, 1e-6);
        }
      });

      it('globalAvgPoolForward and globalAvgPoolBackward match', () => {
        for (const [nc, hw] of [
          [1, 1],
          [3, 35],
          [7, 16],
          [130, 49],
          [512, 64],
          [2, 70_001],
        ]) {
          const x = randomArray(rng, nc! * hw!, -2, 3);
          const y = new Float32Array(nc!);
          const yExpected = new Float32Array(nc!);
          ref.globalAvgPoolForward(x, yExpected, nc!, hw!);
          native('globalAvgPoolForward')(x, y, nc!, hw!);
          expectClose(y, yExpected, `globalAvgPool y [${nc}, ${hw}]`, 1e-6);

          const dx = new Float32Array(x.length);
          const dxExpected = new Float32Array(x.length);
          ref.globalAvgPoolBackward(y, dxExpected, nc!, hw!);
          native('globalAvgPoolBackward')(y, dx, nc!, hw!);
          expectExact(dx, dxExpected, `globalAvgPool dx [${nc}, ${hw}]`);
        }
      });
    });

    describe('batch norm', () => {
      // spatial 1 is BatchNorm1d; below 16 the native kernel walks columns, from 16 on planes.
      const SHAPES: Array<[number, number, number]> = [
        [1, 3, 1], // one value per channel: the running variance takes the biased one
        [5, 7, 1],
        [2, 5, 9],
        [3, 4, 16],
        [4, 3, 35], // 7×5 planes
        [1, 6, 49], // batch 1
        [256, 300, 1], // large BatchNorm1d, split across threads
        [8, 16, 24 * 24], // large BatchNorm2d
      ];
      const params = (n: number, c: number, spatial: number): BatchNormParams => ({
        n,
        c,
        spatial,
        eps: 1e-5,
        momentum: 0.1,
      });

      it('batchNormTrainForward matches outputs, saved and running statistics', () => {
        for (const [n, c, spatial] of SHAPES) {
          for (const [low, high] of [
            [-1, 1],
            [1000, 1001],
          ]) {
            // [1000, 1001]: |mean| ≫ std, where a one-pass variance or a float32 mean loses digits.
            const p = params(n, c, spatial);
            const x = randomArray(rng, n * c * spatial, low, high);
            const gamma = randomArray(rng, c, 0.5, 1.5);
            const beta = randomArray(rng, c, -0.5, 0.5);
            const runningMean = randomArray(rng, c);
            const runningVar = randomArray(rng, c, 0.5, 2);
            const expected = {
              y: new Float32Array(x.length),
              mean: new Float32Array(c),
              invStd: new Float32Array(c),
              runningMean: copy(runningMean),
              runningVar: copy(runningVar),
            };
            const actual = {
              y: new Float32Array(x.length),
              mean: new Float32Array(c),
              invStd: new Float32Array(c),
              runningMean: copy(runningMean),
              runningVar: copy(runningVar),
            };
            ref.batchNormTrainForward(
              x,
              gamma,
              beta,
              expected.y,
              expected.mean,
              expected.invStd,
              expected.runningMean,
              expected.runningVar,
              p,
            );
            native('batchNormTrainForward')(
              x,
              gamma,
              beta,
              actual.y,
              actual.mean,
              actual.invStd,
              actual.runningMean,
              actual.runningVar,
              p,
            );
            const shape = `[${n},${c},${spatial}] in [${low}, ${high}]`;
            expectClose(actual.y, expected.y, `bn y ${shape}`);
            expectClose(actual.mean, expected.mean, `bn saveMean ${shape}`);
            expectClose(actual.invStd, expected.invStd, `bn saveInvStd ${shape}`);
            expectClose(actual.runningMean, expected.runningMean, `bn runningMean ${shape}`);
            expectClose(actual.runningVar, expected.runningVar, `bn runningVar ${shape}`);
          }
        }
      });

      it('batchNormEvalForward matches', () => {
        for (const [n, c, spatial] of SHAPES) {
          const p = params(n, c, spatial);
          const x = randomArray(rng, n * c * spatial, -2, 2);
          const gamma = randomArray(rng, c, 0.5, 1.5);
          const beta = randomArray(rng, c, -0.5, 0.5);
          const runningMean = randomArray(rng, c);
          const runningVar = randomArray(rng, c, 0.5, 2);
          const y = new Float32Array(x.length);
          const yExpected = new Float32Array(x.length);
          ref.batchNormEvalForward(x, gamma, beta, runningMean, runningVar, yExpected, p);
          native('batchNormEvalForward')(x, gamma, beta, runningMean, runningVar, y, p);
          expectClose(y, yExpected, `bn eval y [${n},${c},${spatial}]`);
        }
      });

      it('batchNormBackward matches dx, dgamma and dbeta', () => {
        for (const [n, c, spatial] of SHAPES) {
          const p = params(n, c, spatial);
          const x = randomArray(rng, n * c * spatial, -2, 2);
          const dy = randomArray(rng, x.length, -1, 1);
          const gamma = randomArray(rng, c, 0.5, 1.5);
          const saveMean = new Float32Array(c);
          const saveInvStd = new Float32Array(c);
          ref.batchNormTrainForward(
            x,
            gamma,
            new Float32Array(c),
            new Float32Array(x.length),
            saveMean,
            saveInvStd,
            new Float32Array(c),
            new Float32Array(c),
            p,
          );
          const expected = { dx: new Float32Array(x.length), dgamma: new Float32Array(c), dbeta: new Float32Array(c) };
          const actual = {
            dx: new Float32Array(x.length).fill(9),
            dgamma: new Float32Array(c).fill(9),
            dbeta: new Float32Array(c).fill(9),
          };
          ref.batchNormBackward(x, dy, gamma, saveMean, saveInvStd, expected.dx, expected.dgamma, expected.dbeta, p);
          native('batchNormBackward')(x, dy, gamma, saveMean, saveInvStd, actual.dx, actual.dgamma, actual.dbeta, p);
          const shape = `[${n},${c},${spatial}]`;
          expectClose(actual.dx, expected.dx, `bn dx ${shape}`);
          expectClose(actual.dgamma, expected.dgamma, `bn dgamma ${shape}`);
          expectClose(actual.dbeta, expected.dbeta, `bn dbeta ${shape}`);
        }
      });
    });

    describe('softmax cross-entropy', () => {
      it('forward matches loss and probabilities; backward matches', () => {
        for (const [rows, classes] of [
          [1, 1],
          [1, 10],
          [7, 3],
          [128, 10],
          [33, 37],
          [64, 1000],
          [3000, 100],
        ]) {
          const logits = randomArray(rng, rows! * classes!, -40, 40);
          // Logits of ±1000 in the first row overflow exp even in float64 unless the max is subtracted.
          for (let j = 0; j < classes!; j++) logits[j] = logits[j]! * 25;
          const labels = randomLabelValues(rng, rows!, classes!);
          const probs = new Float32Array(logits.length);
          const probsExpected = new Float32Array(logits.length);
          const lossExpected = ref.softmaxCrossEntropyForward(logits, labels, probsExpected, rows!, classes!);
          const loss = native('softmaxCrossEntropyForward')(logits, labels, probs, rows!, classes!);
          expect(Math.abs(loss - lossExpected), `loss [${rows}, ${classes}]`).toBeLessThanOrEqual(
            1e-9 * Math.max(1, Math.abs(lossExpected)),
          );
          expectClose(probs, probsExpected, `probs [${rows}, ${classes}]`, 1e-6);

          const scale = 1.5 / rows!;
          const dlogits = new Float32Array(logits.length);
          const dlogitsExpected = new Float32Array(logits.length);
          ref.softmaxCrossEntropyBackward(probsExpected, labels, dlogitsExpected, rows!, classes!, scale);
          native('softmaxCrossEntropyBackward')(probsExpected, labels, dlogits, rows!, classes!, scale);
          expectClose(dlogits, dlogitsExpected, `dlogits [${rows}, ${classes}]`, 1e-6);
        }
      });
    });

    describe('optimisers', () => {
      const STEPS = 4;

      it('sgdUpdate matches over several steps for every option combination', () => {
        for (const length of [1, 17, 100_003]) {
          for (const momentum of [0, 0.9]) {
            for (const dampening of [0, 0.3]) {
              for (const weightDecay of [0, 5e-3]) {
                for (const nesterov of [false, true]) {
                  const param = randomArray(rng, length);
                  const expected = { param: copy(param), buffer: momentum ? new Float32Array(length) : null };
                  const actual = { param: copy(param), buffer: momentum ? new Float32Array(length).fill(5) : null };
                  for (let step = 1; step <= STEPS; step++) {
                    const grad = randomArray(rng, length);
                    const p: SgdParams = { lr: 0.1, momentum, dampening, weightDecay, nesterov, firstStep: step === 1 };
                    ref.sgdUpdate(expected.param, grad, expected.buffer, p);
                    native('sgdUpdate')(actual.param, grad, actual.buffer, p);
                    const what = `sgd ${JSON.stringify(p)} length ${length} step ${step}`;
                    expectClose(actual.param, expected.param, `${what} param`);
                    if (expected.buffer) expectClose(actual.buffer!, expected.buffer, `${what} buffer`);
                  }
                }
              }
            }
          }
        }
      });

      it('adamUpdate matches over several steps for every option combination', () => {
        for (const length of [1, 17, 100_003]) {
          for (const weightDecay of [0, 1e-2]) {
            for (const decoupled of [false, true]) {
              const param = randomArray(rng, length);
              const expected = { param: copy(param), m: new Float32Array(length), v: new Float32Array(length) };
              const actual = { param: copy(param), m: new Float32Array(length), v: new Float32Array(length) };
              for (let step = 1; step <= STEPS; step++) {
                const grad = randomArray(rng, length);
                const p: AdamParams = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, decoupled, step };
                ref.adamUpdate(expected.param, grad, expected.m, expected.v, p);
                native('adamUpdate')(actual.param, grad, actual.m, actual.v, p);
                const what = `adam ${JSON.stringify(p)} length ${length}`;
                expectClose(actual.param, expected.param, `${what} param`);
                expectClose(actual.m, expected.m, `${what} m`);
                expectClose(actual.v, expected.v, `${what} v`);
              }
            }
          }
        }
      });
    });
  });

  describe('argument validation', () => {
    const expectTypeError = (call: () => unknown, message: RegExp): void => {
      expect(call).toThrow(TypeError);
      expect(call).toThrow(message);
    };
    const pool: Pool2dParams = {
      n: 1,
      c: 1,
      h: 4,
      w: 4,
      kh: 2,
      kw: 2,
      strideH: 2,
      strideW: 2,
      padH: 0,
      padW: 0,
      outH: 2,
      outW: 2,
    };

    it('names an argument of the wrong type or length', () => {
      const x = new Float32Array(6);
      expectTypeError(
        () => native('reluForward')(x, [1, 2] as unknown as Float32Array),
        /reluForward: y must be a Float32Array/,
      );
      expectTypeError(() => native('reluForward')(x, new Float32Array(5)), /reluForward: y has 5 elements, expected 6/);
      expectTypeError(
        () => native('add')(x, new Float64Array(6) as unknown as Float32Array, x),
        /add: b must be a Float32Array/,
      );
      expectTypeError(() => native('axpy')('2' as unknown as number, x, x), /axpy: alpha must be a number/);
      expectTypeError(() => native('addRowVector')(x, x, 2, 2), /addRowVector: y has 6 elements, expected 4/);
      expectTypeError(() => native('sumRows')(x, x, 1.5, 4, 0), /sumRows: rows must be an integer/);
    });

    it('names a bad field of the params object', () => {
      const x = new Float32Array(16);
      const y = new Float32Array(4);
      const indices = new Int32Array(4);
      expectTypeError(
        () => native('maxPool2dForward')(x, y, indices, { ...pool, outH: 3 }),
        /maxPool2dForward: p\.outH is 3, expected 2/,
      );
      expectTypeError(
        () => native('maxPool2dForward')(x, y, new Float32Array(4) as unknown as Int32Array, pool),
        /indices must be an Int32Array/,
      );
      const { strideW: _, ...missingStride } = pool;
      expectTypeError(
        () => native('avgPool2dForward')(x, y, missingStride as Pool2dParams),
        /avgPool2dForward: p\.strideW must be a number/,
      );
      expectTypeError(
        () =>
          native('sgdUpdate')(x, x, null, {
            lr: 0.1,
            momentum: 0.9,
            dampening: 0,
            weightDecay: 0,
            nesterov: false,
            firstStep: true,
          }),
        /sgdUpdate: momentumBuffer is null but p\.momentum is 0\.9/,
      );
      expectTypeError(
        () =>
          native('adamUpdate')(x, x, x, x, {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.99,
            eps: 1e-8,
            weightDecay: 0,
            decoupled: 'no' as unknown as boolean,
            step: 1,
          }),
        /adamUpdate: p\.decoupled must be a boolean/,
      );
    });

    it('refuses labels and indices that would reach outside their row or plane', () => {
      const probs = new Float32Array(6);
      expectTypeError(
        () => native('softmaxCrossEntropyForward')(probs, Int32Array.from([0, 3]), probs, 2, 3),
        /labels\[1\] = 3 is outside \[0, 3\)/,
      );
      expectTypeError(
        () => native('softmaxCrossEntropyBackward')(probs, Int32Array.from([-1, 0]), probs, 2, 3, 1),
        /labels\[0\] = -1/,
      );
      expectTypeError(
        () =>
          native('maxPool2dBackward')(new Float32Array(4), Int32Array.from([0, 1, 16, 2]), new Float32Array(16), pool),
        /indices holds an index outside its n,c plane/,
      );
    });
  });

  it('implements every kernel natively (GEMM and convolution included)', () => {
    expect(nativeCoverage().fallback).toEqual([]);
    expect(nativeAddon()).toBe(addon);
  });
});

describe('kernel backend selection', () => {
  /** Runs a script that prints the active backend in a fresh process, with this process's
   *  environment (RANDLAB_NATIVE_PATH included) less RANDLAB_KERNELS, plus `env`. */
  function selectBackend(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
    const inherited: NodeJS.ProcessEnv = { ...process.env };
    delete inherited.RANDLAB_KERNELS;
    const script = [
      "import { getKernels, setKernels } from './src/kernels/index.ts';",
      'console.log(getKernels().name);',
      // Selecting again, and switching, must not warn again.
      "getKernels(); setKernels('ts'); getKernels();",
    ].join('\n');
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: repoRoot,
      env: { ...inherited, ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: child.status, stdout: child.stdout.trim(), stderr: child.stderr };
  }
  const missingAddon = join(repoRoot, 'build', 'no-such-dir', 'randlab_native.node');

  it('RANDLAB_KERNELS=ts forces the TypeScript kernels without a warning', () => {
    const run = selectBackend({ RANDLAB_KERNELS: 'ts' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('ts');
    expect(run.stderr).not.toMatch(/native kernels unavailable/);
  });

  it.skipIf(addon === null)('RANDLAB_KERNELS=native forces the native kernels', () => {
    const run = selectBackend({ RANDLAB_KERNELS: 'native' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('native');
  });

  it('falls back to TypeScript with exactly one warning when the addon is missing', () => {
    const run = selectBackend({ RANDLAB_NATIVE_PATH: missingAddon });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('ts');
    const warnings = run.stderr.split('\n').filter((line) => line.includes('native kernels unavailable'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(missingAddon);
  });

  it('RANDLAB_KERNELS=native fails loudly when the addon is missing', () => {
    const run = selectBackend({ RANDLAB_KERNELS: 'native', RANDLAB_NATIVE_PATH: missingAddon });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/RANDLAB_KERNELS=native but the native kernels are unavailable/);
  });
});
