/**
 * The activity probe against a direct computation, on every model of the registry: for each ReLU
 * the probe reports, the fraction of positive values and of dead units are counted again from the
 * pre-activation itself (relu(x) > 0 exactly where x > 0), captured by forward hooks on the layer the
 * probe names: a ReLU module's input, or the output of the layer a ReLU was fused with. The ReLUs
 * of a forward pass are counted at the kernel, so that a ReLU the probe missed is noticed too.
 */
import { describe, expect, it } from 'vitest';
import { measureLayerActivity, type LayerActivity } from '../src/analysis/index.js';
import { getKernels, setKernels, type Kernels } from '../src/kernels/index.js';
import { createModel, type Classifier } from '../src/models/index.js';
import { ReLU } from '../src/nn/index.js';
import { noGrad, Rng, tidy, untracked, type Shape, type Tensor } from '../src/tensor/index.js';
import { randomTensor } from './helpers/random.js';

interface PreActivation {
  readonly values: Float32Array;
  readonly shape: Shape;
}

/** Runs the model once in eval mode without gradients, as the probe does. */
function forwardOnce(model: Classifier, probe: Tensor): void {
  model.eval();
  try {
    tidy(() => noGrad(() => void model.call(probe)));
  } finally {
    model.train();
  }
}

/** How many times the relu kernel runs in one forward pass. */
function reluKernelCalls(model: Classifier, probe: Tensor): number {
  const base = getKernels();
  let calls = 0;
  const counting: Kernels = {
    ...base,
    reluForward: (x, y) => {
      calls++;
      base.reluForward(x, y);
    },
  };
  setKernels(counting);
  try {
    forwardOnce(model, probe);
  } finally {
    setKernels(base);
  }
  return calls;
}

/** The pre-activation of each reported layer's ReLU, by layer name (`#k`: its k-th use). */
function preActivations(model: Classifier, probe: Tensor, layers: readonly string[]): Map<string, PreActivation> {
  const seen = new Map<string, PreActivation[]>();
  const paths = [...new Set(layers.map((layer) => layer.split('#')[0]!))];
  const removers = paths.map((path) => {
    const module = model.getSubmodule(path === 'model' ? '' : path);
    return module.registerForwardHook((_m, input, output) => {
      const pre = module instanceof ReLU ? input : output;
      const list = seen.get(path) ?? [];
      list.push({ values: Float32Array.from(pre.data), shape: pre.shape });
      seen.set(path, list);
    });
  });
  try {
    forwardOnce(model, probe);
  } finally {
    for (const remove of removers) remove();
  }
  const result = new Map<string, PreActivation>();
  for (const [path, list] of seen) list.forEach((pre, k) => result.set(k === 0 ? path : `${path}#${k + 1}`, pre));
  return result;
}

/** positive fraction of relu(x), and the fraction of units (dim 1) positive for no example and no position. */
function directActivity({ values, shape }: PreActivation): Omit<LayerActivity, 'layer'> {
  const positive = values.filter((v) => v > 0).length;
  const [n, units] = shape as [number, number];
  const spatial = values.length / (n * units);
  let dead = 0;
  for (let u = 0; u < units; u++) {
    let alive = false;
    for (let b = 0; b < n && !alive; b++) {
      const start = (b * units + u) * spatial;
      alive = values.subarray(start, start + spatial).some((v) => v > 0);
    }
    if (!alive) dead++;
  }
  return { positiveFraction: positive / values.length, deadFraction: dead / units, units };
}

interface ModelCase {
  readonly name: string;
  readonly inputShape: readonly number[];
  readonly widths: number[];
  /** Whether some layer has dead units with these seeds. */
  readonly someDead: boolean;
  /** The layer names, where they are short enough to list. */
  readonly layers?: string[];
}

const MODELS: readonly ModelCase[] = [
  { name: 'mlp', inputShape: [3, 4, 4], widths: [16, 12, 8], someDead: true, layers: ['fc1', 'fc2', 'fc3'] },
  { name: 'cnn2', inputShape: [3, 6, 6], widths: [6, 10], someDead: false, layers: ['conv1', 'fc1'] },
  { name: 'vgg11', inputShape: [3, 32, 32], widths: [4, 4, 6, 6, 8, 8, 8, 8], someDead: true },
  { name: 'resnet18', inputShape: [3, 8, 8], widths: [4, 6, 6, 8], someDead: true },
  { name: 'wrn-28-4', inputShape: [3, 8, 8], widths: [4, 4, 6, 8], someDead: true },
];

describe('measureLayerActivity', () => {
  it.each(MODELS)('measures every ReLU of $name as counted from its pre-activation', (spec) => {
    const model = createModel(spec.name, {
      numClasses: 3,
      inputShape: spec.inputShape,
      widths: spec.widths,
      rng: new Rng(11, 'init'),
    });
    const probe = untracked(() => randomTensor(new Rng(5, 'probe'), [6, ...spec.inputShape]));
    const activity = measureLayerActivity(model, probe);
    if (spec.layers) expect(activity.map((a) => a.layer)).toEqual(spec.layers);
    expect(activity).toHaveLength(reluKernelCalls(model, probe));
    const pre = preActivations(
      model,
      probe,
      activity.map((a) => a.layer),
    );
    const direct = activity.map((a) => ({ layer: a.layer, ...directActivity(pre.get(a.layer)!) }));
    expect(activity).toEqual(direct);
    // Not only trivial values: every layer has positive and non-positive values, and (where the
    // seed gives some) dead units next to live ones.
    expect(activity.every((a) => a.positiveFraction > 0 && a.positiveFraction < 1)).toBe(true);
    expect(activity.some((a) => a.deadFraction > 0 && a.deadFraction < 1)).toBe(spec.someDead);
    expect(model.training).toBe(true);
  });
});
