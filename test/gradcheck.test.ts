/** Finite-difference checks of every op's backward, on the reference kernels. */
import { beforeAll, describe, expect, it } from 'vitest';
import { setKernels } from '../src/kernels/index.js';
import {
  add,
  avgPool2d,
  batchNorm,
  conv2d,
  crossEntropy,
  dropout,
  flatten,
  globalAvgPool2d,
  labels,
  linear,
  matmul,
  maxPool2d,
  mean,
  mul,
  recordOp,
  relu,
  Rng,
  scale,
  sum,
  tensor,
  zeros,
  empty,
  type Tensor,
} from '../src/tensor/index.js';
import { checkGradients, gradientMismatches } from './helpers/gradcheck.js';
import { awayFromZeroTensor, distinctTensor, randomLabelValues, randomTensor } from './helpers/random.js';

beforeAll(() => {
  setKernels('ts');
});

const rng = new Rng(2024, 'gradcheck-tests');

describe('gradcheck itself', () => {
  /** 3·x whose backward claims 3·g everywhere except one element. */
  function scaleWithBackward(x: Tensor, wrongAt: number | null, wrongFactor = 3): Tensor {
    const out = empty(x.shape);
    for (let i = 0; i < x.size; i++) out.data[i] = 3 * x.data[i]!;
    return recordOp('testScale', out, [x], (g) => {
      const dx = new Float32Array(g.length);
      for (let i = 0; i < g.length; i++) dx[i] = (i === wrongAt ? wrongFactor : 3) * g[i]!;
      return [dx];
    });
  }

  it('accepts a correct backward', () => {
    const x = randomTensor(rng, [4, 5]);
    expect(gradientMismatches(() => scaleWithBackward(x, null), [x])).toEqual([]);
  });

  it('detects a backward that is wrong in a single element', () => {
    const x = randomTensor(rng, [4, 5]);
    const failures = gradientMismatches(() => scaleWithBackward(x, 7, 3.1), [x]);
    expect(failures.map((f) => f.index)).toEqual([7]);
    expect(() => checkGradients('testScale', () => scaleWithBackward(x, 7, 3.1), [x])).toThrow(
      /testScale: gradient mismatch in 1 element\(s\): input 0 \[4, 5\]\[7\]/,
    );
  });

  it('detects a conv backward that forgets to flip the kernel', () => {
    const x = randomTensor(rng, [1, 1, 5, 5]);
    const w = randomTensor(rng, [1, 1, 3, 3]);
    // Forward is a correct cross-correlation; the backward pretends it is a convolution.
    const wrongConv = (): Tensor => {
      const y = conv2d(x, w.detach(), null, { padding: 1 });
      const out = empty(y.shape);
      out.data.set(y.data);
      return recordOp('wrongConv', out, [x], (g) => {
        const flipped = tensor(Float32Array.from(w.data).reverse(), w.shape);
        const dx = conv2d(tensor(Float32Array.from(g), y.shape), flipped, null, { padding: 1 });
        return [Float32Array.from(dx.data).reverse()];
      });
    };
    expect(gradientMismatches(wrongConv, [x]).length).toBeGreaterThan(0);
  });
});

describe('dense ops', () => {
  it('matmul', () => {
    const a = randomTensor(rng, [3, 4]);
    const b = randomTensor(rng, [4, 5]);
    checkGradients('matmul', () => matmul(a, b), [a, b]);
  });

  it('linear with and without bias, batch 1', () => {
    const x = randomTensor(rng, [1, 6]);
    const w = randomTensor(rng, [4, 6]);
    const b = randomTensor(rng, [4]);
    checkGradients('linear', () => linear(x, w, b), [x, w, b]);
    checkGradients('linear without bias', () => linear(x, w, null), [x, w]);
  });

  it('linear where only the weight needs gradients', () => {
    const x = randomTensor(rng, [3, 5]);
    const w = randomTensor(rng, [2, 5]);
    const b = randomTensor(rng, [2]);
    checkGradients('linear (weight only)', () => linear(x, w, b), [w]);
    expect(x.grad).toBeNull();
    expect(b.grad).toBeNull();
  });
});

