/**
 * Allocations that cannot fit say which tensor, its shape and its size, the same on both backends
 * (the native backend's out-of-memory error and the TypeScript one's RangeError become the cause).
 * The shapes asked for are petabytes, beyond any machine's memory and address space.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setKernels, type BackendName, type Kernels } from '../src/kernels/index.js';
import { loadNativeKernels } from '../src/kernels/native.js';
import { initializeModule, Linear, Module } from '../src/nn/index.js';
import { empty, Rng, tidy, zeros, type Tensor } from '../src/tensor/index.js';
import { formatBytes, persistentTensor } from '../src/tensor/tensor.js';

const backends: BackendName[] = loadNativeKernels().kernels ? ['ts', 'native'] : ['ts'];
const HUGE = [30_000_000, 30_000_000]; // 9e14 float32 values: 3.6 PB

/** The error `fn` throws (fails the test if it throws none). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('formatBytes', () => {
  it('writes powers of 1000 with one decimal', () => {
    expect([12, 999, 1000, 999_960, 1.5e6, 4e10, 3.6e15].map(formatBytes)).toEqual([
      '12 B',
      '999 B',
      '1.0 kB',
      '1.0 MB',
      '1.5 MB',
      '40.0 GB',
      '3.6 PB',
    ]);
  });
});

describe.each(backends)('allocation failures, %s kernels', (backend) => {
  let previous: Kernels;
  beforeAll(() => {
    previous = setKernels(backend);
  });
  afterAll(() => {
    setKernels(previous);
  });

  it('persistentTensor names the tensor, shape and bytes, with the backend error as cause', () => {
    const weight = persistentTensor(HUGE, 0, 'fc2.weight');
    const error = thrown(() => weight.data);
    expect(error.message).toBe('cannot allocate fc2.weight, float32 [30000000, 30000000] = 3.6 PB: out of memory');
    expect(error.cause).toBeInstanceOf(backend === 'ts' ? RangeError : Error);
  });

  it('names a parameter by its key in the model, known when initialisation first writes it', () => {
    class Net extends Module {
      readonly fc1 = this.registerModule('fc1', new Linear(4, 3));
      readonly fc2 = this.registerModule('fc2', new Linear(HUGE[1]!, HUGE[0]!));
      forward(x: Tensor): Tensor {
        return this.fc2.call(this.fc1.call(x));
      }
    }
    const net = new Net();
    expect(() => initializeModule(net, { scheme: 'kaiming_normal', rng: new Rng(0, 'init') })).toThrow(
      'cannot allocate fc2.weight, float32 [30000000, 30000000] = 3.6 PB: out of memory',
    );
  });

  it('empty names the tensor when told, else its dtype and shape, in and outside tidy', () => {
    expect(() => empty(HUGE, 'activations')).toThrow(
      'cannot allocate activations, float32 [30000000, 30000000] = 3.6 PB: out of memory',
    );
    expect(() => tidy(() => zeros(HUGE))).toThrow(
      'cannot allocate a tensor, float32 [30000000, 30000000] = 3.6 PB: out of memory',
    );
    expect(() => tidy(() => empty(HUGE, 'labels', 'int32'))).toThrow(
      'cannot allocate labels, int32 [30000000, 30000000] = 3.6 PB: out of memory',
    );
  });
});

describe('persistentTensor allocates on first use', () => {
  it('reads as its value, zeroes lazily, and hands an unallocated buffer to a writer', () => {
    expect(persistentTensor([2, 2], 3).toArray()).toEqual([3, 3, 3, 3]);
    const grad = persistentTensor([3], 5);
    grad.zeroLazily();
    expect(grad.toArray()).toEqual([0, 0, 0]);
    const fresh = persistentTensor([4], 7);
    fresh.zeroLazily();
    const buffer = fresh.takeForOverwrite()!;
    expect(buffer).toHaveLength(4);
    buffer.set([1, 2, 3, 4]);
    expect(fresh.reshape([2, 2]).toArray()).toEqual([1, 2, 3, 4]);
  });
});
