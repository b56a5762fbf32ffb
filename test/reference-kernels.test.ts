/**
 * Exact values of the reference kernels on small hand-computed examples and against independent
 * float64 formulas. These kernels are the specification the native ones are tested against.
 */
import { describe, expect, it } from 'vitest';
import type { Conv2dParams, KernelName, Pool2dParams } from '../src/kernels/interface.js';
import { referenceKernels as k } from '../src/kernels/reference/index.js';
import { conv2dParams, pool2dParams } from '../src/tensor/ops/util.js';
import { Rng } from '../src/tensor/rng.js';
import { randomArray } from './helpers/random.js';

const f32 = (values: number[]): Float32Array => Float32Array.from(values);
const rng = new Rng(99, 'reference-kernels');

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i]! - expected[i]!) <= tolerance * Math.max(1, Math.abs(expected[i]!)))) {
      throw new Error(`element ${i}: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

describe('the reference backend', () => {
  it('implements every kernel of the interface', () => {
    // A Record over KernelName fails to compile when the interface gains a kernel this list lacks.
    const names: Record<KernelName, true> = {
      gemm: true,
      addRowVector: true,
      sumRows: true,
      conv2dForward: true,
      conv2dBackwardData: true,
      conv2dBackwardFilter: true,
      maxPool2dForward: true,
      maxPool2dBackward: true,
      avgPool2dForward: true,
      avgPool2dBackward: true,
      batchNormTrainForward: true,
      batchNormEvalForward: true,
      batchNormBackward: true,
      reluForward: true,
      reluBackward: true,
      add: true,
      axpy: true,
      scale: true,
      mul: true,
      fill: true,
      sum: true,
      sumSquares: true,
      globalAvgPoolForward: true,
      globalAvgPoolBackward: true,
      softmaxCrossEntropyForward: true,
      softmaxCrossEntropyBackward: true,
      sgdUpdate: true,
      gemmSgdUpdate: true,
      adamUpdate: true,
      allocateFloat32: true,
    };
    expect(k.name).toBe('ts');
    for (const name of Object.keys(names) as KernelName[]) expect(typeof k[name], name).toBe('function');
    expect(Object.keys(k).length).toBe(Object.keys(names).length + 1);
  });
});

describe('gemm', () => {
  /** op(A)·op(B) by the definition, in float64. */
  function naiveGemm(
    a: Float32Array,
    b: Float32Array,
    m: number,
    n: number,
    kk: number,
    transA: boolean,
    transB: boolean,
  ): Float64Array {
    const out = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let l = 0; l < kk; l++)
          s += (transA ? a[l * m + i]! : a[i * kk + l]!) * (transB ? b[j * kk + l]! : b[l * n + j]!);
        out[i * n + j] = s;
      }
    }
    return out;
  }

  it('multiplies a hand example', () => {
    // [[1, 2, 3], [4, 5, 6]] · [[7, 8], [9, 10], [11, 12]] = [[58, 64], [139, 154]]
    const c = new Float32Array(4);
    k.gemm(f32([1, 2, 3, 4, 5, 6]), f32([7, 8, 9, 10, 11, 12]), c, {
      m: 2,
      n: 2,
      k: 3,
      transA: false,
      transB: false,
      alpha: 1,
      beta: 0,
    });
    expect(Array.from(c)).toEqual([58, 64, 139, 154]);
  });

  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      it(`matches the definition with transA=${transA}, transB=${transB}, alpha and beta`, () => {
        const [m, n, kk] = [5, 3, 4];
        const a = randomArray(rng, m * kk);
        const b = randomArray(rng, kk * n);
        const c0 = randomArray(rng, m * n);
        const c = Float32Array.from(c0);
        k.gemm(a, b, c, { m, n, k: kk, transA, transB, alpha: 0.5, beta: 2 });
        const product = naiveGemm(a, b, m, n, kk, transA, transB);
        expectClose(
          c,
          Array.from(product, (v, i) => 0.5 * v + 2 * c0[i]!),
        );
      });
    }
  }

  it('ignores the contents of C when beta is 0, even NaN', () => {
    const c = f32([NaN, NaN]);
    k.gemm(f32([1, 2]), f32([3, 4, 5, 6]), c, { m: 1, n: 2, k: 2, transA: false, transB: false, alpha: 1, beta: 0 });
    expect(Array.from(c)).toEqual([13, 16]);
  });

  it('propagates 0 · Infinity as NaN', () => {
    const c = new Float32Array(1);
    k.gemm(f32([0]), f32([Infinity]), c, { m: 1, n: 1, k: 1, transA: false, transB: false, alpha: 1, beta: 0 });
    expect(c[0]).toBeNaN();
  });

  it('addRowVector and sumRows', () => {
    const y = f32([1, 2, 3, 4, 5, 6]);
    k.addRowVector(y, f32([10, 20, 30]), 2, 3);
    expect(Array.from(y)).toEqual([11, 22, 33, 14, 25, 36]);
    const out = f32([100, 100, 100]);
    k.sumRows(y, out, 2, 3, 1);
    expect(Array.from(out)).toEqual([125, 147, 169]);
    k.sumRows(y, out, 2, 3, 0);
    expect(Array.from(out)).toEqual([25, 47, 69]);
  });
});

/** Cross-correlation with zero padding by the definition, in float64. */
function naiveConv(x: Float32Array, w: Float32Array, bias: Float32Array | null, p: Conv2dParams): Float64Array {
  const y = new Float64Array(p.n * p.outC * p.outH * p.outW);
  for (let b = 0; b < p.n; b++)
    for (let o = 0; o < p.outC; o++)
      for (let oh = 0; oh < p.outH; oh++)
        for (let ow = 0; ow < p.outW; ow++) {
          let s = bias ? bias[o]! : 0;
          for (let c = 0; c < p.c; c++)
            for (let i = 0; i < p.kh; i++)
              for (let j = 0; j < p.kw; j++) {
                const ih = oh * p.strideH - p.padH + i;
                const iw = ow * p.strideW - p.padW + j;
                if (ih < 0 || ih >= p.h || iw < 0 || iw >= p.w) continue;
                s += x[((b * p.c + c) * p.h + ih) * p.w + iw]! * w[((o * p.c + c) * p.kh + i) * p.kw + j]!;
              }
          y[((b * p.outC + o) * p.outH + oh) * p.outW + ow] = s;
        }
  return y;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

describe('conv2d', () => {
  it('is a cross-correlation (hand example)', () => {
    // x = 1..9 in a 3×3 plane, w = [[1, 0], [0, -1]]: y[i, j] = x[i, j] − x[i+1, j+1] = −4, plus bias 0.5.
    const p = conv2dParams(1, 1, 3, 3, 1, [2, 2], [1, 1], [0, 0]);
    const y = new Float32Array(4);
    k.conv2dForward(f32([1, 2, 3, 4, 5, 6, 7, 8, 9]), f32([1, 0, 0, -1]), f32([0.5]), y, p);
    expect(Array.from(y)).toEqual([-3.5, -3.5, -3.5, -3.5]);
  });

  it('pads with zeros (hand example)', () => {
    // All-ones 2×2 input and 3×3 all-ones kernel with padding 1: every output sees all 4 inputs.
    const p = conv2dParams(1, 1, 2, 2, 1, [3, 3], [1, 1], [1, 1]);
    const y = new Float32Array(4);
    k.conv2dForward(f32([1, 1, 1, 1]), new Float32Array(9).fill(1), null, y, p);
    expect(Array.from(y)).toEqual([4, 4, 4, 4]);
    // Stride 2 with padding 1 on a 3×3 input 1..9 and a 3×3 kernel of ones: the 4 corner windows.
    const p2 = conv2dParams(1, 1, 3, 3, 1, [3, 3], [2, 2], [1, 1]);
    const y2 = new Float32Array(4);
    k.conv2dForward(f32([1, 2, 3, 4, 5, 6, 7, 8, 9]), new Float32Array(9).fill(1), null, y2, p2);
    expect(Array.from(y2)).toEqual([1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9]);
  });

  const geometries: Array<[string, Conv2dParams]> = [
    ['1×1', conv2dParams(2, 3, 4, 5, 2, [1, 1], [1, 1], [0, 0])],
    ['3×3 pad 1', conv2dParams(2, 3, 7, 5, 4, [3, 3], [1, 1], [1, 1])],
    ['3×3 stride 2 pad 1', conv2dParams(1, 2, 7, 5, 3, [3, 3], [2, 2], [1, 1])],
    ['5×5 stride 2 pad 2', conv2dParams(1, 2, 8, 7, 2, [5, 5], [2, 2], [2, 2])],
    ['7×7 stride 2 pad 3', conv2dParams(1, 3, 9, 9, 2, [7, 7], [2, 2], [3, 3])],
    ['3×2 stride (2,1) pad (0,1)', conv2dParams(2, 2, 6, 5, 3, [3, 2], [2, 1], [0, 1])],
  ];
  for (const [label, p] of geometries) {
    it(`forward matches the definition and both backwards are its adjoints (${label})`, () => {
      const x = randomArray(rng, p.n * p.c * p.h * p.w);
      const w = randomArray(rng, p.outC * p.c * p.kh * p.kw);
      const bias = randomArray(rng, p.outC);
      const y = new Float32Array(p.n * p.outC * p.outH * p.outW);
      k.conv2dForward(x, w, bias, y, p);
      expectClose(y, naiveConv(x, w, bias, p), 1e-5);
      // ⟨conv(x, w), dy⟩ = ⟨x, dx⟩ = ⟨w, dw⟩ because the convolution is bilinear.
      const dy = randomArray(rng, y.length);
      const dx = new Float32Array(x.length).fill(NaN);
      const dw = new Float32Array(w.length).fill(NaN);
      const dbias = new Float32Array(p.outC).fill(NaN);
      k.conv2dBackwardData(dy, w, dx, p);
      k.conv2dBackwardFilter(x, dy, dw, dbias, p);
      const reference = dot(naiveConv(x, w, null, p), dy);
      expect(dot(x, dx)).toBeCloseTo(reference, 4);
      expect(dot(w, dw)).toBeCloseTo(reference, 4);
      // Each dbias[o] is Σ dy over channel o.
      const plane = p.outH * p.outW;
      for (let o = 0; o < p.outC; o++) {
        let s = 0;
        for (let b = 0; b < p.n; b++) for (let i = 0; i < plane; i++) s += dy[(b * p.outC + o) * plane + i]!;
        expect(dbias[o]).toBeCloseTo(s, 5);
      }
    });
  }
});

describe('pooling', () => {
  it('max pool picks the first maximum of a tie in row-major order', () => {
    // One 2×2 window holding [5, 5; 5, 1]: the winner is index 0.
    const y = new Float32Array(1);
    const indices = new Int32Array(1);
    k.maxPool2dForward(f32([5, 5, 5, 1]), y, indices, pool2dParams(1, 1, 2, 2, [2, 2], [2, 2], [0, 0]));
    expect(y[0]).toBe(5);
    expect(indices[0]).toBe(0);
    // [1, 7; 7, 7]: the first 7 is at index 1.
    k.maxPool2dForward(f32([1, 7, 7, 7]), y, indices, pool2dParams(1, 1, 2, 2, [2, 2], [2, 2], [0, 0]));
    expect(indices[0]).toBe(1);
  });

  it('max pool treats padding as −∞ (all-negative input)', () => {
    // 3×3 input −1..−9, kernel 3, stride 2, padding 1: four windows at the corners.
    const x = f32([-1, -2, -3, -4, -5, -6, -7, -8, -9]);
    const p = pool2dParams(1, 1, 3, 3, [3, 3], [2, 2], [1, 1]);
    const y = new Float32Array(4);
    const indices = new Int32Array(4);
    k.maxPool2dForward(x, y, indices, p);
    expect(Array.from(y)).toEqual([-1, -2, -4, -5]);
    expect(Array.from(indices)).toEqual([0, 1, 3, 4]);
    // Backward routes gradients to the winners; index 0 wins one window here.
    const dx = new Float32Array(9).fill(NaN);
    k.maxPool2dBackward(f32([1, 2, 3, 4]), indices, dx, p);
    expect(Array.from(dx)).toEqual([1, 2, 0, 3, 4, 0, 0, 0, 0]);
  });

  it('max pool backward adds up when one input wins overlapping windows', () => {
    // 1×3 row [0, 9, 0] with 1×2 windows at stride 1: 9 wins both.
    const p: Pool2dParams = {
      n: 1,
      c: 1,
      h: 1,
      w: 3,
      kh: 1,
      kw: 2,
      strideH: 1,
      strideW: 1,
      padH: 0,
      padW: 0,
      outH: 1,
      outW: 2,
    };
    const y = new Float32Array(2);
    const indices = new Int32Array(2);
    k.maxPool2dForward(f32([0, 9, 0]), y, indices, p);
    const dx = new Float32Array(3);
    k.maxPool2dBackward(f32([0.5, 0.25]), indices, dx, p);
    expect(Array.from(dx)).toEqual([0, 0.75, 0]);
  });

  it('max pool propagates NaN', () => {
    const y = new Float32Array(1);
    k.maxPool2dForward(f32([1, NaN, 3, 2]), y, new Int32Array(1), pool2dParams(1, 1, 2, 2, [2, 2], [2, 2], [0, 0]));
    expect(y[0]).toBeNaN();
  });

  it('average pool counts padding in the divisor (count_include_pad=True)', () => {
    // All-ones 3×3, kernel 3, stride 1, padding 1: a corner sees 4 ones, an edge 6, the centre 9; divisor 9.
    const p = pool2dParams(1, 1, 3, 3, [3, 3], [1, 1], [1, 1]);
    const y = new Float32Array(9);
    k.avgPool2dForward(new Float32Array(9).fill(1), y, p);
    expectClose(y, [4 / 9, 6 / 9, 4 / 9, 6 / 9, 1, 6 / 9, 4 / 9, 6 / 9, 4 / 9]);
    // Backward: each input receives 1/9 from each window it lies in.
    const dx = new Float32Array(9).fill(NaN);
    k.avgPool2dBackward(new Float32Array(9).fill(1), dx, p);
    expectClose(dx, [4 / 9, 6 / 9, 4 / 9, 6 / 9, 1, 6 / 9, 4 / 9, 6 / 9, 4 / 9]);
  });

  it('average pool, 2×2 windows, stride 2 (hand example)', () => {
    const y = new Float32Array(4);
    k.avgPool2dForward(
      f32([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]),
      y,
      pool2dParams(1, 1, 4, 4, [2, 2], [2, 2], [0, 0]),
    );
    expect(Array.from(y)).toEqual([3.5, 5.5, 11.5, 13.5]);
  });

  it('global average pool and its backward', () => {
    const y = new Float32Array(2);
    k.globalAvgPoolForward(f32([1, 2, 3, 4, 10, 20, 30, 40]), y, 2, 4);
    expect(Array.from(y)).toEqual([2.5, 25]);
    const dx = new Float32Array(8);
    k.globalAvgPoolBackward(f32([4, 8]), dx, 2, 4);
    expect(Array.from(dx)).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
  });
});

describe('batch norm', () => {
  it('normalises with the biased variance and updates running stats with the unbiased one', () => {
    // One channel, x = [1, 2, 3, 4] as [n=2, c=1, spatial=2]: mean 2.5, biased var 1.25, unbiased 5/3.
    const x = f32([1, 2, 3, 4]);
    const y = new Float32Array(4);
    const saveMean = new Float32Array(1);
    const saveInvStd = new Float32Array(1);
    const runningMean = f32([0]);
    const runningVar = f32([1]);
    const p = { n: 2, c: 1, spatial: 2, eps: 1e-5, momentum: 0.1 };
    k.batchNormTrainForward(x, f32([2]), f32([0.5]), y, saveMean, saveInvStd, runningMean, runningVar, p);
    const invStd = 1 / Math.sqrt(1.25 + 1e-5);
    expectClose(
      y,
      [-1.5, -0.5, 0.5, 1.5].map((d) => 2 * d * invStd + 0.5),
    );
    expect(saveMean[0]).toBe(2.5);
    expect(saveInvStd[0]).toBeCloseTo(invStd, 6);
    expect(runningMean[0]).toBeCloseTo(0.9 * 0 + 0.1 * 2.5, 7);
    expect(runningVar[0]).toBeCloseTo(0.9 * 1 + 0.1 * (5 / 3), 6);
    // Eval mode with those running statistics.
    const yEval = new Float32Array(4);
    k.batchNormEvalForward(x, f32([2]), f32([0.5]), runningMean, runningVar, yEval, p);
    expectClose(
      yEval,
      Array.from(x, (v) => (2 * (v - runningMean[0]!)) / Math.sqrt(runningVar[0]! + 1e-5) + 0.5),
    );
  });

  it('keeps channels apart in the [n, c, spatial] layout', () => {
    // n=2, c=2, spatial=1: channel 0 = [1, 3], channel 1 = [10, 30].
    const x = f32([1, 10, 3, 30]);
    const y = new Float32Array(4);
    const saveMean = new Float32Array(2);
    const saveInvStd = new Float32Array(2);
    const p = { n: 2, c: 2, spatial: 1, eps: 0, momentum: 1 };
    const runningMean = new Float32Array(2);
    const runningVar = new Float32Array(2);
    k.batchNormTrainForward(x, f32([1, 1]), f32([0, 0]), y, saveMean, saveInvStd, runningMean, runningVar, p);
    expect(Array.from(y)).toEqual([-1, -1, 1, 1]);
    expect(Array.from(saveMean)).toEqual([2, 20]);
    expect(Array.from(runningVar)).toEqual([2, 200]); // momentum 1: the unbiased batch variance itself
  });

  it('backward gives dbeta = Σ dy, dgamma = Σ dy · x̂ and a dx orthogonal to 1 and x̂', () => {
    // eps = 0 makes Σ x̂² = n exactly, so dx is exactly orthogonal to x̂.
    const p = { n: 3, c: 2, spatial: 4, eps: 0, momentum: 0.1 };
    const x = randomArray(rng, 24);
    const dy = randomArray(rng, 24);
    const gamma = f32([1.5, -0.5]);
    const y = new Float32Array(24);
    const mean = new Float32Array(2);
    const invStd = new Float32Array(2);
    k.batchNormTrainForward(x, gamma, f32([0, 0]), y, mean, invStd, new Float32Array(2), new Float32Array(2), p);
    const dx = new Float32Array(24);
    const dgamma = new Float32Array(2);
    const dbeta = new Float32Array(2);
    k.batchNormBackward(x, dy, gamma, mean, invStd, dx, dgamma, dbeta, p);
    for (let c = 0; c < 2; c++) {
      let sumDy = 0;
      let sumDyXhat = 0;
      let sumDx = 0;
      let sumDxXhat = 0;
      for (let b = 0; b < 3; b++)
        for (let s = 0; s < 4; s++) {
          const i = (b * 2 + c) * 4 + s;
          const xhat = (x[i]! - mean[c]!) * invStd[c]!;
          sumDy += dy[i]!;
          sumDyXhat += dy[i]! * xhat;
          sumDx += dx[i]!;
          sumDxXhat += dx[i]! * xhat;
        }
      expect(dbeta[c]).toBeCloseTo(sumDy, 5);
      expect(dgamma[c]).toBeCloseTo(sumDyXhat, 5);
      // The normalisation removes the mean and the scale, so dx has no component along them.
      expect(sumDx).toBeCloseTo(0, 5);
      expect(sumDxXhat).toBeCloseTo(0, 5);
    }
  });
});

describe('elementwise and reductions', () => {
  it('relu forward and backward', () => {
    const y = new Float32Array(4);
    k.reluForward(f32([-1, 0, 2, NaN]), y);
    expect(Array.from(y.slice(0, 3))).toEqual([0, 0, 2]);
    expect(y[3]).toBeNaN();
    const dx = new Float32Array(3);
    k.reluBackward(f32([0, 0, 2]), f32([5, 6, 7]), dx);
    expect(Array.from(dx)).toEqual([0, 0, 7]);
  });

  it('add, axpy, scale, mul, fill', () => {
    const out = new Float32Array(3);
    k.add(f32([1, 2, 3]), f32([10, 20, 30]), out);
    expect(Array.from(out)).toEqual([11, 22, 33]);
    k.axpy(2, f32([1, 1, 1]), out);
    expect(Array.from(out)).toEqual([13, 24, 35]);
    k.scale(f32([1, -2, 3]), -0.5, out);
    expect(Array.from(out)).toEqual([-0.5, 1, -1.5]);
    k.mul(f32([1, -2, 3]), f32([4, 5, 6]), out);
    expect(Array.from(out)).toEqual([4, -10, 18]);
    k.fill(out, 7);
    expect(Array.from(out)).toEqual([7, 7, 7]);
  });

  it('sum and sumSquares accumulate in float64', () => {
    // In float32, 2^24 + 1 rounds back to 2^24: a float32 accumulator would return 2^24.
    expect(k.sum(f32([16777216, 1, 1]))).toBe(16777218);
    expect(k.sumSquares(f32([4096, 1, 1]))).toBe(16777218);
  });
});

describe('softmax cross-entropy', () => {
  it('hand example', () => {
    // Row 0: logits [0, 0] → loss ln 2. Row 1: [ln 3, 0], label 1 → probs [3/4, 1/4], loss ln 4.
    const probs = new Float32Array(4);
    const loss = k.softmaxCrossEntropyForward(f32([0, 0, Math.log(3), 0]), Int32Array.from([0, 1]), probs, 2, 2);
    expect(loss).toBeCloseTo((Math.log(2) + Math.log(4)) / 2, 6);
    expectClose(probs, [0.5, 0.5, 0.75, 0.25]);
    const dlogits = new Float32Array(4);
    k.softmaxCrossEntropyBackward(probs, Int32Array.from([0, 1]), dlogits, 2, 2, 0.5);
    expectClose(dlogits, [-0.25, 0.25, 0.375, -0.375]);
  });

  it('is stable for huge logits', () => {
    const probs = new Float32Array(2);
    const loss = k.softmaxCrossEntropyForward(f32([1e30, 0]), Int32Array.from([1]), probs, 1, 2);
    // −log softmax[1] = log(1 + e^(−z)) + z for z = float32(1e30): finite, no overflow of exp.
    expect(loss).toBe(Math.fround(1e30));
    expect(Array.from(probs)).toEqual([1, 0]);
    expect(k.softmaxCrossEntropyForward(f32([1000, 1000]), Int32Array.from([0]), probs, 1, 2)).toBeCloseTo(
      Math.log(2),
      10,
    );
  });
});

describe('optimisers (two steps against hand-computed torch.optim values)', () => {
  const sgd = { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0.01, nesterov: false };

  it('SGD with momentum and weight decay', () => {
    // Step 1: d = 0.5 + 0.01·1 = 0.51, buf = 0.51, p = 1 − 0.051 = 0.949.
    // Step 2: d = 0.5 + 0.00949 = 0.50949, buf = 0.9·0.51 + 0.50949 = 0.96849, p = 0.949 − 0.096849.
    const param = f32([1]);
    const buf = new Float32Array(1);
    k.sgdUpdate(param, f32([0.5]), buf, { ...sgd, firstStep: true });
    expect(param[0]).toBeCloseTo(0.949, 6);
    expect(buf[0]).toBeCloseTo(0.51, 6);
    k.sgdUpdate(param, f32([0.5]), buf, { ...sgd, firstStep: false });
    expect(buf[0]).toBeCloseTo(0.96849, 6);
    expect(param[0]).toBeCloseTo(0.852151, 6);
  });

  it('SGD with Nesterov momentum', () => {
    // Step 1: d = 0.51, buf = 0.51, d ← 0.51 + 0.9·0.51 = 0.969, p = 0.9031.
    // Step 2: d = 0.509031, buf = 0.459 + 0.509031 = 0.968031, d ← 0.509031 + 0.8712279, p = 0.9031 − 0.13802589.
    const param = f32([1]);
    const buf = new Float32Array(1);
    k.sgdUpdate(param, f32([0.5]), buf, { ...sgd, nesterov: true, firstStep: true });
    expect(param[0]).toBeCloseTo(0.9031, 6);
    k.sgdUpdate(param, f32([0.5]), buf, { ...sgd, nesterov: true, firstStep: false });
    expect(param[0]).toBeCloseTo(0.76507411, 6);
  });

  it('SGD dampening does not apply on the first step', () => {
    // buf = g = 0.5 first (p = 0.95), then buf = 0.9·0.5 + 0.5·0.5 = 0.7 (p = 0.88).
    const param = f32([1]);
    const buf = new Float32Array(1);
    const p = { lr: 0.1, momentum: 0.9, dampening: 0.5, weightDecay: 0, nesterov: false };
    k.sgdUpdate(param, f32([0.5]), buf, { ...p, firstStep: true });
    expect(param[0]).toBeCloseTo(0.95, 6);
    k.sgdUpdate(param, f32([0.5]), buf, { ...p, firstStep: false });
    expect(buf[0]).toBeCloseTo(0.7, 6);
    expect(param[0]).toBeCloseTo(0.88, 6);
  });

  it('plain SGD needs no momentum buffer', () => {
    const param = f32([1, 2]);
    k.sgdUpdate(param, f32([1, -1]), null, {
      lr: 0.5,
      momentum: 0,
      dampening: 0,
      weightDecay: 0,
      nesterov: false,
      firstStep: true,
    });
    expect(Array.from(param)).toEqual([0.5, 2.5]);
  });

  const adam = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

  it('Adam', () => {
    // Step 1 (g = 0.5): m = 0.05, v = 0.00025, m̂ = 0.5, v̂ = 0.25, p = 1 − 0.1 · 0.5 / (0.5 + 1e-8) ≈ 0.9.
    // Step 2 (g = −0.25): m = 0.02, v = 0.00031225, m̂ = 0.02 / 0.19, v̂ = 0.00031225 / 0.001999,
    // p = 0.9 − 0.1 · m̂ / (sqrt(v̂) + 1e-8) ≈ 0.873366.
    const param = f32([1]);
    const m = new Float32Array(1);
    const v = new Float32Array(1);
    k.adamUpdate(param, f32([0.5]), m, v, { ...adam, weightDecay: 0, decoupled: false, step: 1 });
    expect(m[0]).toBeCloseTo(0.05, 7);
    expect(v[0]).toBeCloseTo(0.00025, 9);
    expect(param[0]).toBeCloseTo(0.9, 6);
    k.adamUpdate(param, f32([-0.25]), m, v, { ...adam, weightDecay: 0, decoupled: false, step: 2 });
    const mHat = 0.02 / 0.19;
    const vHat = 0.00031225 / 0.001999;
    expect(m[0]).toBeCloseTo(0.02, 7);
    expect(v[0]).toBeCloseTo(0.00031225, 9);
    expect(param[0]).toBeCloseTo(0.9 - (0.1 * mHat) / (Math.sqrt(vHat) + 1e-8), 6);
    expect(param[0]).toBeCloseTo(0.873366, 5);
  });

  it('Adam adds weight decay to the gradient; AdamW decays the weights first', () => {
    // Adam, wd 0.1: g = 0.5 + 0.1 = 0.6, m̂ = 0.6, v̂ = 0.36, p = 1 − 0.1 = 0.9.
    const adamParam = f32([1]);
    k.adamUpdate(adamParam, f32([0.5]), new Float32Array(1), new Float32Array(1), {
      ...adam,
      weightDecay: 0.1,
      decoupled: false,
      step: 1,
    });
    expect(adamParam[0]).toBeCloseTo(0.9, 6);
    // AdamW, wd 0.1: p = 1 · (1 − 0.1 · 0.1) = 0.99, then − 0.1 · 0.5 / 0.5 → 0.89.
    const param = f32([1]);
    const m = new Float32Array(1);
    const v = new Float32Array(1);
    k.adamUpdate(param, f32([0.5]), m, v, { ...adam, weightDecay: 0.1, decoupled: true, step: 1 });
    expect(param[0]).toBeCloseTo(0.89, 6);
    // Step 2 (g = 0.5 again): p = 0.89 · 0.99 − 0.1 · (0.095 / 0.19) / (sqrt(0.0004997 / 0.001999) + 1e-8).
    k.adamUpdate(param, f32([0.5]), m, v, { ...adam, weightDecay: 0.1, decoupled: true, step: 2 });
    const vHat = (0.999 * 0.00025 + 0.001 * 0.25) / (1 - 0.999 ** 2);
    expect(param[0]).toBeCloseTo(0.89 * 0.99 - (0.1 * (0.095 / 0.19)) / (Math.sqrt(vHat) + 1e-8), 6);
  });
});