describe('conv2d', () => {
  const cases: Array<{
    kernel: number;
    stride: number | [number, number];
    padding: number | [number, number];
    batch: number;
  }> = [
    { kernel: 1, stride: 1, padding: 0, batch: 1 },
    { kernel: 3, stride: 1, padding: 1, batch: 2 },
    { kernel: 3, stride: 2, padding: 0, batch: 1 },
    { kernel: 3, stride: 2, padding: 2, batch: 1 },
    { kernel: 5, stride: 1, padding: 2, batch: 1 },
    { kernel: 5, stride: 2, padding: 1, batch: 2 },
    { kernel: 7, stride: 1, padding: 1, batch: 1 },
    { kernel: 3, stride: [2, 1], padding: [1, 0], batch: 1 },
  ];
  for (const { kernel, stride, padding, batch } of cases) {
    it(`${kernel}×${kernel} kernel, stride ${String(stride)}, padding ${String(padding)}, batch ${batch}, 7×5 input`, () => {
      const x = randomTensor(rng, [batch, 2, 7, 5]);
      const w = randomTensor(rng, [3, 2, kernel, kernel]);
      const b = randomTensor(rng, [3]);
      checkGradients('conv2d', () => conv2d(x, w, b, { stride, padding }), [x, w, b]);
    });
  }

  it('without bias, non-square kernel', () => {
    const x = randomTensor(rng, [2, 3, 6, 5]);
    const w = randomTensor(rng, [2, 3, 3, 2]);
    checkGradients('conv2d', () => conv2d(x, w, null, { padding: [1, 0] }), [x, w]);
  });
});

describe('pooling', () => {
  const cases: Array<{ kernelSize: number; stride?: number; padding?: number }> = [
    { kernelSize: 2 },
    { kernelSize: 3, stride: 2, padding: 1 },
    { kernelSize: 3, stride: 1, padding: 1 },
    { kernelSize: 2, stride: 1, padding: 1 },
  ];
  for (const opts of cases) {
    it(`maxPool2d ${JSON.stringify(opts)} on 7×5`, () => {
      // Distinct values 0.05 apart: a step of 0.01 never changes a window's winner.
      const x = distinctTensor(rng, [2, 2, 7, 5]);
      checkGradients('maxPool2d', () => maxPool2d(x, opts), [x]);
    });
    it(`avgPool2d ${JSON.stringify(opts)} on 7×5`, () => {
      const x = randomTensor(rng, [2, 2, 7, 5]);
      checkGradients('avgPool2d', () => avgPool2d(x, opts), [x]);
    });
  }

  it('maxPool2d with all-negative inputs and padding (padding is −∞, never the max)', () => {
    const x = distinctTensor(rng, [1, 1, 4, 4]);
    for (let i = 0; i < x.size; i++) x.data[i] = x.data[i]! - 5;
    checkGradients('maxPool2d', () => maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }), [x]);
  });

  it('globalAvgPool2d', () => {
    const x = randomTensor(rng, [2, 3, 7, 5]);
    checkGradients('globalAvgPool2d', () => globalAvgPool2d(x), [x]);
  });
});

describe('batchNorm', () => {
  function stats(c: number): { runningMean: Tensor; runningVar: Tensor } {
    return { runningMean: zeros([c]), runningVar: tensor(new Float32Array(c).fill(1)) };
  }

  it('2-d, training', () => {
    const x = randomTensor(rng, [3, 2, 4, 3]);
    const gamma = randomTensor(rng, [2], 0.5, 1.5);
    const beta = randomTensor(rng, [2]);
    const { runningMean, runningVar } = stats(2);
    checkGradients(
      'batchNorm 2d train',
      () => batchNorm(x, gamma, beta, runningMean, runningVar, { training: true }),
      [x, gamma, beta],
      { h: 1e-2, tolerance: 2e-2 },
    );
  });

  it('1-d, training, batch 2', () => {
    const x = randomTensor(rng, [2, 5]);
    const gamma = randomTensor(rng, [5], 0.5, 1.5);
    const beta = randomTensor(rng, [5]);
    const { runningMean, runningVar } = stats(5);
    checkGradients('batchNorm 1d train', () => batchNorm(x, gamma, beta, runningMean, runningVar, { training: true }), [
      x,
      gamma,
      beta,
    ]);
    // With two values per channel x̂ = ±sqrt(var / (var + eps)) ≈ ±1 whatever x is, so the
    // gradient w.r.t. x is small (only eps keeps it from 0): the backward's terms must cancel.
    const gradNorm = Math.hypot(...x.grad!.toArray());
    const gammaGradNorm = Math.hypot(...gamma.grad!.toArray());
    expect(gradNorm).toBeLessThan(0.05 * gammaGradNorm);
  });

  it('1-d, training, batch 6', () => {
    const x = randomTensor(rng, [6, 3]);
    const gamma = randomTensor(rng, [3], 0.5, 1.5);
    const beta = randomTensor(rng, [3]);
    const { runningMean, runningVar } = stats(3);
    checkGradients(
      'batchNorm 1d train',
      () => batchNorm(x, gamma, beta, runningMean, runningVar, { training: true }),
      [x, gamma, beta],
      { tolerance: 2e-2 },
    );
  });

  it('2-d and 1-d, eval', () => {
    const x = randomTensor(rng, [2, 3, 3, 2]);
    const gamma = randomTensor(rng, [3], 0.5, 1.5);
    const beta = randomTensor(rng, [3]);
    const runningMean = randomTensor(rng, [3]);
    const runningVar = randomTensor(rng, [3], 0.5, 2);
    checkGradients('batchNorm 2d eval', () => batchNorm(x, gamma, beta, runningMean, runningVar, { training: false }), [
      x,
      gamma,
      beta,
    ]);
    const x1 = randomTensor(rng, [1, 3]);
    checkGradients(
      'batchNorm 1d eval',
      () => batchNorm(x1, gamma, beta, runningMean, runningVar, { training: false }),
      [x1, gamma, beta],
    );
  });
});

