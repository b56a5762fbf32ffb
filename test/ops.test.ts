/** Op forward values, shapes, and the errors bad input gets. */
import { beforeAll, describe, expect, it } from 'vitest';
import { setKernels } from '../src/kernels/index.js';
import {
  accuracy,
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
  relu,
  Rng,
  scale,
  sum,
  tensor,
  zeros,
  full,
} from '../src/tensor/index.js';
import { randomTensor } from './helpers/random.js';

beforeAll(() => {
  setKernels('ts');
});

const rng = new Rng(31, 'ops-tests');

describe('forward values', () => {
  it('matmul and linear agree, with bias added per row', () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const w = tensor([1, 0, -1, 2, 1, 0], [2, 3]);
    expect(linear(x, w, tensor([10, 20])).toArray()).toEqual([1 - 3 + 10, 2 + 2 + 20, 4 - 6 + 10, 8 + 5 + 20]);
    const wT = tensor([1, 2, 0, 1, -1, 0], [3, 2]);
    expect(matmul(x, wT).toArray()).toEqual(linear(x, w, null).toArray());
  });

  it('conv2d output shape follows floor((h + 2p − k) / s) + 1', () => {
    const x = randomTensor(rng, [2, 3, 7, 5]);
    expect(conv2d(x, randomTensor(rng, [4, 3, 3, 3]), null, { stride: 2, padding: 1 }).shape).toEqual([2, 4, 4, 3]);
    expect(conv2d(x, randomTensor(rng, [4, 3, 1, 1]), null).shape).toEqual([2, 4, 7, 5]);
    expect(conv2d(x, randomTensor(rng, [1, 3, 7, 5]), null).shape).toEqual([2, 1, 1, 1]);
    expect(conv2d(x, randomTensor(rng, [2, 3, 3, 3]), null, { stride: [1, 2], padding: [0, 1] }).shape).toEqual([
      2, 2, 5, 3,
    ]);
  });

  it('conv2d with bias on a hand example', () => {
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    const w = tensor([1, 0, 0, -1], [1, 1, 2, 2]);
    expect(conv2d(x, w, tensor([1])).toArray()).toEqual([-3, -3, -3, -3]);
  });

  it('pools: stride defaults to the kernel size', () => {
    const x = tensor(
      Array.from({ length: 16 }, (_, i) => i + 1),
      [1, 1, 4, 4],
    );
    expect(maxPool2d(x, { kernelSize: 2 }).toArray()).toEqual([6, 8, 14, 16]);
    expect(avgPool2d(x, { kernelSize: 2 }).toArray()).toEqual([3.5, 5.5, 11.5, 13.5]);
    expect(maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }).shape).toEqual([1, 1, 2, 2]);
    expect(globalAvgPool2d(x).toArray()).toEqual([8.5]);
    expect(globalAvgPool2d(x).shape).toEqual([1, 1]);
  });

  it('relu, add, mul, scale', () => {
    const a = tensor([-1, 2, -3, 4], [2, 2]);
    const b = tensor([1, 1, 2, 2], [2, 2]);
    expect(relu(a).toArray()).toEqual([0, 2, 0, 4]);
    expect(add(a, b).toArray()).toEqual([0, 3, -1, 6]);
    expect(mul(a, b).toArray()).toEqual([-1, 2, -6, 8]);
    expect(scale(a, -2).toArray()).toEqual([2, -4, 6, -8]);
  });

  it('sum and mean are scalars of shape []', () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const s = sum(x);
    expect(s.shape).toEqual([]);
    expect(s.size).toBe(1);
    expect(s.item()).toBe(21);
    expect(mean(x).item()).toBe(3.5);
    expect(mean(x).shape).toEqual([]);
  });

  it('flatten is a view of [N, rest]', () => {
    const x = zeros([2, 3, 4, 5]);
    const f = flatten(x);
    expect(f.shape).toEqual([2, 60]);
    f.data[7] = 1;
    expect(x.data[7]).toBe(1);
    expect(flatten(zeros([3])).shape).toEqual([3, 1]);
  });

  it('crossEntropy is the mean of −log softmax[label]', () => {
    const logits = tensor([0, 0, Math.log(3), 0], [2, 2]);
    const loss = crossEntropy(logits, labels([0, 1]));
    expect(loss.shape).toEqual([]);
    expect(loss.item()).toBeCloseTo((Math.log(2) + Math.log(4)) / 2, 6);
  });

  it('accuracy: fraction of argmax == label, first maximum wins ties', () => {
    const logits = tensor([1, 3, 2, 5, 5, 0, 0, 0, 1, 2, 2, 2], [4, 3]);
    // argmax per row: 1, 0 (tie 5 = 5), 2, 0 (three-way tie).
    expect(accuracy(logits, labels([1, 0, 2, 0]))).toBe(1);
    expect(accuracy(logits, labels([1, 1, 2, 2]))).toBe(0.5);
  });
});

