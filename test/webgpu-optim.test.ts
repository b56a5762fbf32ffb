/**
 * The optimizers on webgpu tensors (SwiftShader here) against the same optimizers on cpu tensors: each
 * updates through the device's kernels (`storageFor`), so a step written once must give the cpu's
 * parameters and state on either device. Three steps of loss = Σ x·p², whose gradient 2·x·p changes
 * with p, so the momentum and moment buffers matter.
 *
 * Tolerance: 1e-5 · max(1, |cpu|), a handful of float32 roundings per step (test/webgpu-kernels.test.ts
 * checks the update kernels alone at the same bound).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Adam, AdamW, SGD } from '../src/optim/index.js';
import { backward, mul, releaseTensorWebGpu, sum, tensor, type Tensor } from '../src/tensor/index.js';
import { expectWithin, webgpuMissing } from './helpers/webgpu.js';

afterAll(async () => {
  await releaseTensorWebGpu();
});

/** What the test needs of an optimizer. */
type Stepper = { zeroGrad(): void; step(): void };
type MakeOptimizer = (params: [string, Tensor][]) => Stepper;

const N = 37;
const initial = Float32Array.from({ length: N }, (_, i) => Math.sin(i + 1) * 0.8);
const weights = Float32Array.from({ length: N }, (_, i) => 0.5 + Math.cos(3 * i) * 0.4);

async function trained(device: 'cpu' | 'webgpu', make: MakeOptimizer): Promise<Float32Array> {
  const p = (await tensor(initial.slice(), [N]).to(device)).requireGrad();
  const x = await tensor(weights.slice(), [N]).to(device);
  const optimizer = make([['p', p]]);
  for (let step = 0; step < 3; step++) {
    optimizer.zeroGrad();
    backward(sum(mul(x, mul(p, p))));
    optimizer.step();
  }
  return (await p.read()) as Float32Array;
}

describe.skipIf(webgpuMissing)('optimizers on webgpu', () => {
  const cases: [string, MakeOptimizer][] = [
    ['SGD', (params) => new SGD(params, { lr: 0.1 })],
    [
      'SGD with momentum, weight decay and nesterov',
      (params) => new SGD(params, { lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true }),
    ],
    ['Adam', (params) => new Adam(params, { lr: 0.05, weightDecay: 0.01 })],
    ['AdamW', (params) => new AdamW(params, { lr: 0.05 })],
  ];

  it.each(cases)('%s steps as on the cpu', async (name, make) => {
    const cpu = await trained('cpu', make);
    const gpu = await trained('webgpu', make);
    expect(
      Array.from(cpu).some((value, i) => Math.abs(value - initial[i]!) > 1e-3),
      `${name} moved nothing`,
    ).toBe(true);
    expectWithin(gpu, cpu, (i) => 1e-5 * Math.max(1, Math.abs(cpu[i]!)), name);
  });

  it('refuses a gradient on another device than its parameter, naming both', async () => {
    const p = (await tensor(initial.slice(), [N]).to('webgpu')).requireGrad();
    const optimizer = new SGD([['p', p]], { lr: 0.1 });
    p.grad = tensor(weights.slice(), [N]);
    expect(() => optimizer.step()).toThrow(/SGD: .* is on webgpu but .* is on cpu/);
  });
});
