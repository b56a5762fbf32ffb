/** Optimisers: PyTorch's update rules step by step, settable lr, validation and exact resume. */
import { describe, expect, it } from 'vitest';
import { Adam, AdamW, SGD, type Optimizer, type Hyperparameters } from '../src/optim/index.js';
import { tensor, untracked, type Tensor } from '../src/tensor/index.js';

const THETA0 = [1, -2, 0.5];
const GRADS = [
  [0.1, 0.2, -0.3],
  [0.05, -0.1, 0.2],
];

function param(values = THETA0, name = 'w'): Tensor {
  return untracked(() => tensor(values, [values.length], { name })).requireGrad();
}

function setGrad(p: Tensor, values: number[]): void {
  p.grad = untracked(() => tensor(values, [values.length]));
}

/** Run the optimiser over GRADS and return the parameter after each step. */
function run(make: (p: Tensor) => Optimizer<Hyperparameters>): number[][] {
  const p = param();
  const optimizer = make(p);
  return GRADS.map((g) => {
    setGrad(p, g);
    optimizer.step();
    return p.toArray();
  });
}

function expectSteps(actual: number[][], expected: number[][]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((values, step) =>
    values.forEach((v, i) =>
      expect(
        Math.abs(v - expected[step]![i]!),
        `step ${step + 1}, element ${i}: ${v} vs ${expected[step]![i]}`,
      ).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expected[step]![i]!))),
    ),
  );
}

/** torch.optim.SGD written out in float64. */
function sgdReference(o: {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}): number[][] {
  const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = o;
  let theta = [...THETA0];
  let buffer: number[] | null = null;
  return GRADS.map((g) => {
    const d = g.map((gi, i) => gi + weightDecay * theta[i]!);
    let step = d;
    if (momentum !== 0) {
      buffer = buffer ? buffer.map((b, i) => momentum * b + (1 - dampening) * d[i]!) : [...d];
      step = nesterov ? d.map((di, i) => di + momentum * buffer![i]!) : buffer;
    }
    theta = theta.map((t, i) => t - lr * step[i]!);
    return theta;
  });
}

/** torch.optim.Adam / AdamW written out in float64. */
function adamReference(o: {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupled: boolean;
}): number[][] {
  let theta = [...THETA0];
  let m = [0, 0, 0];
  let v = [0, 0, 0];
  return GRADS.map((g0, k) => {
    const t = k + 1;
    if (o.decoupled) theta = theta.map((x) => x * (1 - o.lr * o.weightDecay));
    const g = o.decoupled ? g0 : g0.map((gi, i) => gi + o.weightDecay * theta[i]!);
    m = m.map((mi, i) => o.beta1 * mi + (1 - o.beta1) * g[i]!);
    v = v.map((vi, i) => o.beta2 * vi + (1 - o.beta2) * g[i]! ** 2);
    const stepSize = o.lr / (1 - o.beta1 ** t);
    const correction2 = Math.sqrt(1 - o.beta2 ** t);
    theta = theta.map((x, i) => x - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / correction2 + o.eps));
    return theta;
  });
}

describe('SGD', () => {
  it('plain: θ −= lr·g', () => {
    expectSteps(
      run((p) => new SGD([['w', p]], { lr: 0.1 })),
      sgdReference({ lr: 0.1 }),
    );
  });

  it('momentum: the buffer starts as the first gradient', () => {
    const o = { lr: 0.1, momentum: 0.9 };
    const steps = run((p) => new SGD([['w', p]], o));
    expectSteps(steps, sgdReference(o));
    // First step: θ1 = θ0 − 0.1·g1 exactly as without momentum.
    expect(steps[0]![0]).toBeCloseTo(1 - 0.1 * 0.1, 7);
  });

  it('momentum with dampening and weight decay', () => {
    const o = { lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0.01 };
    expectSteps(
      run((p) => new SGD([['w', p]], o)),
      sgdReference(o),
    );
  });

  it('Nesterov', () => {
    const o = { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 };
    expectSteps(
      run((p) => new SGD([['w', p]], o)),
      sgdReference(o),
    );
  });

  it('validates its settings', () => {
    const p = param();
    expect(() => new SGD([['w', p]], { lr: -1 })).toThrow(/SGD: lr must be in \[0, Infinity\), got -1/);
    expect(() => new SGD([['w', p]], { lr: 0.1, nesterov: true })).toThrow(
      /nesterov needs momentum > 0 and dampening 0/,
    );
    expect(
      () =>
        new SGD(
          [
            ['w', p],
            ['w', param()],
          ],
          { lr: 0.1 },
        ),
    ).toThrow(/parameter 'w' is given twice/);
    expect(() => new SGD([], { lr: 0.1 })).toThrow(/no parameters/);
  });
});

