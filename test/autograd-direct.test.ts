/** Leaf gradients written straight into .grad, lazily zeroed gradients, in-place backward rules and in-place relu. */
import { beforeAll, describe, expect, it } from 'vitest';
import { setKernels } from '../src/kernels/index.js';
import { BatchNorm2d, Conv2d, Linear, MaxPool2d, ReLU, Sequential, Flatten } from '../src/nn/index.js';
import {
  add,
  bufferPool,
  conv2d,
  crossEntropy,
  labels,
  leafGradTarget,
  linear,
  matmul,
  maxPool2d,
  mul,
  recordOp,
  relu,
  Rng,
  scale,
  sum,
  tensor,
  tidy,
  empty,
  type Tensor,
} from '../src/tensor/index.js';

beforeAll(() => {
  setKernels('ts');
});

function random(rng: Rng, shape: number[]): Tensor {
  const t = tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  rng.fillNormal(t.data);
  return t;
}

describe('leaf gradients written into .grad', () => {
  it('accumulate across backward calls and restart after zeroGrad, keeping the buffer', () => {
    const rng = new Rng(1);
    const x = random(rng, [4, 3]);
    const w = random(rng, [5, 3]).requireGrad();
    const b = random(rng, [5]).requireGrad();
    const loss = () => sum(mul(linear(x, w, b), linear(x, w, b)));
    // w and b feed two linears: two edges, accumulated by the engine. Then one edge each.
    const once = () => tidy(() => sum(relu(linear(x, w, b))).backward());
    once();
    const buffer = w.grad!.data;
    const first = w.grad!.toArray();
    const firstBias = b.grad!.toArray();
    once();
    expect(w.grad!.toArray()).toEqual(first.map((v) => 2 * v));
    expect(b.grad!.toArray()).toEqual(firstBias.map((v) => 2 * v));
    w.zeroGrad();
    b.zeroGrad();
    expect(w.grad!.data).toBe(buffer);
    once();
    expect(w.grad!.toArray()).toEqual(first);
    expect(b.grad!.toArray()).toEqual(firstBias);
    expect(w.grad!.data).toBe(buffer);
    w.zeroGrad();
    b.zeroGrad();
    tidy(() => loss().backward());
    const shared = w.grad!.toArray();
    expect(shared.some((v) => v !== 0)).toBe(true);
  });

  it('match the gradients computed through separate buffers (conv, batch norm, matmul)', () => {
    const rng = new Rng(2);
    const x = random(rng, [2, 3, 6, 6]);
    const w = random(rng, [4, 3, 3, 3]).requireGrad();
    const cb = random(rng, [4]).requireGrad();
    const a = random(rng, [3, 4]).requireGrad();
    const m = random(rng, [4, 2]).requireGrad();
    const loss = () => sum(mul(matmul(a, m), matmul(a, m))).backward();
    const convLoss = () => sum(scale(relu(conv2d(x, w, cb, { padding: 1 })), 0.5)).backward();
    tidy(convLoss);
    tidy(loss);
    const direct = [w, cb, a, m].map((t) => t.grad!.toArray());
    // A hook on a leaf keeps the engine from writing into .grad directly: the reference path.
    for (const t of [w, cb, a, m]) {
      t.grad = null;
      t.registerGradHook(() => {});
    }
    tidy(convLoss);
    tidy(loss);
    expect([w, cb, a, m].map((t) => t.grad!.toArray())).toEqual(direct);
  });

  it('read as zeros after zeroGrad, through views made before it too', () => {
    const w = tensor([1, 2, 3, 4], [2, 2]).requireGrad();
    const x = tensor([1, 1], [1, 2]);
    tidy(() => sum(linear(x, w, null)).backward());
    const view = w.grad!.reshape([4]);
    w.zeroGrad();
    expect(view.toArray()).toEqual([0, 0, 0, 0]);
    expect(w.grad!.toArray()).toEqual([0, 0, 0, 0]);
  });

  it('reject a backward rule that takes a leaf buffer without returning it', () => {
    const w = tensor([1, 2]).requireGrad();
    const out = empty([2]);
    recordOp('broken', out, [w], () => {
      leafGradTarget(w, false);
      return [new Float32Array(2)];
    });
    expect(() => out.backward(new Float32Array([1, 1]))).toThrow(
      'the backward rule of broken took the gradient buffer of',
    );
  });
});

describe('in-place backward rules and relu', () => {
  it('leave shared gradient buffers intact and never recycle a buffer twice', () => {
    const x = tensor([1, -2, 3]).requireGrad();
    bufferPool.clear();
    tidy(() => {
      const h = scale(x, 2);
      // relu and scale both receive the add's one gradient buffer: neither may overwrite it.
      sum(add(relu(h), scale(h, 3))).backward();
    });
    const taken = Array.from({ length: 20 }, () => bufferPool.acquire(3));
    expect(new Set(taken).size).toBe(taken.length);
    for (const buffer of taken) bufferPool.release(buffer);
    // d/dx Σ (relu(2x) + 6x) = 2·relu'(2x) + 6.
    expect(x.grad!.toArray()).toEqual([8, 6, 8]);
  });

  it('Sequential runs ReLU in place after conv, batch norm and linear with the same results, not when hooked', () => {
    const build = () => {
      const net = new Sequential(
        new Conv2d(3, 4, 3, { padding: 1 }),
        new BatchNorm2d(4),
        new ReLU(),
        new MaxPool2d(2),
        new Flatten(),
        new Linear(36, 5),
        new ReLU(),
      );
      const rng = new Rng(7);
      for (const p of net.parameters()) rng.fillNormal(p.data, 0, 0.5);
      return net;
    };
    const rng = new Rng(8);
    const x = random(rng, [3, 3, 6, 6]);
    const y = labels([0, 1, 4]);
    const run = (hooked: boolean) => {
      const net = build();
      if (hooked) for (const [, m] of net.namedModules()) m.registerForwardHook(() => {});
      const loss = tidy(() => {
        const l = crossEntropy(net.call(x), y);
        l.backward();
        return l.item();
      });
      return { loss, grads: net.parameters().map((p) => p.grad!.toArray()) };
    };
    expect(run(false)).toEqual(run(true));
  });

  it('takes max-pool indices from the pool and gives them back', () => {
    const rng = new Rng(9);
    const w = random(rng, [4, 3, 3, 3]).requireGrad();
    const x = random(rng, [2, 3, 8, 8]);
    const step = () =>
      tidy(() => sum(maxPool2d(relu(conv2d(x, w, null, { padding: 1 })), { kernelSize: 2 })).backward());
    bufferPool.clear();
    step();
    step(); // the first accumulation into w.grad needs one more buffer
    const allocated = bufferPool.stats().allocatedBytes;
    for (let i = 0; i < 3; i++) step();
    expect(bufferPool.stats().allocatedBytes).toBe(allocated);
    // The indices ([2, 4, 4, 4] int32) went back to the pool: taking them allocates nothing.
    const indices = bufferPool.acquireInt32(2 * 4 * 4 * 4);
    expect(bufferPool.stats().allocatedBytes).toBe(allocated);
    bufferPool.release(indices);
  });
});