describe('batchNorm', () => {
  it('train mode normalises per channel and updates the running stats in place', () => {
    // [N=2, C=2]: channel 0 = [1, 3] (mean 2, var 1, unbiased 2), channel 1 = [10, 30].
    const x = tensor([1, 10, 3, 30], [2, 2]);
    const runningMean = zeros([2]);
    const runningVar = full([2], 1);
    const y = batchNorm(x, full([2], 1), zeros([2]), runningMean, runningVar, {
      training: true,
      momentum: 0.5,
      eps: 0,
    });
    expect(y.toArray()).toEqual([-1, -1, 1, 1]);
    expect(runningMean.toArray()).toEqual([1, 10]);
    expect(runningVar.toArray()).toEqual([0.5 + 0.5 * 2, 0.5 + 0.5 * 200]);
    expect(runningMean.requiresGrad).toBe(false);
  });

  it('eval mode uses the running statistics and leaves them alone', () => {
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
    const runningMean = tensor([1, 5]);
    const runningVar = tensor([4, 1]);
    const y = batchNorm(x, tensor([2, 1]), tensor([0, 1]), runningMean, runningVar, { training: false, eps: 0 });
    expect(y.toArray()).toEqual([0, 1, 2, 3, 1, 2, 3, 4]);
    expect(runningMean.toArray()).toEqual([1, 5]);
    expect(runningVar.toArray()).toEqual([4, 1]);
  });

  it('uses momentum 0.1 and eps 1e-5 by default', () => {
    const x = tensor([0, 2], [2, 1]);
    const runningMean = zeros([1]);
    const runningVar = full([1], 1);
    const y = batchNorm(x, full([1], 1), zeros([1]), runningMean, runningVar, { training: true });
    expect(y.data[1]).toBeCloseTo(1 / Math.sqrt(1 + 1e-5), 6);
    expect(runningMean.data[0]).toBeCloseTo(0.1, 7);
    expect(runningVar.data[0]).toBeCloseTo(0.9 + 0.1 * 2, 6);
  });
});

describe('dropout', () => {
  it('drops where uniform() < p and scales survivors by 1 / (1 − p)', () => {
    const x = full([1000], 1);
    const out = dropout(x, 0.25, { training: true, rng: new Rng(3, 'dropout') });
    const reference = new Rng(3, 'dropout');
    const expected = Array.from({ length: 1000 }, () => (reference.uniform() < 0.25 ? 0 : Math.fround(1 / 0.75)));
    expect(out.toArray()).toEqual(expected);
    const kept = expected.filter((v) => v !== 0).length;
    expect(kept).toBeGreaterThan(700);
    expect(kept).toBeLessThan(800);
  });

  it('is the identity in eval mode and for p = 0, without drawing from the stream', () => {
    const x = tensor([1, 2, 3]);
    const stream = new Rng(3, 'dropout');
    expect(dropout(x, 0.5, { training: false, rng: stream })).toBe(x);
    expect(dropout(x, 0, { training: true, rng: stream })).toBe(x);
    expect(stream.state().position).toBe(0);
  });

  it('drops everything for p = 1', () => {
    expect(dropout(tensor([1, 2]), 1, { training: true, rng: new Rng(1) }).toArray()).toEqual([0, 0]);
  });
});

