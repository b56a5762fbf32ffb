/**
 * Optimizer.backwardAndStep: the SGD step of a linear layer's weight applied by the backward rule as
 * it computes the gradient (kernels.gemmSgdUpdate) must leave parameters, buffers and state exactly
 * as `loss.backward(); optimizer.step()` does, on both backends, and must step aside whenever the
 * rule's gradient is not the whole gradient (a weight used twice, gradients already accumulated).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { getKernels, setKernels, type BackendName } from '../src/kernels/index.js';
import { loadNativeKernels } from '../src/kernels/native.js';
import { Linear, ReLU, Sequential } from '../src/nn/index.js';
import { Adam, SGD, type Hyperparameters, type Optimizer } from '../src/optim/index.js';
import { crossEntropy, labels, relu, Rng, tensor, tidy, type Tensor } from '../src/tensor/index.js';

const BACKENDS: BackendName[] = loadNativeKernels().kernels ? ['ts', 'native'] : ['ts'];
const original = getKernels();
afterAll(() => {
  setKernels(original);
});

type Model = Sequential;
type MakeOptimizer = (model: Model) => Optimizer<Hyperparameters>;

function makeModel(seed: number): Model {
  const model = new Sequential(new Linear(12, 20), new ReLU(), new Linear(20, 20), new ReLU(), new Linear(20, 5));
  const rng = new Rng(seed, 'weights');
  for (const p of model.parameters()) rng.fillNormal(p.data);
  return model;
}

function batch(step: number): { x: Tensor; y: Tensor } {
  const rng = new Rng(100 + step, 'batch');
  const x = new Float32Array(9 * 12);
  rng.fillNormal(x);
  return { x: tensor(x, [9, 12]), y: labels(Array.from({ length: 9 }, () => rng.int(5))) };
}

function lossOf(model: Model, step: number): Tensor {
  const { x, y } = batch(step);
  return crossEntropy(model.call(x), y);
}

/** Trains two copies of one model, one with backward + step and one with backwardAndStep. */
function trainBoth(
  make: MakeOptimizer,
  steps: number,
): { separate: [Model, Optimizer<Hyperparameters>]; fused: [Model, Optimizer<Hyperparameters>] } {
  const separate = makeModel(1);
  const fused = makeModel(1);
  const separateOptimizer = make(separate);
  const fusedOptimizer = make(fused);
  for (let step = 0; step < steps; step++) {
    separateOptimizer.zeroGrad();
    tidy(() => lossOf(separate, step).backward());
    separateOptimizer.step();
    fusedOptimizer.zeroGrad();
    tidy(() => fusedOptimizer.backwardAndStep(lossOf(fused, step)));
  }
  return { separate: [separate, separateOptimizer], fused: [fused, fusedOptimizer] };
}

function expectSameTraining(
  [a, aOptimizer]: [Model, Optimizer<Hyperparameters>],
  [b, bOptimizer]: [Model, Optimizer<Hyperparameters>],
): void {
  const bParams = new Map(b.namedParameters());
  for (const [name, p] of a.namedParameters())
    expect(Array.from(bParams.get(name)!.data), name).toEqual(Array.from(p.data));
  const aState = aOptimizer.stateDict();
  const bState = bOptimizer.stateDict();
  expect(bState.stepCount).toBe(aState.stepCount);
  expect(Object.keys(bState.params)).toEqual(Object.keys(aState.params));
  for (const [name, state] of Object.entries(aState.params)) {
    expect(bState.params[name]!.step, `${name} step`).toBe(state.step);
    for (const [key, buffer] of Object.entries(state.buffers)) {
      expect(Array.from(bState.params[name]!.buffers[key]!.data), `${name}.${key}`).toEqual(Array.from(buffer.data));
    }
  }
}

describe.each(BACKENDS)('backwardAndStep on the %s kernels', (backend) => {
  it('SGD: the same parameters, momentum buffers and steps as backward then step; weights updated in backward', () => {
    setKernels(backend);
    for (const options of [
      { lr: 0.1, momentum: 0.9 },
      { lr: 0.05, momentum: 0.9, weightDecay: 1e-3, nesterov: true },
      { lr: 0.1, momentum: 0.5, dampening: 0.2 },
      { lr: 0.2 },
    ]) {
      const { separate, fused } = trainBoth((m) => new SGD(m.namedParameters(), options), 3);
      expectSameTraining(separate, fused);
      // The weights' gradients were consumed by the update, never stored; the biases' were.
      for (const [name, p] of fused[0].namedParameters()) {
        if (name.endsWith('weight')) expect(p.grad === null || p.grad.isLazilyZero, `${name}.grad`).toBe(true);
        else expect(p.grad!.isLazilyZero, `${name}.grad`).toBe(false);
      }
    }
  });

  it('Adam has no fused step: backwardAndStep is backward then step', () => {
    setKernels(backend);
    const { separate, fused } = trainBoth((m) => new Adam(m.namedParameters(), { lr: 0.01, weightDecay: 1e-3 }), 3);
    expectSameTraining(separate, fused);
  });

  it('a weight used twice in the graph gets its whole gradient stored and stepped as usual', () => {
    setKernels(backend);
    const build = (): Linear => {
      const layer = new Linear(6, 6);
      const rng = new Rng(3, 'shared');
      for (const p of layer.parameters()) rng.fillNormal(p.data);
      return layer;
    };
    const lossOfShared = (layer: Linear): Tensor => {
      const { x, y } = batch(0);
      const h = layer.call(relu(layer.call(tensor(x.data.subarray(0, 9 * 6), [9, 6]))));
      return crossEntropy(h, y);
    };
    const a = build();
    const b = build();
    const aOptimizer = new SGD(a.namedParameters(), { lr: 0.1, momentum: 0.9 });
    const bOptimizer = new SGD(b.namedParameters(), { lr: 0.1, momentum: 0.9 });
    tidy(() => lossOfShared(a).backward());
    aOptimizer.step();
    tidy(() => bOptimizer.backwardAndStep(lossOfShared(b)));
    expect(Array.from(b.weight.data)).toEqual(Array.from(a.weight.data));
    expect(Array.from(b.weight.grad!.data)).toEqual(Array.from(a.weight.grad!.data));
  });

  it('gradients already accumulated (no zeroGrad) are added to, not replaced by the update', () => {
    setKernels(backend);
    const a = makeModel(2);
    const b = makeModel(2);
    const aOptimizer = new SGD(a.namedParameters(), { lr: 0.1, momentum: 0.9 });
    const bOptimizer = new SGD(b.namedParameters(), { lr: 0.1, momentum: 0.9 });
    tidy(() => lossOf(a, 0).backward());
    tidy(() => lossOf(a, 1).backward());
    aOptimizer.step();
    tidy(() => lossOf(b, 0).backward());
    tidy(() => bOptimizer.backwardAndStep(lossOf(b, 1)));
    expectSameTraining([a, aOptimizer], [b, bOptimizer]);
  });
});
