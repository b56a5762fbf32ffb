/**
 * Synthetic Gaussian inputs x ~ N(0, diag(variances)), as in the paper's Fig. 4 (left) and Fig. 20.
 * They carry no labels: runs on them use random labels (`makeLabels`).
 */
import { Rng } from '../tensor/rng.js';
import type { VectorDataset } from './types.js';
import { identityIndices, sharedFloat32 } from './types.js';

export interface GaussianOptions {
  readonly variances: readonly number[];
  readonly n: number;
  readonly seed: number;
  /** Each split draws from its own stream, so `train` and `test` are independent samples. */
  readonly split: string;
  readonly spec?: string;
}

export function makeGaussianDataset(options: GaussianOptions): VectorDataset {
  const { variances, n, seed, split } = options;
  const d = variances.length;
  if (d === 0) throw new Error('Gaussian dataset needs at least one variance');
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`Gaussian dataset needs n ≥ 1 samples, got ${n}`);
  const stds = variances.map((variance) => {
    if (!(variance > 0) || !Number.isFinite(variance))
      throw new Error(`Gaussian variances must be positive and finite, got ${variance}`);
    return Math.sqrt(variance);
  });
  const rng = new Rng(seed, `gaussian/${split}`);
  const values = sharedFloat32(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) values[i * d + j] = stds[j]! * rng.normal();
  }
  return {
    kind: 'vector',
    name: 'gaussian',
    spec: options.spec ?? `gaussian:diag(${variances.join(',')}),n=${n},seed=${seed}`,
    split,
    n,
    shape: [d],
    classes: 0,
    labels: null,
    sourceIndices: identityIndices(n),
    values,
    variances: Float64Array.from(variances),
  };
}
