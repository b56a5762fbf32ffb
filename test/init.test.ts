/** Initialisers: PyTorch's fans and gains, sample statistics, determinism, init_scale, rescaling. */
import { describe, expect, it } from 'vitest';
import {
  BatchNorm2d,
  Conv2d,
  Linear,
  Module,
  ReLU,
  Sequential,
  calculateGain,
  computeFans,
  initializeModule,
  kaimingNormal,
  kaimingUniform,
  lecunNormal,
  parameterNorms,
  rescaleToNorms,
  torchDefaultInit,
  xavierNormal,
  xavierUniform,
  type InitScheme,
} from '../src/nn/index.js';
import { Rng, zeros, type Tensor } from '../src/tensor/index.js';

function stats(t: Tensor): { mean: number; std: number; min: number; max: number } {
  const values = t.data;
  let total = 0;
  for (const v of values) total += v;
  const mean = total / values.length;
  let squares = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    squares += (v - mean) ** 2;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { mean, std: Math.sqrt(squares / values.length), min, max };
}

// [256, 128, 3, 3]: fan_in 1152, fan_out 2304, 294 912 samples (sample std within ±0.5% w.p. ≫ 99.9%).
const SHAPE = [256, 128, 3, 3];
const FAN_IN = 1152;
const FAN_OUT = 2304;

function drawn(fill: (t: Tensor, rng: Rng) => void, seed = 11): Tensor {
  const t = zeros(SHAPE);
  fill(t, new Rng(seed, 'init'));
  return t;
}

function expectStd(t: Tensor, std: number): void {
  const s = stats(t);
  expect(Math.abs(s.mean)).toBeLessThan(0.01 * std);
  expect(s.std / std).toBeGreaterThan(0.99);
  expect(s.std / std).toBeLessThan(1.01);
}