describe('errors', () => {
  const image = (shape: number[]) => zeros(shape);

  it('conv2d: channel mismatch, rank, kernel too large, stride, padding, bias', () => {
    expect(() => conv2d(image([2, 3, 8, 8]), image([16, 4, 3, 3]), null)).toThrow(
      'conv2d: input has 3 channels but weight [16, 4, 3, 3] expects 4',
    );
    expect(() => conv2d(image([3, 8, 8]), image([16, 3, 3, 3]), null)).toThrow(
      'conv2d: input must be 4-d, got [3, 8, 8]',
    );
    expect(() => conv2d(image([1, 3, 3, 3]), image([2, 3, 7, 7]), null, { padding: 1 })).toThrow(
      'conv2d: kernel 7×7 is larger than the padded input 5×5 (input [1, 3, 3, 3], padding [1, 1])',
    );
    expect(() => conv2d(image([1, 3, 8, 8]), image([2, 3, 3, 3]), null, { stride: 0 })).toThrow(
      'conv2d: stride must be positive integers, got 0',
    );
    expect(() => conv2d(image([1, 3, 8, 8]), image([2, 3, 3, 3]), null, { stride: [1, -2] })).toThrow(
      'conv2d: stride must be positive integers, got [1, -2]',
    );
    expect(() => conv2d(image([1, 3, 8, 8]), image([2, 3, 3, 3]), null, { padding: 1.5 })).toThrow(
      'conv2d: padding must be non-negative integers, got 1.5',
    );
    expect(() => conv2d(image([1, 3, 8, 8]), image([2, 3, 3, 3]), zeros([3]))).toThrow(
      'conv2d: bias must have shape [2] to match weight [2, 3, 3, 3], got [3]',
    );
  });

  it('linear and matmul: feature and inner-dimension mismatches', () => {
    expect(() => linear(zeros([4, 5]), zeros([3, 6]), null)).toThrow(
      'linear: input [4, 5] has 5 features but weight [3, 6] expects 6',
    );
    expect(() => linear(zeros([4, 5]), zeros([3, 5]), zeros([4]))).toThrow(
      'linear: bias must have shape [3] to match weight [3, 5], got [4]',
    );
    expect(() => linear(zeros([5]), zeros([3, 5]), null)).toThrow('linear: input must be 2-d, got [5]');
    expect(() => matmul(zeros([2, 3]), zeros([4, 2]))).toThrow('matmul: inner dimensions differ: [2, 3] · [4, 2]');
  });

  it('elementwise ops: no broadcasting, float32 only', () => {
    expect(() => add(zeros([2, 3]), zeros([3, 2]))).toThrow(
      'add: operands must have identical shapes (no broadcasting), got [2, 3] and [3, 2]',
    );
    expect(() => mul(zeros([1, 3]), zeros([3]))).toThrow(
      'mul: operands must have identical shapes (no broadcasting), got [1, 3] and [3]',
    );
    expect(() => relu(labels([1, 2]))).toThrow('relu: input must be float32, got an int32 tensor [2]');
  });

  it('pooling: kernel larger than input, padding over half the kernel, rank', () => {
    expect(() => maxPool2d(image([1, 1, 2, 2]), { kernelSize: 3 })).toThrow(
      'maxPool2d: kernel 3×3 is larger than the padded input 2×2 (input [1, 1, 2, 2], padding [0, 0])',
    );
    expect(() => avgPool2d(image([1, 1, 8, 8]), { kernelSize: 3, padding: 2 })).toThrow(
      'avgPool2d: padding [2, 2] must be at most half the kernel size 3×3 (input [1, 1, 8, 8])',
    );
    expect(() => maxPool2d(image([1, 8, 8]), { kernelSize: 2 })).toThrow('maxPool2d: input must be 4-d, got [1, 8, 8]');
    expect(() => maxPool2d(image([1, 1, 8, 8]), { kernelSize: 0 })).toThrow(
      'maxPool2d: kernelSize must be positive integers, got 0',
    );
    expect(() => globalAvgPool2d(image([2, 3]))).toThrow('globalAvgPool2d: input must be 4-d, got [2, 3]');
  });

  it('batchNorm: parameter shapes, batch of one in training, bad momentum', () => {
    const c4 = (): ReturnType<typeof zeros> => zeros([4]);
    expect(() => batchNorm(image([2, 3, 4, 4]), c4(), zeros([3]), zeros([3]), zeros([3]), { training: true })).toThrow(
      'batchNorm: gamma must have shape [3] to match input [2, 3, 4, 4] with 3 channels, got [4]',
    );
    expect(() => batchNorm(image([1, 4]), c4(), c4(), c4(), c4(), { training: true })).toThrow(
      'batchNorm: training needs more than one value per channel, got input [1, 4]',
    );
    expect(() => batchNorm(image([2, 4, 3]), c4(), c4(), c4(), c4(), { training: true })).toThrow(
      'batchNorm: input must be 2-d or 4-d, got [2, 4, 3]',
    );
    expect(() => batchNorm(image([2, 4]), c4(), c4(), c4(), c4(), { training: true, momentum: 1.5 })).toThrow(
      'batchNorm: momentum must be in [0, 1], got 1.5',
    );
    // Eval mode accepts a batch of one.
    expect(batchNorm(image([1, 4]), c4(), c4(), c4(), full([4], 1), { training: false }).shape).toEqual([1, 4]);
  });

  it('crossEntropy and accuracy: labels out of range, dtype, length; a loss that is not finite', () => {
    const logits = zeros([4, 10]);
    expect(() => crossEntropy(logits, labels([0, 1, 2, 10]))).toThrow(
      'crossEntropy: label at index 3 is 10, outside [0, 10) for logits [4, 10]',
    );
    expect(() => crossEntropy(logits, labels([0, -1, 2, 3]))).toThrow(
      'crossEntropy: label at index 1 is -1, outside [0, 10) for logits [4, 10]',
    );
    expect(() => crossEntropy(logits, tensor([0, 1, 2, 3]))).toThrow(
      'crossEntropy: labels must be an int32 tensor (use labels()), got float32 [4]',
    );
    expect(() => crossEntropy(logits, labels([0, 1, 2]))).toThrow(
      'crossEntropy: labels [3] do not match logits [4, 10]: expected [4]',
    );
    expect(() => crossEntropy(zeros([4]), labels([0, 1, 2, 3]))).toThrow('crossEntropy: logits must be 2-d, got [4]');
    const nanLogits = zeros([2, 3]);
    nanLogits.data[4] = NaN;
    expect(() => crossEntropy(nanLogits, labels([0, 1]))).toThrow(
      'crossEntropy: the loss is not finite (NaN) for logits [2, 3]; the logits contain NaN or ±Infinity',
    );
    expect(() => accuracy(logits, labels([0, 1, 2, 11]))).toThrow(
      'accuracy: label at index 3 is 11, outside [0, 10) for logits [4, 10]',
    );
  });

  it('dropout: probability outside [0, 1]', () => {
    expect(() => dropout(zeros([2]), 1.5, { training: true, rng: new Rng(1) })).toThrow(
      'dropout: probability must be in [0, 1], got 1.5',
    );
    expect(() => dropout(zeros([2]), NaN, { training: true, rng: new Rng(1) })).toThrow(
      'dropout: probability must be in [0, 1], got NaN',
    );
  });

  it('mean of an empty tensor', () => {
    expect(() => mean(zeros([0, 3]))).toThrow('mean: input [0, 3] is empty');
  });
});
