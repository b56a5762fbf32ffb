/** The autograd engine: tape, accumulation, views, scopes and hooks. */
import { beforeAll, describe, expect, it } from 'vitest';
import { setKernels } from '../src/kernels/index.js';
import {
  add,
  bufferPool,
  conv2d,
  crossEntropy,
  empty,
  flatten,
  labels,
  linear,
  mul,
  noGrad,
  relu,
  scale,
  sum,
  tensor,
  tidy,
  untracked,
  zeros,
  full,
  Rng,
  type Tensor,
} from '../src/tensor/index.js';
import { randomTensor } from './helpers/random.js';

beforeAll(() => {
  setKernels('ts');
});

const grad = (t: Tensor): number[] => t.grad!.toArray();

describe('backward', () => {
  it('accumulates gradients across two backward calls until zeroGrad', () => {
    const x = tensor([1, 2, 3]).requireGrad();
    sum(scale(x, 2)).backward();
    sum(scale(x, 3)).backward();
    expect(grad(x)).toEqual([5, 5, 5]);
    x.zeroGrad();
    expect(grad(x)).toEqual([0, 0, 0]);
  });

  it('adds the contributions of a tensor used twice', () => {
    const x = tensor([1, -2, 3]).requireGrad();
    sum(mul(x, x)).backward();
    expect(grad(x)).toEqual([2, -4, 6]);
    const y = tensor([1, 2]).requireGrad();
    sum(add(y, y)).backward();
    expect(grad(y)).toEqual([2, 2]);
  });

  it('keeps a gradient buffer shared by two inputs intact while accumulating into one of them', () => {
    // w = (x + z) + x: both adds hand one buffer to both operands; dz must stay 1, dx = 2.
    const x = tensor([1, 2]).requireGrad();
    const z = tensor([3, 4]).requireGrad();
    add(add(x, z), x).backward(new Float32Array([1, 1]));
    expect(grad(x)).toEqual([2, 2]);
    expect(grad(z)).toEqual([1, 1]);
  });

  it('never returns a gradient buffer to the pool twice (inside tidy)', () => {
    // L = Σ (2a + (a + x0·Wᵀ)). The inner add hands one buffer to a, which already has a gradient
    // from 2a, and to the linear output: the buffer must not be recycled after the first input
    // takes its share, or it ends up in the pool twice and two later tensors share it.
    const a = tensor([1, 2, 3], [1, 3]).requireGrad();
    const x0 = tensor([1, -1, 2], [1, 3]).requireGrad();
    const w = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [3, 3]).requireGrad();
    bufferPool.clear();
    tidy(() => {
      sum(add(scale(a, 2), add(a, linear(x0, w, null)))).backward();
    });
    const taken = Array.from({ length: 20 }, () => bufferPool.acquire(3));
    expect(new Set(taken).size).toBe(taken.length);
    for (const buffer of taken) bufferPool.release(buffer);
    expect(grad(a)).toEqual([3, 3, 3]);
    expect(grad(x0)).toEqual([12, 15, 18]);
    expect(grad(w)).toEqual([1, -1, 2, 1, -1, 2, 1, -1, 2]);
  });

  it('matches a hand-derived gradient through relu and linear', () => {
    // L = Σ relu(x·Wᵀ + b) with x = [1, −1], W = [[1, 2], [3, −4]], b = [0.5, −10]:
    // pre-activation [−0.5, −3] → nothing passes; with b = [2, 0]: [1, 7] → both pass.
    const x = tensor([1, -1], [1, 2]).requireGrad();
    const w = tensor([1, 2, 3, -4], [2, 2]).requireGrad();
    const b = tensor([2, 0]).requireGrad();
    sum(relu(linear(x, w, b))).backward();
    expect(grad(x)).toEqual([1 + 3, 2 - 4]);
    expect(grad(w)).toEqual([1, -1, 1, -1]);
    expect(grad(b)).toEqual([1, 1]);
  });

  it('passes gradients through reshape views, which share the buffer', () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]).requireGrad();
    const v = x.reshape([3, 2]);
    expect(v.base).toBe(x);
    v.data[0] = 10;
    expect(x.data[0]).toBe(10);
    sum(mul(v, v)).backward();
    expect(grad(x)).toEqual([20, 4, 6, 8, 10, 12]);
    const f = flatten(tensor([1, 2, 3, 4], [1, 2, 2]));
    expect(f.shape).toEqual([1, 4]);
  });

  it('stops at detach', () => {
    const x = tensor([2, 3]).requireGrad();
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    sum(mul(d, x)).backward();
    expect(grad(x)).toEqual([2, 3]);
  });

  it('records nothing under noGrad', () => {
    const x = tensor([1, 2]).requireGrad();
    const y = noGrad(() => scale(x, 2));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(noGrad(() => x.reshape([2, 1])).requiresGrad).toBe(false);
    expect(() => sum(y).backward()).toThrow(
      'backward: tensor [] does not require gradients (no input of its graph does)',
    );
  });

  it('needs an explicit gradient for a non-scalar output', () => {
    const x = tensor([1, 2]).requireGrad();
    expect(() => scale(x, 2).backward()).toThrow(
      'backward: tensor [2] is not a scalar; pass the gradient of the output',
    );
    expect(() => scale(x, 2).backward(new Float32Array(3))).toThrow(
      'backward: gradient has 3 elements, tensor [2] has 2',
    );
  });

  it('rejects int32 tensors as gradient leaves', () => {
    expect(() => labels([1, 2]).requireGrad()).toThrow(
      "tensor 'labels' [2]: only float32 tensors can require gradients",
    );
  });
});