describe('Adam and AdamW', () => {
  it('Adam with L2 weight decay added to the gradient', () => {
    const o = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.03 };
    expectSteps(
      run((p) => new Adam([['w', p]], o)),
      adamReference({ ...o, decoupled: false }),
    );
  });

  it('AdamW with decoupled weight decay', () => {
    const o = { lr: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.5 };
    expectSteps(
      run((p) => new AdamW([['w', p]], o)),
      adamReference({ ...o, decoupled: true }),
    );
  });

  it('PyTorch’s defaults', () => {
    expect(new Adam([['w', param()]]).hyperparameters).toEqual({
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0,
    });
    expect(new AdamW([['w', param()]]).hyperparameters.weightDecay).toBe(0.01);
    expect(() => new Adam([['w', param()]], { beta2: 1 })).toThrow(/Adam: beta2 must be in \[0, 1\), got 1/);
  });
});

describe('optimiser mechanics', () => {
  it('skips parameters without a gradient and zeroes gradients in place', () => {
    const a = param([1, 2, 3], 'a');
    const b = param([4, 5, 6], 'b');
    const optimizer = new SGD(
      [
        ['a', a],
        ['b', b],
      ],
      { lr: 1 },
    );
    setGrad(a, [1, 1, 1]);
    optimizer.step();
    expect(a.toArray()).toEqual([0, 1, 2]);
    expect(b.toArray()).toEqual([4, 5, 6]);
    const gradBuffer = a.grad!.data;
    optimizer.zeroGrad();
    expect(a.grad!.data).toBe(gradBuffer);
    expect(a.grad!.toArray()).toEqual([0, 0, 0]);
    expect(optimizer.stepCount).toBe(1);
    expect(Object.keys(optimizer.stateDict().params)).toEqual(['a']);
  });

  it('has a settable learning rate', () => {
    const p = param();
    const optimizer = new SGD([['w', p]], { lr: 0.1 });
    optimizer.lr = 0.5;
    setGrad(p, [1, 1, 1]);
    optimizer.step();
    expect(p.toArray()).toEqual([0.5, -2.5, 0]);
    expect(() => {
      optimizer.lr = Number.NaN;
    }).toThrow(/lr must be/);
  });

  it.each([
    ['SGD', (p: Tensor) => new SGD([['w', p]], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 })],
    ['Adam', (p: Tensor) => new Adam([['w', p]], { lr: 0.01 })],
    ['AdamW', (p: Tensor) => new AdamW([['w', p]], { lr: 0.01 })],
  ])('%s resumes exactly from its state dict', (_name, make) => {
    const p = param();
    const optimizer = make(p);
    setGrad(p, GRADS[0]!);
    optimizer.step();
    const saved = optimizer.stateDict();
    const snapshot = p.toArray();
    setGrad(p, GRADS[1]!);
    optimizer.step();
    const continued = p.toArray();

    const q = param(snapshot);
    const resumed = make(q);
    resumed.lr = 123; // the saved hyperparameters win
    resumed.loadStateDict(saved);
    expect(resumed.stepCount).toBe(1);
    setGrad(q, GRADS[1]!);
    resumed.step();
    expect(q.toArray()).toEqual(continued);
    expect(resumed.stateDict().params.w!.step).toBe(2);
  });

  it('refuses state from another optimiser or other parameters', () => {
    const p = param();
    const sgd = new SGD([['w', p]], { lr: 0.1, momentum: 0.9 });
    setGrad(p, GRADS[0]!);
    sgd.step();
    expect(() => new Adam([['w', param()]]).loadStateDict(sgd.stateDict())).toThrow(/saved by sgd, this is adam/);
    expect(() => new SGD([['v', param()]], { lr: 0.1 }).loadStateDict(sgd.stateDict())).toThrow(
      /state for unknown parameter 'w'/,
    );
    expect(() => new SGD([['w', param([1, 2])]], { lr: 0.1 }).loadStateDict(sgd.stateDict())).toThrow(
      /'w\.momentum_buffer': float32 \[3\] but the parameter is float32 \[2\]/,
    );
  });

  it('keeps PyTorch’s state names', () => {
    const p = param();
    const adam = new Adam([['layer.weight', p]]);
    setGrad(p, GRADS[0]!);
    adam.step();
    const state = adam.stateDict();
    expect(state.kind).toBe('adam');
    expect(Object.keys(state.params['layer.weight']!.buffers)).toEqual(['exp_avg', 'exp_avg_sq']);
    expect(state.params['layer.weight']!.buffers.exp_avg!.shape).toEqual([3]);
  });
});
