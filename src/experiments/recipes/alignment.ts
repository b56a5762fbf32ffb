/**
 * The §2 analysis of a finished run's first layer as a compute run: Σ_x of the run's own training
 * data (its preprocessing, its layer geometry), Σ_w of its first-layer weights, f, and — when there
 * are at least d+1 weight vectors — the misalignment against the data eigenbasis and a Haar-random
 * basis (seeded by the run's seed).
 */
import { analyseAlignment, transferFunction, weightStatistics } from '../../analysis/index.js';
import type { RunConfigInput } from '../../runs/config.js';
import { computeSpec } from '../compute.js';
import type { RunSpec } from '../recipe.js';
import { readWeight } from '../train.js';
import { firstLayerInputCovariance, runData } from './common.js';

export interface AlignmentRecord {
  readonly d: number;
  readonly vectors: number;
  /** σ_i = sqrt(λ_i), ascending, and f(σ_i). */
  readonly sigma: number[];
  readonly f: number[];
  /** Present when Σ_w is invertible (vectors ≥ d + 1). */
  readonly misalignmentData?: number;
  readonly misalignmentRandom?: number;
  readonly misalignmentDataPerDim?: number;
  readonly misalignmentRandomPerDim?: number;
  readonly meanNorm: number;
  readonly averageNorm: number;
}

/** `mean-z` = ‖mean row‖·√rows / mean row norm: ≈ 1 for i.i.d. zero-mean rows, large for a real mean. */
export function meanZ(record: AlignmentRecord): number {
  return (record.meanNorm * Math.sqrt(record.vectors)) / record.averageNorm;
}

export function alignmentSpec(options: {
  readonly train: RunSpec;
  readonly config: RunConfigInput;
  /** state_dict key of the first layer's weight, e.g. `fc1.weight`, `conv1.weight`. */
  readonly weightKey: string;
}): RunSpec {
  const { train, config, weightKey } = options;
  return computeSpec<AlignmentRecord>({
    condition: `${train.condition}/alignment`,
    seed: train.seed,
    dependsOn: [train.id],
    settings: { analysis: 'alignment', layer: weightKey, basisSeed: train.seed },
    async compute(context) {
      const weight = readWeight(context.store, train.id, weightKey);
      const data = await runData(config, context);
      const input = firstLayerInputCovariance(data, weight.shape);
      const stats = weightStatistics(
        [{ data: weight.data, shape: weight.shape, source: `${train.id}/${weightKey}` }],
        weightKey,
      );
      const base = {
        d: stats.dim,
        vectors: stats.count,
        meanNorm: stats.meanNorm,
        averageNorm: stats.averageVectorNorm,
      };
      if (stats.count >= stats.dim + 1) {
        const result = analyseAlignment(weightKey, stats, input.eigen, { basisSeed: train.seed });
        return {
          ...base,
          sigma: Array.from(result.sigma),
          f: Array.from(result.f),
          misalignmentData: result.misalignmentData,
          misalignmentRandom: result.misalignmentRandom,
          misalignmentDataPerDim: result.misalignmentDataPerDim,
          misalignmentRandomPerDim: result.misalignmentRandomPerDim,
        };
      }
      const { sigma, f } = transferFunction(stats.covariance, input.eigen);
      return { ...base, sigma: Array.from(sigma), f: Array.from(f) };
    },
  });
}
