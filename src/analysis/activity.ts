/**
 * Layer activity, for specialisation and critical stages (docs/paper.md §3): on a fixed probe batch,
 * for every ReLU of the network, the fraction of its outputs that are positive and the fraction of
 * its units (channels of a conv output, neurons of a linear one) that are positive for no example
 * and no position ("dead").
 *
 * Models apply ReLU both as modules (VGG, ResNet) and as the functional `relu` op (MLP, CNN2, WRN),
 * so module hooks alone would miss some. The probe therefore observes the `reluForward` kernel during
 * one forward pass, and names each ReLU through forward hooks on every module: after the ReLU module
 * whose output it is, else after the module whose output it rectifies (`fc1` in an MLP: the
 * activity of fc1's units). A ReLU used twice (ResNet blocks) gets `#2` on its second use.
 */
import { getKernels, setKernels, type Kernels } from '../kernels/index.js';
import { ReLU } from '../nn/activation.js';
import type { Module } from '../nn/module.js';
import { noGrad, tensor, tidy, untracked, type Shape, type Tensor } from '../tensor/index.js';
import { checkEvery, type TrainingProbe } from './probe.js';

export interface LayerActivity {
  readonly layer: string;
  /** Fraction of the ReLU's outputs on the probe batch that are > 0. */
  readonly positiveFraction: number;
  /** Fraction of units never > 0 on the probe batch (NaN when the ReLU's shape is unknown). */
  readonly deadFraction: number;
  readonly units: number;
}

interface ModuleOutput {
  readonly path: string;
  readonly isRelu: boolean;
  readonly data: Float32Array;
  readonly shape: Shape;
}

/** Runs the model once on `probe` (eval mode, no gradients) and measures every ReLU. */
export function measureLayerActivity(model: Module, probe: Tensor): LayerActivity[] {
  const outputs: ModuleOutput[] = [];
  const removeHooks = model.namedModules().map(([path, module]) =>
    module.registerForwardHook((_m, _input, output) => {
      if (output.dtype === 'float32')
        outputs.push({ path: path || 'model', isRelu: module instanceof ReLU, data: output.data, shape: output.shape });
    }),
  );
  const calls: Array<{ x: Float32Array; y: Float32Array }> = [];
  const base = getKernels();
  const observing: Kernels = {
    ...base,
    reluForward(x: Float32Array, y: Float32Array): void {
      base.reluForward(x, y);
      calls.push({ x, y });
    },
  };
  const wasTraining = model.training;
  model.eval();
  setKernels(observing);
  try {
    // Statistics are taken inside the scope, while the activations' buffers are still alive.
    return tidy(() => {
      noGrad(() => model.call(probe));
      const seen = new Map<string, number>();
      return calls.map(({ x, y }, index) => {
        const own = outputs.find((o) => o.isRelu && o.data === y);
        const rectified = own ?? outputs.find((o) => o.data === x);
        const baseName = rectified?.path ?? `relu${index + 1}`;
        const uses = (seen.get(baseName) ?? 0) + 1;
        seen.set(baseName, uses);
        const layer = uses === 1 ? baseName : `${baseName}#${uses}`;
        return { layer, ...activityOf(y, rectified?.shape) };
      });
    });
  } finally {
    setKernels(base);
    for (const remove of removeHooks) remove();
    model.train(wasTraining);
  }
}

function activityOf(values: Float32Array, shape: Shape | undefined): Omit<LayerActivity, 'layer'> {
  let positive = 0;
  for (let i = 0; i < values.length; i++) if (values[i]! > 0) positive++;
  const positiveFraction = values.length === 0 ? 0 : positive / values.length;
  if (!shape || shape.length < 2) return { positiveFraction, deadFraction: NaN, units: 0 };
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