describe('elementwise and reductions', () => {
  it('relu (inputs kept away from the kink)', () => {
    const x = awayFromZeroTensor(rng, [3, 7]);
    checkGradients('relu', () => relu(x), [x]);
  });

  it('add, mul, scale', () => {
    const a = randomTensor(rng, [2, 3, 2]);
    const b = randomTensor(rng, [2, 3, 2]);
    checkGradients('add', () => add(a, b), [a, b]);
    checkGradients('mul', () => mul(a, b), [a, b]);
    checkGradients('scale', () => scale(a, -2.5), [a]);
  });

  it('a tensor used as both operands', () => {
    const a = randomTensor(rng, [5]);
    checkGradients('add(a, a)', () => add(a, a), [a]);
    checkGradients('mul(a, a)', () => mul(a, a), [a]);
  });

  it('sum, mean, flatten', () => {
    const x = randomTensor(rng, [2, 3, 2, 2]);
    checkGradients('sum', () => sum(x), [x]);
    checkGradients('mean', () => mean(x), [x]);
    checkGradients('flatten', () => flatten(x), [x]);
  });

  it('dropout with a fixed mask stream', () => {
    const x = randomTensor(rng, [4, 6]);
    checkGradients('dropout', () => dropout(x, 0.3, { training: true, rng: new Rng(7, 'dropout') }), [x]);
  });

  it('crossEntropy', () => {
    const logits = randomTensor(rng, [5, 4], -2, 2);
    const y = labels(randomLabelValues(rng, 5, 4));
    checkGradients('crossEntropy', () => crossEntropy(logits, y), [logits], { h: 1e-2 });
  });

  it('crossEntropy with batch 1', () => {
    const logits = randomTensor(rng, [1, 3]);
    checkGradients('crossEntropy', () => crossEntropy(logits, labels([2])), [logits]);
  });
});

describe('a small network end to end', () => {
  it('conv → batchNorm → relu → maxPool → flatten → linear → crossEntropy', () => {
    const x = randomTensor(rng, [2, 2, 6, 5]);
    const w = randomTensor(rng, [3, 2, 3, 3], -0.5, 0.5);
    const gamma = randomTensor(rng, [3], 0.5, 1.5);
    const beta = randomTensor(rng, [3], -0.1, 0.1);
    const fcW = randomTensor(rng, [4, 3 * 3 * 2], -0.5, 0.5);
    const fcB = randomTensor(rng, [4]);
    const y = labels([1, 3]);
    const runningMean = zeros([3]);
    const runningVar = tensor(new Float32Array(3).fill(1));
    const net = (): Tensor => {
      const h = conv2d(x, w, null, { padding: 1 });
      const n = batchNorm(h, gamma, beta, runningMean, runningVar, { training: true });
      const p = maxPool2d(relu(n), { kernelSize: 2 });
      return crossEntropy(linear(flatten(p), fcW, fcB), y);
    };
    // Through relu and max-pool a finite difference may cross a kink; a small step keeps it rare,
    // and the check covers the parameters (the usual training gradient).
    checkGradients('network', net, [w, gamma, beta, fcW, fcB], { h: 1e-3, tolerance: 3e-2 });
  });
});
