/**
 * The WGSL kernels against the TypeScript reference, on awkward shapes: length 1, sizes around the
 * 256-thread workgroup and the 64×64 GEMM tile, m, n or k of 1, batch 1, one class, and one
 * moderately large GEMM (300×257×129) in all four layouts.
 *
 * Tolerances, with u = 2⁻²⁴ (float32's unit roundoff), and why:
 * - exact where float32 gives one correctly rounded result, as the reference's float64 value
 *   rounded once (add, mul, relu, fill, addRowVector);
 * - elementwise maps with a float64 scalar or two roundings (scale, axpy, the cross-entropy
 *   backward): 4u·(sum of the magnitudes of the terms);
 * - GEMM: 2(k + 2)·u·(|α|·(|A||B|)ᵢⱼ + |β·Cᵢⱼ|), the classic bound γₖ for a float32 dot product of
 *   length k in any order (doubled for the alpha and beta roundings), so it holds for every tiling;
 * - sums (sum, sumSquares, sumRows, the mean loss): (serial run + 2·8 tree levels + 2)·2u·Σ|x|;
 * - softmax and SGD: 1e-5 · max(1, |reference|): a handful of float32 roundings plus WGSL's exp
 *   and log, whose accuracy is 3 + 2|x| ULP and 3 ULP (absolute 2⁻²¹ near 1), on values of order 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GemmParams, SgdParams } from '../src/kernels/interface.js';
import { add, mul } from '../src/kernels/reference/elementwise.js';
import { referenceKernels as ref } from '../src/kernels/reference/index.js';
import * as gpuKernels from '../src/kernels/webgpu/index.js';
import { releaseWebGpu, WebGpu, type DeviceArray } from '../src/kernels/webgpu/index.js';
import { Rng } from '../src/tensor/rng.js';
import { randomArray, randomLabelValues } from './helpers/random.js';
import { expectExact, expectWithin, webgpuMissing } from './helpers/webgpu.js';

const u = 2 ** -24;
const rng = new Rng(2026, 'webgpu-kernels');
const LENGTHS = [1, 7, 255, 256, 257, 1000, 70_001];

describe.skipIf(webgpuMissing)('WebGPU kernels against the reference', () => {
  let gpu: WebGpu;
  beforeAll(async () => {
    gpu = await WebGpu.acquire();
  });
  afterAll(async () => {
    await releaseWebGpu();
  });

  const up = (data: Float32Array | Int32Array): DeviceArray => gpu.upload(data);
  const down = (array: DeviceArray): Promise<Float32Array> => gpu.download(array);

  describe('gemm', () => {
    // [m, n, k]: ones, single rows and columns, tile edges (64, 16) ± 1, and one moderately large product.
    const SHAPES: [number, number, number][] = [
      [1, 1, 1],
      [1, 7, 1],
      [7, 1, 5],
      [1, 1, 300],
      [5, 3, 0],
      [64, 64, 16],
      [65, 63, 17],
      [3, 130, 1],
      [129, 2, 33],
      [300, 257, 129],
    ];
    const LAYOUTS = [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const;
    const SCALINGS = [
      [1, 0],
      [-0.75, 1.5],
    ] as const;

    const abs = (a: Float32Array): Float32Array => a.map(Math.abs);

    for (const [m, n, k] of SHAPES) {
      for (const [transA, transB] of LAYOUTS) {
        it(`${m}×${n}×${k}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''}`, async () => {
          const a = randomArray(rng, m * k);
          const b = randomArray(rng, k * n);
          for (const [alpha, beta] of SCALINGS) {
            const c = randomArray(rng, m * n);
            // beta = 0 must ignore C entirely, NaN included.
            if (beta === 0 && c.length > 0) c[0] = NaN;
            const p: GemmParams = { m, n, k, transA, transB, alpha, beta };
            const deviceC = up(c);
            gpuKernels.gemm(gpu, up(a), up(b), deviceC, p);
            const expected = Float32Array.from(c);
            ref.gemm(a, b, expected, p);
            const magnitude = new Float32Array(m * n);
            ref.gemm(abs(a), abs(b), magnitude, { ...p, alpha: Math.abs(alpha), beta: 0 });
            const bound = (i: number): number =>
              2 * (k + 2) * u * (magnitude[i]! + (beta === 0 ? 0 : Math.abs(beta * c[i]!)));
            expectWithin(await down(deviceC), expected, bound, `gemm ${m}×${n}×${k} α=${alpha} β=${beta}`);
          }
        });
      }
    }

    it('names the kernel, the array and the shape when a length is wrong', () => {
      const p: GemmParams = { m: 2, n: 3, k: 4, transA: false, transB: false, alpha: 1, beta: 0 };
      const a = gpu.createArray(8, 'f32', 'weights');
      expect(() => gpuKernels.gemm(gpu, a, gpu.createArray(11), gpu.createArray(6), p)).toThrow(
        /webgpu gemm: B \(array\) has 11 elements; m=2 n=3 k=4 needs 12/,
      );
    });
  });

  describe('elementwise maps', () => {
    for (const length of LENGTHS) {
      it(`length ${length}`, async () => {
        const x = randomArray(rng, length);
        const y = randomArray(rng, length);
        // relu must keep NaN (torch.relu does), and −0 and exact zeros are edge cases of its test.
        if (length > 3) [x[0], x[1], x[2]] = [NaN, -0, 0];
        const alpha = 0.3;

        const expectedRelu = new Float32Array(length);
        ref.reluForward(x, expectedRelu);
        const relu = gpu.createArray(length);
        gpuKernels.reluForward(gpu, up(x), relu);
        expectExact(await down(relu), expectedRelu, 'reluForward');

        const expectedDx = new Float32Array(length);
        ref.reluBackward(expectedRelu, y, expectedDx);
        const dx = gpu.createArray(length);
        gpuKernels.reluBackward(gpu, up(expectedRelu), up(y), dx);
        expectExact(await down(dx), expectedDx, 'reluBackward');

        const finiteX = randomArray(rng, length);
        for (const [name, refOp, gpuOp] of [
          ['add', add, gpuKernels.add],
          ['mul', mul, gpuKernels.mul],
        ] as const) {
          const expected = new Float32Array(length);
          refOp(finiteX, y, expected);
          const out = gpu.createArray(length);
          gpuOp(gpu, up(finiteX), up(y), out);
          expectExact(await down(out), expected, name);
        }

        const scaled = new Float32Array(length);
        ref.scale(finiteX, alpha, scaled);
        const scaleOut = gpu.createArray(length);
        gpuKernels.scale(gpu, up(finiteX), alpha, scaleOut);
        expectWithin(await down(scaleOut), scaled, (i) => 4 * u * Math.abs(scaled[i]!), 'scale');

        const axpyExpected = Float32Array.from(y);
        ref.axpy(alpha, finiteX, axpyExpected);
        const axpyY = up(y);
        gpuKernels.axpy(gpu, alpha, up(finiteX), axpyY);
        const axpyBound = (i: number): number => 4 * u * (Math.abs(alpha * finiteX[i]!) + Math.abs(y[i]!));
        expectWithin(await down(axpyY), axpyExpected, axpyBound, 'axpy');

        const filled = up(y);
        gpuKernels.fill(gpu, filled, -2.5);
        expectExact(await down(filled), new Float32Array(length).fill(-2.5), 'fill');
      });
    }

    for (const [rows, cols] of [
      [1, 1],
      [1, 300],
      [300, 1],
      [17, 33],
      [128, 1000],
    ] as const) {
      it(`addRowVector and sumRows on [${rows}, ${cols}]`, async () => {
        const y = randomArray(rng, rows * cols);
        const bias = randomArray(rng, cols);
        const expected = Float32Array.from(y);
        ref.addRowVector(expected, bias, rows, cols);
        const deviceY = up(y);
        gpuKernels.addRowVector(gpu, deviceY, up(bias), rows, cols);
        expectExact(await down(deviceY), expected, 'addRowVector');

        const columnMagnitude = new Float32Array(cols);
        ref.sumRows(y.map(Math.abs), columnMagnitude, rows, cols, 0);
        for (const beta of [0, 1] as const) {
          const start = randomArray(rng, cols);
          const sums = Float32Array.from(start);
          ref.sumRows(y, sums, rows, cols, beta);
          const out = up(start);
          gpuKernels.sumRows(gpu, up(y), out, rows, cols, beta);
          const bound = (j: number): number => (rows + 2) * 2 * u * (columnMagnitude[j]! + beta * Math.abs(start[j]!));
          expectWithin(await down(out), sums, bound, `sumRows beta=${beta}`);
        }
      });
    }

    it('refuses a written array that is also read in the same dispatch', () => {
      const x = gpu.upload(new Float32Array(4), 'x');
      expect(() => gpuKernels.add(gpu, x, gpu.createArray(4), x)).toThrow(
        /webgpu: add: 'a' and 'out' are the same array \(x\), and one is written/,
      );
    });
  });

  describe('reductions', () => {
    for (const length of [...LENGTHS, 65_537, 300_000]) {
      it(`sum and sumSquares of ${length}`, async () => {
        const x = randomArray(rng, length, -2, 3);
        const deviceX = up(x);
        const total = gpu.createArray(1);
        const squares = gpu.createArray(1);
        gpuKernels.sum(gpu, deviceX, total);
        gpuKernels.sumSquares(gpu, deviceX, squares);
        const serialRun = Math.ceil(length / (256 * 256));
        const factor = (serialRun + 2 * 8 + 2) * 2 * u;
        const absSum = ref.sum(x.map(Math.abs));
        expectWithin(await down(total), [ref.sum(x)], () => factor * absSum, 'sum');
        expectWithin(await down(squares), [ref.sumSquares(x)], () => factor * ref.sumSquares(x), 'sumSquares');
      });
    }
  });

  describe('softmax cross-entropy', () => {
    for (const [rows, classes] of [
      [1, 1],
      [1, 10],
      [3, 2],
      [128, 10],
      [300, 200],
      [7, 1000],
    ] as const) {
      it(`${rows} rows of ${classes} classes`, async () => {
        const logits = randomArray(rng, rows * classes, -5, 5);
        const labels = randomLabelValues(rng, rows, classes);
        const probs = new Float32Array(rows * classes);
        const loss = ref.softmaxCrossEntropyForward(logits, labels, probs, rows, classes);
        const deviceLabels = up(labels);
        const deviceProbs = gpu.createArray(rows * classes);
        const deviceLoss = gpu.createArray(1);
        gpuKernels.softmaxCrossEntropyForward(gpu, up(logits), deviceLabels, deviceProbs, deviceLoss, rows, classes);
        const tolerance = (value: number): number => 1e-5 * Math.max(1, Math.abs(value));
        const gotProbs = await down(deviceProbs);
        expectWithin(gotProbs, probs, (i) => tolerance(probs[i]!), 'probs');
        expectWithin(await down(deviceLoss), [loss], () => tolerance(loss), 'mean loss');

        // The backward from the device's own probabilities: a float32 scale, a difference and a product.
        const scale = 1.7 / rows;
        const expected = new Float32Array(rows * classes);
        ref.softmaxCrossEntropyBackward(gotProbs, labels, expected, rows, classes, scale);
        const dlogits = gpu.createArray(rows * classes);
        gpuKernels.softmaxCrossEntropyBackward(gpu, up(gotProbs), deviceLabels, dlogits, rows, classes, scale);
        const terms = (i: number): number => gotProbs[i]! + (labels[Math.floor(i / classes)] === i % classes ? 1 : 0);
        expectWithin(await down(dlogits), expected, (i) => 4 * u * Math.abs(scale) * terms(i), 'dlogits');
      });
    }

    it('checks that labels are i32 and one per row', () => {
      const logits = gpu.createArray(6);
      expect(() =>
        gpuKernels.softmaxCrossEntropyForward(gpu, logits, gpu.createArray(2, 'i32'), logits, gpu.createArray(1), 3, 2),
      ).toThrow(/webgpu softmaxCrossEntropyForward: labels \(array\) has 2 elements; \[3, 2\] needs 3/);
      expect(() =>
        gpuKernels.softmaxCrossEntropyBackward(gpu, logits, gpu.createArray(3), gpu.createArray(6), 3, 2, 1),
      ).toThrow(/labels \(array\) holds f32, expected i32/);
    });
  });

  describe('SGD', () => {
    const base: SgdParams = {
      lr: 0.1,
      momentum: 0,
      dampening: 0,
      weightDecay: 0,
      nesterov: false,
      firstStep: true,
    };
    const CONFIGS: [string, Partial<SgdParams>, boolean][] = [
      ['plain', {}, false],
      ['weight decay', { weightDecay: 5e-4 }, false],
      ['momentum', { momentum: 0.9 }, true],
      ['momentum without a buffer (ignored, as the reference)', { momentum: 0.9 }, false],
      ['momentum, dampening and weight decay', { momentum: 0.9, dampening: 0.3, weightDecay: 1e-2 }, true],
      ['nesterov', { momentum: 0.8, nesterov: true, weightDecay: 1e-3 }, true],
    ];
    for (const [name, config, withBuffer] of CONFIGS) {
      for (const length of [1, 257, 70_001]) {
        it(`${name}, length ${length}, three steps`, async () => {
          const param = randomArray(rng, length);
          const buffer = new Float32Array(length);
          const deviceParam = up(param);
          const deviceBuffer = withBuffer ? up(buffer) : null;
          for (let step = 0; step < 3; step++) {
            const grad = randomArray(rng, length);
            const p: SgdParams = { ...base, ...config, firstStep: step === 0 };
            ref.sgdUpdate(param, grad, withBuffer ? buffer : null, p);
            gpuKernels.sgdUpdate(gpu, deviceParam, up(grad), deviceBuffer, p);
            const tolerance = (values: Float32Array) => (i: number) => 1e-5 * Math.max(1, Math.abs(values[i]!));
            expectWithin(await down(deviceParam), param, tolerance(param), `param after step ${step + 1}`);
            if (deviceBuffer) expectWithin(await down(deviceBuffer), buffer, tolerance(buffer), `momentum buffer`);
          }
        });
      }
    }

    // The fused update against the reference's gemm-then-sgd, three steps, in every layout.
    const GEMM_SHAPES: [number, number, number][] = [
      [1, 1, 1],
      [65, 63, 17],
      [3, 130, 1],
    ];
    for (const [name, config, withBuffer] of CONFIGS.filter(([, , buffer]) => buffer).concat([CONFIGS[1]!])) {
      for (const [m, n, k] of GEMM_SHAPES) {
        it(`gemmSgdUpdate, ${name}, ${m}×${n}×${k}, all layouts, three steps`, async () => {
          for (const [transA, transB] of [
            [false, false],
            [true, false],
            [false, true],
            [true, true],
          ] as const) {
            const param = randomArray(rng, m * n);
            const buffer = new Float32Array(m * n);
            const deviceParam = up(param);
            const deviceBuffer = withBuffer ? up(buffer) : null;
            for (let step = 0; step < 3; step++) {
              const a = randomArray(rng, m * k);
              const b = randomArray(rng, k * n);
              const gemmParams = { m, n, k, transA, transB, alpha: 0.5 };
              const sgd: SgdParams = { ...base, ...config, firstStep: step === 0 };
              ref.gemmSgdUpdate(a, b, param, withBuffer ? buffer : null, gemmParams, sgd);
              gpuKernels.gemmSgdUpdate(gpu, up(a), up(b), deviceParam, deviceBuffer, gemmParams, sgd);
              // The gradient's float32 error (the GEMM bound, |A||B| ≤ k/2 here) scaled by the step, plus the update's.
              const gradientError = 2 * (k + 2) * u * 0.5 * k;
              const bound = (values: Float32Array, scale: number) => (i: number) =>
                1e-5 * Math.max(1, Math.abs(values[i]!)) + scale * 4 * gradientError;
              const what = `${transA ? 'Aᵀ' : 'A'}${transB ? 'Bᵀ' : 'B'} step ${step + 1}`;
              expectWithin(await down(deviceParam), param, bound(param, sgd.lr), `param, ${what}`);
              if (deviceBuffer) expectWithin(await down(deviceBuffer), buffer, bound(buffer, 1), `buffer, ${what}`);
            }
          }
        });
      }
    }
  });
});
