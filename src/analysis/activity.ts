/**
 * Layer activity, for specialisation and critical stages (docs/paper.md §3): on a fixed probe batch,
 * for every ReLU of the network, the fraction of its outputs that are positive and the fraction of
 * its units (channels of a conv output, neurons of a linear one) that are positive for no example
 * and no position ("dead").
 *
 * Models apply ReLU both as modules (VGG, ResNet) and fused with the layer before it through
 * `reluOnOutput` (MLP, CNN2, WRN), so the probe listens to both through hooks during one forward pass:
 * a forward hook on each ReLU module, named by its path, and an output-ReLU hook on every other
 * module, named by the path of the layer whose output was rectified (`fc1` in an MLP: the activity
 * of fc1's units). A ReLU used twice (ResNet blocks) gets `#2` on its second use. A bare `relu(x)` in
 * a forward, applied by neither, is not seen.
 */
import { ReLU } from '../nn/activation.js';
import type { Module } from '../nn/module.js';
import { noGrad, tensor, tidy, untracked, type Shape, type Tensor } from '../tensor/index.js';
import { checkEvery, type TrainingProbe } from './probe.js';

export interface LayerActivity {
  readonly layer: string;
  /** Fraction of the ReLU's outputs on the probe batch that are > 0. */
  readonly positiveFraction: number;
  /** Fraction of units never > 0 on the probe batch (NaN when the ReLU's output has no unit axis). */
  readonly deadFraction: number;
  readonly units: number;
}

/** Runs the model once on `probe` (eval mode, no gradients) and measures every ReLU. */
export function measureLayerActivity(model: Module, probe: Tensor): LayerActivity[] {
  const measured: LayerActivity[] = [];
  const uses = new Map<string, number>();
  // Measured as the ReLU runs: its buffer may be written again later in the pass (in-place ops).
  const measure = (path: string, activated: Tensor): void => {
    const use = (uses.get(path) ?? 0) + 1;
    uses.set(path, use);
    measured.push({ layer: use === 1 ? path : `${path}#${use}`, ...activityOf(activated.data, activated.shape) });
  };
  const removeHooks = model.namedModules().map(([path, module]) => {
    const layer = path || 'model';
    return module instanceof ReLU
      ? module.registerForwardHook((_m, _input, output) => measure(layer, output))
      : module.registerOutputReluHook((_m, activated) => measure(layer, activated));
  });
  const wasTraining = model.training;
  model.eval();
  try {
    tidy(() => noGrad(() => void model.call(probe)));
    return measured;
  } finally {
    for (const remove of removeHooks) remove();
    model.train(wasTraining);
  }
}

function activityOf(values: Float32Array, shape: Shape): Omit<LayerActivity, 'layer'> {
  let positive = 0;
  for (let i = 0; i < values.length; i++) if (values[i]! > 0) positive++;
  const positiveFraction = values.length === 0 ? 0 : positive / values.length;
  if (shape.length < 2) return { positiveFraction, deadFraction: NaN, units: 0 };
  const [n, units] = shape as [number, number];
  const spatial = values.length / (n * units);
  const alive = new Uint8Array(units);
  for (let b = 0; b < n; b++) {
    for (let u = 0; u < units; u++) {
      if (alive[u]) continue;
      const start = (b * units + u) * spatial;
      for (let s = start; s < start + spatial; s++) {
        if (values[s]! > 0) {
          alive[u] = 1;
          break;
        }
      }
    }
  }
  const dead = alive.reduce((count, a) => count + (a ? 0 : 1), 0);
  return { positiveFraction, deadFraction: dead / units, units };
}

export const ACTIVITY_PREFIX = 'activity/';

/** Metric records: `activity/<layer>/positive_fraction` and `activity/<layer>/dead_fraction`. */
export function activityMetrics(activities: readonly LayerActivity[]): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const a of activities) {
    metrics[`${ACTIVITY_PREFIX}${a.layer}/positive_fraction`] = a.positiveFraction;
    if (Number.isFinite(a.deadFraction)) metrics[`${ACTIVITY_PREFIX}${a.layer}/dead_fraction`] = a.deadFraction;
  }
  return metrics;
}

/** Splits an activity metric name into layer and quantity, or null for other metrics. */
export function parseActivityMetric(
  name: string,
): { layer: string; quantity: 'positive_fraction' | 'dead_fraction' } | null {
  if (!name.startsWith(ACTIVITY_PREFIX)) return null;
  const rest = name.slice(ACTIVITY_PREFIX.length);
  const slash = rest.lastIndexOf('/');
  const quantity = rest.slice(slash + 1);
  if (slash <= 0 || (quantity !== 'positive_fraction' && quantity !== 'dead_fraction')) return null;
  return { layer: rest.slice(0, slash), quantity };
}

export interface ActivityProbeOptions {
  /** The fixed probe batch, preprocessed, row-major with shape [B, ...example shape]. */
  readonly inputs: Float32Array;
  readonly shape: Shape;
  /** Record every this many training steps. */
  readonly every: number;
}

/** A training probe (see `TrainingProbe`) that records layer activity on a fixed batch. */
export function createActivityProbe(options: ActivityProbeOptions): TrainingProbe {
  checkEvery(options.every);
  const probe = untracked(() => tensor(options.inputs, options.shape, { name: 'activity probe batch' }));
  return { every: options.every, onStep: (_step, model) => activityMetrics(measureLayerActivity(model, probe)) };
}