describe('fans and gains', () => {
  it('follow torch.nn.init', () => {
    expect(computeFans([256, 128, 3, 3])).toEqual({ fanIn: FAN_IN, fanOut: FAN_OUT });
    expect(computeFans([10, 20])).toEqual({ fanIn: 20, fanOut: 10 });
    expect(() => computeFans([5])).toThrow(/at least 2 dimensions, got \[5\]/);
    expect(calculateGain('relu')).toBeCloseTo(Math.SQRT2, 12);
    expect(calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
    expect(calculateGain('linear')).toBe(1);
    expect(calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
  });
});

describe('initialiser statistics', () => {
  it('kaiming normal: std √2/√fan_in (fan_out mode and other nonlinearities configurable)', () => {
    expectStd(
      drawn((t, rng) => kaimingNormal(t, rng)),
      Math.SQRT2 / Math.sqrt(FAN_IN),
    );
    expectStd(
      drawn((t, rng) => kaimingNormal(t, rng, { mode: 'fan_out' })),
      Math.SQRT2 / Math.sqrt(FAN_OUT),
    );
    expectStd(
      drawn((t, rng) => kaimingNormal(t, rng, { nonlinearity: 'tanh' })),
      5 / 3 / Math.sqrt(FAN_IN),
    );
  });

  it('kaiming uniform: bounded by gain·√(3/fan_in), std bound/√3', () => {
    const bound = Math.SQRT2 * Math.sqrt(3 / FAN_IN);
    const t = drawn((x, rng) => kaimingUniform(x, rng));
    const s = stats(t);
    expect(s.max).toBeLessThanOrEqual(bound);
    expect(s.min).toBeGreaterThanOrEqual(-bound);
    expect(s.max).toBeGreaterThan(0.999 * bound);
    expectStd(t, bound / Math.sqrt(3));
  });

  it('LeCun normal and Xavier normal/uniform', () => {
    expectStd(
      drawn((t, rng) => lecunNormal(t, rng)),
      1 / Math.sqrt(FAN_IN),
    );
    expectStd(
      drawn((t, rng) => xavierNormal(t, rng)),
      Math.sqrt(2 / (FAN_IN + FAN_OUT)),
    );
    expectStd(
      drawn((t, rng) => xavierUniform(t, rng, { gain: 2 })),
      (2 * Math.sqrt(6 / (FAN_IN + FAN_OUT))) / Math.sqrt(3),
    );
  });

  it('PyTorch default: weight and bias U(±1/√fan_in)', () => {
    const weight = zeros(SHAPE);
    const bias = zeros([4096]);
    torchDefaultInit(weight, bias, new Rng(5, 'init'));
    const bound = 1 / Math.sqrt(FAN_IN);
    expectStd(weight, bound / Math.sqrt(3));
    const b = stats(bias);
    expect(b.max).toBeLessThanOrEqual(bound);
    expect(b.min).toBeGreaterThanOrEqual(-bound);
    expect(b.std / (bound / Math.sqrt(3))).toBeGreaterThan(0.95);
  });

  it('scale multiplies the drawn values (the paper’s init_scale)', () => {
    const one = drawn((t, rng) => kaimingNormal(t, rng), 3);
    const scaled = drawn((t, rng) => kaimingNormal(t, rng, { scale: 0.3 }), 3);
    for (let i = 0; i < 1000; i++) expect(scaled.data[i]).toBeCloseTo(0.3 * one.data[i]!, 6);
    expect(() => drawn((t, rng) => kaimingNormal(t, rng, { scale: -1 }))).toThrow(
      /init scale must be a finite number ≥ 0, got -1/,
    );
  });
});

function mlp(): Sequential {
  return new Sequential(new Linear(8, 16), new ReLU(), new Linear(16, 4));
}

describe('initializeModule', () => {
  it('is deterministic from the seed, and each layer depends only on its own key', () => {
    const a = mlp();
    const b = mlp();
    initializeModule(a, { scheme: 'kaiming_normal', rng: new Rng(1, 'init') });
    initializeModule(b, { scheme: 'kaiming_normal', rng: new Rng(1, 'init') });
    for (const [key, t] of a.stateDict()) expect(b.stateDict().get(key)!.toArray(), key).toEqual(t.toArray());
    const longer = new Sequential(new Linear(8, 16), new ReLU(), new Linear(16, 4), new ReLU(), new Linear(4, 2));
    initializeModule(longer, { scheme: 'kaiming_normal', rng: new Rng(1, 'init') });
    expect(longer.stateDict().get('2.weight')!.toArray()).toEqual(a.stateDict().get('2.weight')!.toArray());
    const other = mlp();
    initializeModule(other, { scheme: 'kaiming_normal', rng: new Rng(2, 'init') });
    expect(other.stateDict().get('0.weight')!.toArray()).not.toEqual(a.stateDict().get('0.weight')!.toArray());
  });

  it('zeroes biases except for the PyTorch default scheme', () => {
    const schemes: InitScheme[] = [
      'kaiming_normal',
      'kaiming_uniform',
      'lecun_normal',
      'xavier_normal',
      'xavier_uniform',
    ];
    for (const scheme of schemes) {
      const m = mlp();
      initializeModule(m, { scheme, rng: new Rng(4, 'init') });
      expect(
        m
          .stateDict()
          .get('0.bias')!
          .toArray()
          .every((v) => v === 0),
        scheme,
      ).toBe(true);
      expect(stats(m.stateDict().get('0.weight')!).std, scheme).toBeGreaterThan(0);
    }
    const m = mlp();
    initializeModule(m, { scheme: 'torch_default', scale: 0.5, rng: new Rng(4, 'init') });
    const bias = stats(m.stateDict().get('0.bias')!);
    expect(bias.std).toBeGreaterThan(0);
    expect(Math.max(bias.max, -bias.min)).toBeLessThanOrEqual(0.5 / Math.sqrt(8));
  });

  it('resets BatchNorm to weight 1, bias 0 and fresh running statistics', () => {
    const net = new Sequential(new Conv2d(3, 4, 3), new BatchNorm2d(4));
    const bn = net.at(1) as BatchNorm2d;
    bn.weight.data.fill(3);
    bn.runningMean.data.fill(2);
    bn.numBatchesTracked.ints[0] = 9;
    initializeModule(net, { scheme: 'kaiming_normal', rng: new Rng(1, 'init') });
    expect(bn.weight.toArray()).toEqual([1, 1, 1, 1]);
    expect(bn.bias.toArray()).toEqual([0, 0, 0, 0]);
    expect(bn.runningMean.toArray()).toEqual([0, 0, 0, 0]);
    expect(bn.runningVar.toArray()).toEqual([1, 1, 1, 1]);
    expect(bn.numBatchesTracked.item()).toBe(0);
  });

  it('refuses modules with parameters it cannot initialise', () => {
    class Scale extends Module {
      readonly gain = this.registerParameter('gain', zeros([1]));
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const net = new Sequential(new Linear(2, 2), new Scale());
    expect(() => initializeModule(net, { scheme: 'kaiming_normal', rng: new Rng(1, 'init') })).toThrow(
      /no initialiser for Scale at '1' \(parameters gain\)/,
    );
  });
});

describe('rescaling to reference norms', () => {
  it('restores each parameter’s initial norm, biases included by default', () => {
    const m = mlp();
    initializeModule(m, { scheme: 'torch_default', rng: new Rng(1, 'init') });
    const initial = parameterNorms(m);
    for (const p of m.parameters()) for (let i = 0; i < p.size; i++) p.data[i] = p.data[i]! * 3 + 0.01;
    const factors = rescaleToNorms(m, initial);
    const after = parameterNorms(m);
    for (const [key, norm] of initial) expect(after.get(key)! / norm, key).toBeCloseTo(1, 5);
    expect([...factors.keys()]).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
  });

  it('leaves biases alone with includeBiases false', () => {
    const m = mlp();
    initializeModule(m, { scheme: 'torch_default', rng: new Rng(1, 'init') });
    const initial = parameterNorms(m);
    for (const p of m.parameters()) for (let i = 0; i < p.size; i++) p.data[i] = p.data[i]! * 2;
    const factors = rescaleToNorms(m, initial, { includeBiases: false });
    expect([...factors.keys()]).toEqual(['0.weight', '2.weight']);
    expect(parameterNorms(m).get('0.bias')! / initial.get('0.bias')!).toBeCloseTo(2, 5);
  });

  it('names missing references and parameters that cannot be rescaled, changing nothing', () => {
    const m = mlp();
    initializeModule(m, { scheme: 'kaiming_normal', rng: new Rng(1, 'init') });
    const norms = parameterNorms(m);
    norms.delete('2.weight');
    norms.set('0.bias', 1);
    const before = m.stateDict().get('0.weight')!.toArray();
    expect(() => rescaleToNorms(m, norms)).toThrow(
      /'0\.bias' is all zeros but its reference norm is 1; '2\.weight' has no reference norm/,
    );
    expect(m.stateDict().get('0.weight')!.toArray()).toEqual(before);
  });
});