describe('grad hooks', () => {
  it('see the complete gradient of an intermediate once, and can be removed', () => {
    const x = tensor([1, 2]).requireGrad();
    const h = scale(x, 3);
    const seen: number[][] = [];
    const remove = h.registerGradHook((g) => seen.push(Array.from(g)));
    // h feeds two branches: the hook sees the sum 2 + 5 = 7 per element.
    sum(add(scale(h, 2), scale(h, 5))).backward();
    expect(seen).toEqual([[7, 7]]);
    remove();
    sum(scale(h, 1)).backward();
    expect(seen).toHaveLength(1);
  });

  it('run on leaves with the gradient of each backward call', () => {
    const x = tensor([1]).requireGrad();
    const seen: number[] = [];
    x.registerGradHook((g, t) => {
      expect(t).toBe(x);
      seen.push(g[0]!);
    });
    sum(scale(x, 4)).backward();
    sum(scale(x, 2)).backward();
    expect(seen).toEqual([4, 2]);
    expect(grad(x)).toEqual([6]);
  });
});

describe('tidy', () => {
  it('disposes intermediates and keeps the result and leaf gradients', () => {
    const w = tensor([1, 2, 3, 4], [2, 2]).requireGrad();
    let hidden: Tensor | null = null;
    const out = tidy(() => {
      const x = tensor([1, 1], [1, 2]);
      hidden = linear(x, w, null);
      const loss = sum(relu(hidden));
      loss.backward();
      return { loss };
    });
    expect(hidden!.isDisposed).toBe(true);
    expect(() => hidden!.data).toThrow(
      'tensor [1, 2] was used after it was disposed (it was created inside a tidy() scope that has ended)',
    );
    expect(out.loss.isDisposed).toBe(false);
    expect(out.loss.item()).toBe(1 + 2 + 3 + 4);
    expect(w.isDisposed).toBe(false);
    expect(grad(w)).toEqual([1, 1, 1, 1]);
  });

  it('moves results to the enclosing scope, and keeps the base of a returned view', () => {
    let inner: Tensor | null = null;
    let base: Tensor | null = null;
    const outer = tidy(() => {
      inner = tidy(() => {
        base = zeros([2, 2]);
        return base.reshape([4]);
      });
      expect(inner.isDisposed).toBe(false);
      expect(base!.isDisposed).toBe(false);
      return scale(inner, 2);
    });
    expect(inner!.isDisposed).toBe(true);
    expect(base!.isDisposed).toBe(true);
    expect(outer.toArray()).toEqual([0, 0, 0, 0]);
  });

  it('reuses pooled memory: repeated training steps allocate nothing new', () => {
    const rng = new Rng(5);
    const w = randomTensor(rng, [4, 3, 3, 3]).requireGrad();
    const fc = randomTensor(rng, [2, 4 * 5 * 5]).requireGrad();
    const x = randomTensor(rng, [2, 3, 5, 5]);
    const y = labels([0, 1]);
    const step = (): number =>
      tidy(() => {
        const loss = crossEntropy(linear(flatten(relu(conv2d(x, w, null, { padding: 1 }))), fc, null), y);
        loss.backward();
        return loss.item();
      });
    const first = step();
    step();
    const allocated = bufferPool.stats().allocatedBytes;
    for (let i = 0; i < 3; i++) expect(step()).toBe(first);
    expect(bufferPool.stats().allocatedBytes).toBe(allocated);
  });

  it('keeps tensors held by any result object, including class instances and cycles', () => {
    class Holder {
      parent: Holder | null = null;
      constructor(readonly value: Tensor) {}
    }
    let dropped: Tensor | null = null;
    const holder = tidy(() => {
      dropped = zeros([1]);
      const h = new Holder(full([2], 3));
      h.parent = h;
      return h;
    });
    expect(holder.value.toArray()).toEqual([3, 3]);
    expect(dropped!.isDisposed).toBe(true);
    expect(tidy(() => Float32Array.from([1, 2]))).toEqual(Float32Array.from([1, 2]));
  });

  it('creates persistent tensors with untracked, even inside a scope', () => {
    let kept: Tensor | null = null;
    tidy(() => {
      kept = untracked(() => empty([3]));
    });
    expect(kept!.isDisposed).toBe(false);
  });
});
